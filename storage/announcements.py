"""A pledge milestone's announcement to the supporters who asked for updates.

A milestone of campaign X goes to every participant who took X's pledge (confirmed)
and said yes to updates (``participant.updates``), and is reachable. Its outbox rows are
queued in batches in participant id order: each batch, and the last participant id it
queued (``milestone.announce_cursor``), commit in one transaction, so a broadcast cut
short by a crash resumes after the last committed batch, with no gap and nothing twice.
The rows' dedupe keys (``milestone:<campaign>:<threshold>:<participant id>``) make a
second queueing of a person impossible whatever happens to the cursor.

The rows are due one after another at the broadcast's rate (``per_second``): row k of
all broadcasts is due ``k / per_second`` after the first. A batch starts one step after
the last row queued (found through the cursors), or now when that is past, so a resumed
broadcast continues its schedule, and several replicas' dispatchers together keep the
rate: they send what is due, and the rows fall due no faster than the rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage import outbox
from storage.models import Milestone, OutboxMessage, Participant, Pledge, PledgeState

KIND = "milestone"  # the payload's key: {"milestone": {"campaign": ..., "threshold": ...}}
# Participants queued per transaction.
BATCH = 1000


@dataclass(frozen=True, slots=True)
class Broadcast:
    """A milestone reached and not yet fully queued."""

    campaign_id: str
    threshold: int


def dedupe_key(campaign_id: str, threshold: int, participant_id: int) -> str:
    """One message per person and milestone, ever."""
    return f"{KIND}:{campaign_id}:{threshold}:{participant_id}"


def payload(campaign_id: str, threshold: int) -> dict[str, Any]:
    """What a row keeps: no text (rendered at send time, in the reader's language)."""
    return {KIND: {"campaign": campaign_id, "threshold": threshold}}


async def pending(session: AsyncSession) -> list[Broadcast]:
    """Milestones reached whose announcement is not all queued, the oldest first."""
    rows = await session.execute(
        select(col(Milestone.campaign_id), col(Milestone.threshold))
        .where(col(Milestone.reached_at).is_not(None), col(Milestone.announced_at).is_(None))
        .order_by(col(Milestone.reached_at), col(Milestone.campaign_id), col(Milestone.threshold))
    )
    return [Broadcast(str(campaign), int(threshold)) for campaign, threshold in rows.all()]


async def queue_batch(
    session: AsyncSession,
    broadcast: Broadcast,
    *,
    per_second: float,
    now: datetime,
    limit: int | None = None,
) -> int | None:
    """Queue the next batch of ``broadcast`` in the caller's transaction.

    The milestone's row is locked first (PostgreSQL; SQLite runs one writer at a time),
    so two runners never queue the same batch side by side. A milestone not started yet
    whose campaign has reached a higher one since is marked announced without a message:
    people hear of the highest, not of two at once.

    Returns:
        How many rows this batch added (0 for an empty last batch), or None when there
        is nothing more to do (all queued, by this batch or before).
    """
    limit = limit or BATCH
    milestone = (
        await session.execute(
            select(Milestone)
            .where(
                col(Milestone.campaign_id) == broadcast.campaign_id,
                col(Milestone.threshold) == broadcast.threshold,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if milestone is None or milestone.reached_at is None or milestone.announced_at is not None:
        return None
    cursor = milestone.announce_cursor
    if cursor is None and await _superseded(session, broadcast):
        milestone.announced_at = now
        return None
    people = (
        await session.execute(
            select(col(Participant.id), col(Participant.platform), col(Participant.chat_id))
            .join(Pledge, col(Pledge.participant_id) == col(Participant.id))
            .where(
                col(Pledge.campaign_id) == broadcast.campaign_id,
                col(Pledge.state) == PledgeState.CONFIRMED.value,
                col(Participant.updates).is_(True),
                col(Participant.reachable).is_(True),
                col(Participant.id) > (cursor or 0),
            )
            .order_by(col(Participant.id))
            .limit(limit)
        )
    ).all()
    step = timedelta(seconds=1.0 / per_second)
    tail = await schedule_tail(session)
    start = now if tail is None else max(now, tail + step)
    last: int | None = None
    added = 0
    for k, (participant_id, platform, chat_id) in enumerate(people):
        assert participant_id is not None  # a primary key
        last = participant_id
        row = await outbox.enqueue(
            session,
            dedupe_key=dedupe_key(broadcast.campaign_id, broadcast.threshold, participant_id),
            platform=platform,
            chat_id=chat_id,
            participant_id=participant_id,
            payload=payload(broadcast.campaign_id, broadcast.threshold),
            not_before=start + k * step,
        )
        added += row is not None  # None: queued before (the cursor was lost)
    if last is not None:
        milestone.announce_cursor = last
    if len(people) < limit:
        milestone.announced_at = now
    return added


async def schedule_tail(session: AsyncSession) -> datetime | None:
    """When the last row queued by any broadcast is due: the row of each milestone's
    cursor (a handful of milestones: one indexed look-up by dedupe key)."""
    cursors = (
        await session.execute(
            select(
                col(Milestone.campaign_id),
                col(Milestone.threshold),
                col(Milestone.announce_cursor),
            ).where(col(Milestone.announce_cursor).is_not(None))
        )
    ).all()
    if not cursors:
        return None
    keys = [dedupe_key(str(c), int(t), p) for c, t, p in cursors if p is not None]
    last = (
        await session.execute(
            select(func.max(col(OutboxMessage.next_attempt_at))).where(
                col(OutboxMessage.dedupe_key).in_(keys)
            )
        )
    ).scalar_one_or_none()
    if last is None:
        return None
    return last if last.tzinfo is not None else last.replace(tzinfo=UTC)


async def _superseded(session: AsyncSession, broadcast: Broadcast) -> bool:
    higher = await session.execute(
        select(func.count())
        .select_from(Milestone)
        .where(
            col(Milestone.campaign_id) == broadcast.campaign_id,
            col(Milestone.threshold) > broadcast.threshold,
            col(Milestone.reached_at).is_not(None),
        )
    )
    return bool(higher.scalar_one())
