"""Pledges and their counter: one per identity per campaign, counted exactly once.

The pledge row, the counter increment and the milestones it reaches commit in one
transaction. On PostgreSQL the counter is spread over shard rows so concurrent pledges
do not queue on one hot row; the total is their sum, read in the same statement as the
increment. Milestones fire once each through a conditional UPDATE.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import Database
from storage.models import Campaign, Milestone, Pledge, PledgeState, utcnow
from storage.turns import Fast

PG_COUNTER_SHARDS = 16


class PledgeOutcome(enum.StrEnum):
    NEW = "new"
    ALREADY = "already"
    RENEWED = "renewed"  # withdrawn before, confirmed again


@dataclass(frozen=True, slots=True)
class PledgeResult:
    outcome: PledgeOutcome
    pledged_at: datetime
    # The campaign's total once this pledge counted (None when it was not counted again).
    total: int | None = None
    # Milestones this pledge reached, each reported exactly once ever.
    milestones: tuple[int, ...] = ()


def _shards(db: Database) -> int:
    return PG_COUNTER_SHARDS if db.is_postgres else 1


_BUMP_SQLITE = Fast(
    "INSERT INTO pledge_counter (campaign_id, shard, count) VALUES (:campaign, :shard, :delta) "
    "ON CONFLICT (campaign_id, shard) DO UPDATE SET count = count + :delta RETURNING count"
)
# The other shards' sum beside the bumped one (a statement does not see its own CTE's
# change): one round trip.
_BUMP_PG = Fast(
    "WITH bumped AS (INSERT INTO pledge_counter (campaign_id, shard, count) "
    "VALUES (:campaign, :shard, :delta) ON CONFLICT (campaign_id, shard) "
    "DO UPDATE SET count = pledge_counter.count + :delta RETURNING count) "
    "SELECT (SELECT count FROM bumped) + COALESCE((SELECT sum(count) FROM pledge_counter "
    "WHERE campaign_id = :campaign AND shard <> :shard), 0)"
)
_REACH = Fast(
    "UPDATE milestone SET reached_at = :now WHERE campaign_id = :campaign "
    "AND reached_at IS NULL AND threshold <= :total RETURNING threshold"
)
_TAKE = Fast(
    "INSERT INTO pledge (campaign_id, identity_key, participant_id, state, referral, created_at) "
    "VALUES (:campaign, :identity, :participant, :state, :referral, :now) ON CONFLICT DO NOTHING"
)
_TOTAL = Fast("SELECT COALESCE(SUM(count), 0) FROM pledge_counter WHERE campaign_id = :campaign")


async def _bump(session: AsyncSession, db: Database, campaign_id: str, delta: int) -> int:
    """Add ``delta`` to the counter; the campaign's new total, in the same statement."""
    shard = random.randrange(_shards(db))  # noqa: S311 - load spreading, not security
    bump = _BUMP_PG if db.is_postgres else _BUMP_SQLITE  # one shard: its count is the total
    rows = await bump.rows(session, {"campaign": campaign_id, "shard": shard, "delta": delta})
    return int(rows[0][0])


async def _reach(session: AsyncSession, campaign_id: str, total: int) -> tuple[int, ...]:
    """Mark every threshold ``total`` crossed (caller's transaction); each once ever."""
    rows = await _REACH.rows(session, {"now": utcnow(), "campaign": campaign_id, "total": total})
    return tuple(sorted(int(row[0]) for row in rows))


