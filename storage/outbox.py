"""The durable outbox: every message the bot sends, delivered with retries.

Notices, cards and posts are queued here by whoever decides them. Direct replies are
queued too, in the turn's transaction, already *leased* to the process that handles the
turn: it sends them at once after the commit and marks them sent (the fast path). Rows a
crash left behind are taken by the dispatcher when their lease runs out (or at once after
a restart on SQLite, where one process owns the database).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import Database, dialect_insert
from storage.models import OutboxMessage, OutboxStatus, utcnow
from storage.turns import Fast

MAX_ATTEMPTS = 12
# How long a process may hold a message it is sending before another takes it over
# (a crash): OUTBOX_LEASE_SECONDS.
LEASE = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class DueMessage:
    id: int
    platform: str
    chat_id: str
    participant_id: int | None
    payload: dict[str, Any]
    attempts: int


async def enqueue(
    session: AsyncSession,
    *,
    dedupe_key: str,
    platform: str,
    chat_id: str,
    payload: dict[str, Any],
    participant_id: int | None = None,
    not_before: datetime | None = None,
    leased_for: timedelta | None = None,
) -> int | None:
    """Add a message in the caller's transaction; its id, or None if the key exists.

    ``leased_for`` keeps the dispatcher away from the row for that long: the caller
    sends it itself right after its transaction commits.
    """
    now = utcnow()
    stmt = (
        dialect_insert(session, OutboxMessage)
        .values(
            dedupe_key=dedupe_key,
            platform=platform,
            chat_id=chat_id,
            participant_id=participant_id,
            payload=payload,
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=not_before or now,
            locked_until=now + leased_for if leased_for is not None else None,
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(col(OutboxMessage.id))
    )
    result = await session.execute(stmt)
    return result.scalar_one_or_none()


async def claim_due(
    db: Database, *, limit: int = 50, now: datetime | None = None, lease: timedelta = LEASE
) -> list[DueMessage]:
    """Take due messages for delivery, leasing them so no other worker sends them too.

    PostgreSQL uses ``FOR UPDATE SKIP LOCKED`` so replicas share the work; SQLite
    transactions are already serialised.
    """
    moment = now or utcnow()
    async with db.transaction() as session:
        query = (
            select(OutboxMessage)
            .where(
                col(OutboxMessage.status) == OutboxStatus.PENDING.value,
                col(OutboxMessage.next_attempt_at) <= moment,
                or_(
                    col(OutboxMessage.locked_until).is_(None),
                    col(OutboxMessage.locked_until) < moment,
                ),
            )
            .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
            .limit(limit)
        )
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        rows = list((await session.execute(query)).scalars())
        for row in rows:
            row.locked_until = moment + lease
        return [
            DueMessage(
                id=row.id or 0,
                platform=row.platform,
                chat_id=row.chat_id,
                participant_id=row.participant_id,
                payload=dict(row.payload),
                attempts=row.attempts,
            )
            for row in rows
        ]


_SENT = Fast(
    "UPDATE outbox SET status = :status, sent_at = :now, locked_until = NULL, "
    "attempts = attempts + 1 WHERE id = :id"
)
_SENT_FORGOTTEN = Fast(
    "UPDATE outbox SET status = :status, sent_at = :now, locked_until = NULL, "
    "attempts = attempts + 1, payload = :empty WHERE id = :id"
)


async def mark_sent(db: Database, message_id: int, *, forget_payload: bool = False) -> None:
    """Record a delivery. ``forget_payload`` drops the text once it is delivered (a
    direct reply may quote the person's own words; nothing needs them any more).

    After every reply sent, so one statement built once (the hot path's)."""
    params: dict[str, Any] = {
        "status": OutboxStatus.SENT.value,
        "now": utcnow(),
        "id": message_id,
    }
    if forget_payload:
        params["empty"] = "{}"  # the JSON column's empty object, as SQLAlchemy writes it
    async with db.turn() as tx:  # the turn's light transaction: no ORM session
        await (_SENT_FORGOTTEN if forget_payload else _SENT).count_in(tx, params)


async def release(db: Database, message_ids: list[int], *, delay: float = 0.0) -> None:
    """Hand leased rows to the dispatcher, due after ``delay`` seconds (no attempt is
    counted: nothing was tried, e.g. the chat's sending pace or an earlier failure)."""
    if not message_ids:
        return
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(message_ids),
                col(OutboxMessage.status) == OutboxStatus.PENDING.value,
            )
            .values(next_attempt_at=utcnow() + timedelta(seconds=delay), locked_until=None)
        )


async def recover_leases(db: Database) -> int:
    """After a restart on SQLite (one process owns the file), rows the dead process had
    leased are due at once: nobody else can be sending them. Returns how many."""
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.status) == OutboxStatus.PENDING.value,
                col(OutboxMessage.locked_until).is_not(None),
            )
            .values(locked_until=None)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def mark_cancelled(db: Database, message_id: int, reason: str) -> None:
    """Not to be sent after all (e.g. the person turned such messages off since it was
    queued): no failure, and purged with the sent rows."""
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .values(status=OutboxStatus.CANCELLED.value, last_error=reason[:200], locked_until=None)
        )


async def mark_dead(db: Database, message_id: int, error: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .values(
                status=OutboxStatus.DEAD.value,
                last_error=error[:200],
                locked_until=None,
                attempts=col(OutboxMessage.attempts) + 1,
            )
        )


def backoff(attempts: int, *, base: float = 2.0, cap: float = 3600.0) -> float:
    """Seconds before the next try: exponential with full jitter, capped."""
    ceiling = min(cap, base * (2 ** min(attempts, 20)))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


async def mark_retry(
    db: Database, message_id: int, *, delay: float, error: str, attempts: int
) -> bool:
    """Schedule another try after ``delay`` seconds; False if it became dead instead."""
    if attempts + 1 >= MAX_ATTEMPTS:
        await mark_dead(db, message_id, f"gave up: {error}")
        return False
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .values(
                attempts=col(OutboxMessage.attempts) + 1,
                next_attempt_at=utcnow() + timedelta(seconds=delay),
                locked_until=None,
                last_error=error[:200],
            )
        )
    return True


async def next_due_at(db: Database) -> datetime | None:
    async with db.transaction() as session:
        result = await session.execute(
            select(col(OutboxMessage.next_attempt_at))
            .where(col(OutboxMessage.status) == OutboxStatus.PENDING.value)
            .order_by(col(OutboxMessage.next_attempt_at))
            .limit(1)
        )
        return result.scalar_one_or_none()
