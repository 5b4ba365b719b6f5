"""What the operators' endpoints read: whether the database answers, whether its schema
is current, and the numbers ``/metrics`` shows that live in the database.

Every read goes through :meth:`Database.read` (on SQLite a reader connection: never
behind the writer), and each is one indexed statement, cheap enough for a scrape every
few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlmodel import col

from storage.db import Database
from storage.migrate import alembic_config
from storage.models import (
    ModerationItem,
    OutboxMessage,
    OutboxStatus,
    PledgeCounter,
    StoryState,
    utcnow,
)
from storage.times import aware

S = StoryState
# The states an item waits in for a person (a moderator, its storyteller, publishing):
# the queue. Decided items (published, rejected...) only grow, and are not counted here.
WAITING = (S.RECEIVED, S.PENDING_REVIEW, S.SAFETY_REVIEW, S.NEEDS_CHANGES, S.APPROVED)


@dataclass(frozen=True, slots=True)
class OpsSnapshot:
    """The database's numbers at one moment (ages in seconds)."""

    queue: dict[str, int] = field(default_factory=dict)  # waiting items by state
    oldest_waiting: dict[str, float] = field(default_factory=dict)  # by state
    pledges: dict[str, int] = field(default_factory=dict)  # confirmed, by campaign
    outbox_pending: dict[str, int] = field(default_factory=dict)  # by platform
    outbox_dead: dict[str, int] = field(default_factory=dict)  # given up, by platform
    outbox_lag: float = 0.0  # the oldest due, unsent row's wait; 0 when none is due


async def ping(db: Database) -> None:
    """A trivial query; raises when the database does not answer."""
    async with db.read() as session:
        await session.execute(text("SELECT 1"))


async def schema_revision(db: Database) -> str | None:
    """The migration revision the database is at (None: never migrated)."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with db.read() as session:
        connection = await session.connection()
        return await connection.run_sync(read)


@cache
def head_revisions() -> frozenset[str]:
    """The newest revision(s) the migrations of this code bring a database to."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def read_snapshot(db: Database) -> OpsSnapshot:
    """The numbers of :class:`OpsSnapshot`, in one read transaction."""
    now = utcnow()
    waiting = [state.value for state in WAITING]
    item = ModerationItem
    outbox = OutboxMessage
    pending = col(outbox.status) == OutboxStatus.PENDING.value
    async with db.read() as session:
        queue_rows = await session.execute(
            select(col(item.state), func.count(), func.min(col(item.created_at)))
            .where(col(item.state).in_(waiting))
            .group_by(col(item.state))
        )
        pledge_rows = await session.execute(
            select(col(PledgeCounter.campaign_id), func.sum(col(PledgeCounter.count))).group_by(
                col(PledgeCounter.campaign_id)
            )
        )
        pending_rows = await session.execute(
            select(col(outbox.platform), func.count()).where(pending).group_by(col(outbox.platform))
        )
        dead_rows = await session.execute(
            select(col(outbox.platform), func.count())
            .where(col(outbox.status) == OutboxStatus.DEAD.value)
            .group_by(col(outbox.platform))
        )
        oldest_due = (
            await session.execute(
                select(func.min(col(outbox.next_attempt_at))).where(
                    pending, col(outbox.next_attempt_at) <= now
                )
            )
        ).scalar_one_or_none()
    queue: dict[str, int] = {}
    oldest: dict[str, float] = {}
    for state, count, first in queue_rows.all():
        queue[str(state)] = int(count)
        if first is not None:
            oldest[str(state)] = max(0.0, (now - aware(first)).total_seconds())
    return OpsSnapshot(
        queue=queue,
        oldest_waiting=oldest,
        pledges={str(campaign): int(total or 0) for campaign, total in pledge_rows.all()},
        outbox_pending={str(platform): int(n) for platform, n in pending_rows.all()},
        outbox_dead={str(platform): int(n) for platform, n in dead_rows.all()},
        outbox_lag=max(0.0, (now - aware(oldest_due)).total_seconds()) if oldest_due else 0.0,
    )