async def take_pledge(
    session: AsyncSession,
    db: Database,
    *,
    campaign_id: str,
    identity_key: str,
    participant_id: int | None,
    referral: str | None = None,
) -> PledgeResult:
    """Pledge once; a second attempt is reported, never counted."""
    now = utcnow()
    inserted = await _TAKE.count(
        session,
        {
            "campaign": campaign_id,
            "identity": identity_key,
            "participant": participant_id,
            "state": PledgeState.CONFIRMED.value,
            "referral": referral,
            "now": now,
        },
    )
    if inserted:
        total = await _bump(session, db, campaign_id, 1)
        reached = await _reach(session, campaign_id, total)
        return PledgeResult(PledgeOutcome.NEW, now, total, reached)
    renewed = await session.execute(
        update(Pledge)
        .where(
            col(Pledge.campaign_id) == campaign_id,
            col(Pledge.identity_key) == identity_key,
            col(Pledge.state) == PledgeState.WITHDRAWN.value,
        )
        .values(
            state=PledgeState.CONFIRMED.value,
            created_at=now,
            withdrawn_at=None,
            participant_id=participant_id,
        )
    )
    if renewed.rowcount:  # type: ignore[attr-defined]
        total = await _bump(session, db, campaign_id, 1)
        reached = await _reach(session, campaign_id, total)
        return PledgeResult(PledgeOutcome.RENEWED, now, total, reached)
    existing = await find_pledge(session, campaign_id, identity_key)
    assert existing is not None
    return PledgeResult(PledgeOutcome.ALREADY, existing.created_at)


async def find_pledge(session: AsyncSession, campaign_id: str, identity_key: str) -> Pledge | None:
    return (
        await session.execute(
            select(Pledge).where(
                col(Pledge.campaign_id) == campaign_id, col(Pledge.identity_key) == identity_key
            )
        )
    ).scalar_one_or_none()


async def withdraw_pledge(
    session: AsyncSession, db: Database, *, campaign_id: str, identity_key: str
) -> bool:
    """Withdraw a confirmed pledge; False when there was none to withdraw."""
    result = await session.execute(
        update(Pledge)
        .where(
            col(Pledge.campaign_id) == campaign_id,
            col(Pledge.identity_key) == identity_key,
            col(Pledge.state) == PledgeState.CONFIRMED.value,
        )
        .values(state=PledgeState.WITHDRAWN.value, withdrawn_at=utcnow())
    )
    if result.rowcount:  # type: ignore[attr-defined]
        await _bump(session, db, campaign_id, -1)
        return True
    return False


async def pledge_total(session: AsyncSession, campaign_id: str) -> int:
    rows = await _TOTAL.rows(session, {"campaign": campaign_id})
    return int(rows[0][0])


async def reach_milestones(db: Database, campaign_id: str) -> list[int]:
    """Mark every threshold the total has crossed; each is returned exactly once ever.

    A pledge marks what it reaches itself; this catches up after a reconciliation or a
    milestone added below the total (the scheduler's sweep).
    """
    async with db.transaction() as session:
        total = await pledge_total(session, campaign_id)
        return list(await _reach(session, campaign_id, total))


async def reconcile(db: Database, campaign_id: str) -> int:
    """Recount confirmed pledges and repair the counter; returns the drift repaired."""
    async with db.transaction() as session:
        if db.is_postgres:
            await session.execute(
                select(func.pg_advisory_xact_lock(func.hashtext(f"pledge:{campaign_id}")))
            )
        actual = (
            await session.execute(
                select(func.count())
                .select_from(Pledge)
                .where(
                    col(Pledge.campaign_id) == campaign_id,
                    col(Pledge.state) == PledgeState.CONFIRMED.value,
                )
            )
        ).scalar_one()
        counted = await pledge_total(session, campaign_id)
        drift = int(actual) - counted
        if drift:
            await _bump(session, db, campaign_id, drift)
        return drift


async def ensure_campaign(
    db: Database,
    campaign_id: str,
    *,
    title: dict[str, str] | None = None,
    pledge_text: dict[str, str] | None = None,
    milestones: tuple[int, ...] = (),
) -> None:
    """Create a campaign and its milestones if missing (idempotent)."""
    async with db.transaction() as session:
        await session.execute(
            db.insert(Campaign)
            .values(
                id=campaign_id,
                title=title or {},
                pledge_text=pledge_text,
                active=True,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )
        for threshold in milestones:
            await session.execute(
                db.insert(Milestone)
                .values(campaign_id=campaign_id, threshold=threshold)
                .on_conflict_do_nothing()
            )
