"""What the moderators' SLA alerts and daily digest read of the queue: the items waiting
in a state since when, and the queue's counts by state and by language.

Only ids, states, languages and times: never a story's text or a person's name.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import DateTime, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery
from sqlmodel import col

from storage.models import ModerationEvent, ModerationItem
from storage.ops import WAITING
from storage.times import aware


@dataclass(frozen=True, slots=True)
class Waiting:
    """An item waiting in ``state`` since ``since`` (when it entered that state)."""

    item_id: int
    state: str
    since: datetime


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """The waiting items by state and by language, and when the longest waiting one
    entered its state (None: the queue is empty)."""

    by_state: dict[str, int] = field(default_factory=dict)
    by_locale: dict[str, int] = field(default_factory=dict)
    oldest_since: datetime | None = None


def _entered() -> tuple[Subquery, ColumnElement[datetime]]:
    """The moment each item last entered the state it is in: its latest audit event to
    that state (an item without one: its creation)."""
    item, event = ModerationItem, ModerationEvent
    latest = (
        select(col(event.item_id), func.max(col(event.created_at)).label("at"))
        .join(item, col(item.id) == col(event.item_id))
        .where(col(event.to_state) == col(item.state))
        .group_by(col(event.item_id))
        .subquery()
    )
    since = func.coalesce(latest.c.at, col(item.created_at), type_=DateTime(timezone=True))
    return latest, since


async def waiting_since(
    session: AsyncSession,
    *,
    states: Collection[str],
    entered_before: datetime,
    entered_after: datetime,
) -> list[Waiting]:
    """The items in one of ``states`` that entered it between the two moments, the
    longest waiting first."""
    item = ModerationItem
    latest, since = _entered()
    rows = await session.execute(
        select(col(item.id), col(item.state), since.label("since"))
        .outerjoin(latest, latest.c.item_id == col(item.id))
        .where(col(item.state).in_(list(states)))
        .where(since < entered_before, since > entered_after)
        .order_by(since, col(item.id))
    )
    return [Waiting(i, str(s), aware(at)) for i, s, at in rows.all() if i is not None]


async def queue_counts(session: AsyncSession) -> QueueCounts:
    """The waiting items' counts by state and language, and the oldest one's entry."""
    item = ModerationItem
    waiting = [state.value for state in WAITING]
    by_state = await session.execute(
        select(col(item.state), func.count())
        .where(col(item.state).in_(waiting))
        .group_by(col(item.state))
    )
    by_locale = await session.execute(
        select(col(item.locale), func.count())
        .where(col(item.state).in_(waiting))
        .group_by(col(item.locale))
    )
    latest, since = _entered()
    oldest = (
        await session.execute(
            select(func.min(since, type_=DateTime(timezone=True)))
            .select_from(item)
            .outerjoin(latest, latest.c.item_id == col(item.id))
            .where(col(item.state).in_(waiting))
        )
    ).scalar_one_or_none()
    return QueueCounts(
        by_state={str(s): int(n) for s, n in by_state.all()},
        by_locale={str(lang): int(n) for lang, n in by_locale.all()},
        oldest_since=aware(oldest) if oldest is not None else None,
    )
