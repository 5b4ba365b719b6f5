"""The append-only, hash-chained moderation audit log.

Each event's ``hash`` is ``sha256(prev_hash + canonical JSON of its fields)`` and its
``prev_hash`` is the hash of the event before it in the whole log (a genesis of 64 zeros
for the first). One chain for the whole log, so appends are serialised: PostgreSQL takes a
transaction-level advisory lock before reading the last hash; SQLite transactions are
already serialised by ``BEGIN IMMEDIATE`` and the writer lock.

A chain shows that no event was changed, inserted or removed in the middle; removing the
newest events leaves a valid shorter chain, which only an external anchor (e.g. the last
hash in an operator's digest) can show.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from moderation.states import MODERATOR_ROLES, Action, Role
from storage.models import ModerationEvent, StoryState, utcnow

GENESIS_HASH = "0" * 64

# Any fixed 64-bit key: it names "the moderation audit chain" among advisory locks.
CHAIN_LOCK_KEY = 0x546F676574686572  # "Together"

# Installed by the migration on PostgreSQL: the log cannot be updated or deleted from.
POSTGRES_APPEND_ONLY_DDL = (
    """
CREATE OR REPLACE FUNCTION moderation_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'moderation_event is append-only';
END;
$$ LANGUAGE plpgsql
""",
    """
CREATE TRIGGER moderation_event_append_only
    BEFORE UPDATE OR DELETE ON moderation_event
    FOR EACH ROW EXECUTE FUNCTION moderation_event_append_only()
""",
)


def _timestamp(moment: datetime) -> str:
    """UTC, microseconds, no offset: the same text whether SQLite or PostgreSQL stored it."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def event_hash(prev_hash: str, event: ModerationEvent) -> str:
    """The hash of ``event`` chained after ``prev_hash``."""
    fields: dict[str, Any] = {
        "item_id": event.item_id,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "actor": event.actor,
        "role": event.role,
        "action": event.action,
        "reason_code": event.reason_code,
        "note": event.note,
        "revision_hash": event.revision_hash,
        "flag_ids": list(event.flag_ids),
        "created_at": _timestamp(event.created_at),
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


async def _lock_chain(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Held until this transaction ends, so the next writer reads our hash.
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})


async def append_event(
    session: AsyncSession,
    *,
    item_id: int,
    from_state: StoryState | None,
    to_state: StoryState,
    actor: str,
    role: Role,
    action: Action,
    reason_code: str | None = None,
    note: str | None = None,
    revision_hash: str | None = None,
    flag_ids: Iterable[str] = (),
) -> ModerationEvent:
    """Append one event in the caller's transaction and return it (flushed, with its id).

    Call it after the guarded UPDATE of the item: the advisory lock is then the last lock
    a decision takes, so two decisions never wait on each other in a cycle.
    """
    await _lock_chain(session)
    prev_hash = (
        await session.execute(
            select(col(ModerationEvent.hash)).order_by(col(ModerationEvent.id).desc()).limit(1)
        )
    ).scalar_one_or_none() or GENESIS_HASH
    event = ModerationEvent(
        item_id=item_id,
        from_state=from_state.value if from_state is not None else None,
        to_state=to_state.value,
        actor=actor,
        role=role.value,
        action=action.value,
        reason_code=reason_code,
        note=note[:500] if note is not None else None,
        revision_hash=revision_hash,
        flag_ids=list(flag_ids),
        created_at=utcnow(),
        prev_hash=prev_hash,
        hash="",
    )
    event.hash = event_hash(prev_hash, event)
    session.add(event)
    await session.flush()
    return event


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The result of :func:`verify_chain`: true when intact."""

    ok: bool
    checked: int
    first_bad_id: int | None = None

    def __bool__(self) -> bool:
        return self.ok


async def verify_chain(session: AsyncSession) -> ChainCheck:
    """Recompute the whole chain in id order; report the first event that does not fit."""
    prev_hash = GENESIS_HASH
    checked = 0
    result = await session.stream_scalars(
        select(ModerationEvent)
        .order_by(col(ModerationEvent.id))
        .execution_options(populate_existing=True, yield_per=500)
    )
    async for event in result:
        checked += 1
        if event.prev_hash != prev_hash or event.hash != event_hash(prev_hash, event):
            return ChainCheck(ok=False, checked=checked, first_bad_id=event.id)
        prev_hash = event.hash
    return ChainCheck(ok=True, checked=checked)


async def last_decision(session: AsyncSession, item_id: int) -> ModerationEvent | None:
    """The newest event of an item that changed its state (who decided, and when)."""
    return (
        await session.execute(
            select(ModerationEvent)
            .where(
                col(ModerationEvent.item_id) == item_id,
                col(ModerationEvent.from_state).is_distinct_from(col(ModerationEvent.to_state)),
            )
            .order_by(col(ModerationEvent.id).desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def last_moderator_decision(session: AsyncSession, item_id: int) -> ModerationEvent | None:
    """The newest state change made by a person on the team (not by the system): what a
    moderator means by "already handled by X at 12:03" after an automatic publication."""
    return (
        await session.execute(
            select(ModerationEvent)
            .where(
                col(ModerationEvent.item_id) == item_id,
                col(ModerationEvent.role).in_([r.value for r in MODERATOR_ROLES]),
                col(ModerationEvent.from_state).is_distinct_from(col(ModerationEvent.to_state)),
            )
            .order_by(col(ModerationEvent.id).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
