"""A messaging window (WhatsApp's 24 hours): the person's last message, the notices parked
until they write again, and the delivery statuses of what was sent.

A notice that cannot be sent as it is (the person is outside the window) stays a
*pending* outbox row, due far ahead and marked :data:`PARKED` in ``last_error``: every
cancellation of pending rows (an erasure, a withdrawn story) still finds it, and the
person's next message makes it due at once (:func:`record_inbound`). The participant's
row is locked by both sides (the message's update, the parking's ``FOR UPDATE``), so a
message arriving while a notice is being parked is never missed: either the parking sees
the new message and makes the row due now, or the message's update sees the parked row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus, Participant, utcnow
from storage.repos import record_event
from storage.times import aware

# ``last_error`` of a row waiting for the person's next message.
PARKED = "parked: outside the window"
# The statuses a platform reports, in the order they can follow each other.
RECEIPTS = ("sent", "delivered", "read")


@dataclass(frozen=True, slots=True)
class Contact:
    """What the window needs to know of a person."""

    last_inbound_at: datetime | None
    template_at: datetime | None
    reachable: bool


@dataclass(frozen=True, slots=True)
class SentRow:
    """The outbox row a delivery status is about."""

    id: int
    status: str
    participant_id: int | None
    payload: dict[str, Any]


async def record_inbound(
    db: Database, platform: str, external_id: str, at: datetime, *, answers: str | None = None
) -> int:
    """The person wrote at ``at``: remember it (never moving back) and make their parked
    notices due now. Returns how many notices were unparked (0 for someone unknown).

    ``answers``: the event key of a message those notices answer (a tap on a template's
    button), recorded as handled in the same transaction when any were unparked, so a
    redelivery of it is a duplicate for the core, not a second answer.
    """
    async with db.transaction() as session:
        person = (
            await session.execute(
                select(col(Participant.id), col(Participant.last_inbound_at))
                .where(
                    col(Participant.platform) == platform,
                    col(Participant.external_id) == external_id,
                )
                .with_for_update()
            )
        ).one_or_none()
        if person is None:
            return 0
        participant_id, last = person
        if last is None or aware(last) < at:
            await session.execute(
                update(Participant)
                .where(col(Participant.id) == participant_id)
                .values(last_inbound_at=at)
            )
        result = await session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.participant_id) == participant_id,
                col(OutboxMessage.status) == OutboxStatus.PENDING.value,
                col(OutboxMessage.last_error) == PARKED,
            )
            .values(next_attempt_at=utcnow(), locked_until=None, last_error=None)
            .execution_options(synchronize_session=False)
        )
        unparked = int(result.rowcount)  # type: ignore[attr-defined]
        if unparked and answers is not None:
            await record_event(session, db, platform, answers)
    return unparked


async def contact(db: Database, participant_id: int) -> Contact | None:
    async with db.read() as session:
        row = (
            await session.execute(
                select(
                    col(Participant.last_inbound_at),
                    col(Participant.template_at),
                    col(Participant.reachable),
                ).where(col(Participant.id) == participant_id)
            )
        ).one_or_none()
    if row is None:
        return None
    last, template, reachable = row
    return Contact(
        aware(last) if last is not None else None,
        aware(template) if template is not None else None,
        bool(reachable),
    )


async def template_sent(db: Database, participant_id: int, at: datetime) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Participant).where(col(Participant.id) == participant_id).values(template_at=at)
        )


async def park(
    db: Database,
    outbox_id: int,
    participant_id: int,
    *,
    seen: datetime | None,
    wait: timedelta,
    payload: dict[str, Any],
) -> bool:
    """Keep a notice until the person writes (or ``wait`` passes), with ``payload``.

    ``seen`` is the person's last message as the sender saw it: when they wrote since,
    the row is due at once instead. Returns whether it was parked.
    """
    now = utcnow()
    async with db.transaction() as session:
        last = (
            await session.execute(
                select(col(Participant.last_inbound_at))
                .where(col(Participant.id) == participant_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        wrote_since = last is not None and (seen is None or aware(last) > seen)
        await session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == outbox_id,
                col(OutboxMessage.status) == OutboxStatus.PENDING.value,
            )
            .values(
                payload=payload,
                next_attempt_at=now if wrote_since else now + wait,
                locked_until=None,
                last_error=None if wrote_since else PARKED,
            )
        )
    return not wrote_since


async def record_message(db: Database, outbox_id: int, message_key: str) -> None:
    """What the row sent (a hash of the platform's message id), for its statuses."""
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == outbox_id)
            .values(message_key=message_key, receipt="sent")
        )


async def sent_row(db: Database, message_key: str) -> SentRow | None:
    async with db.read() as session:
        row = (
            await session.execute(
                select(OutboxMessage).where(col(OutboxMessage.message_key) == message_key).limit(1)
            )
        ).scalar_one_or_none()
    if row is None or row.id is None:
        return None
    return SentRow(row.id, row.status, row.participant_id, dict(row.payload))


async def record_receipt(db: Database, message_key: str, receipt: str) -> bool:
    """A ``sent``/``delivered``/``read`` status: the row's receipt moves forward only (a
    late ``delivered`` after ``read`` changes nothing). Returns whether a row changed."""
    later = RECEIPTS[RECEIPTS.index(receipt) :]
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.message_key) == message_key,
                col(OutboxMessage.receipt).is_(None)
                | col(OutboxMessage.receipt).not_in([*later, "failed"]),
            )
            .values(receipt=receipt)
            .execution_options(synchronize_session=False)
        )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def reopen(db: Database, outbox_id: int, payload: dict[str, Any], error: str) -> bool:
    """A message reported failed after it was sent: its row is due again with
    ``payload`` (which says why). Returns whether it was reopened."""
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == outbox_id,
                col(OutboxMessage.status).in_(
                    [OutboxStatus.SENT.value, OutboxStatus.PENDING.value]
                ),
            )
            .values(
                status=OutboxStatus.PENDING.value,
                payload=payload,
                next_attempt_at=utcnow(),
                locked_until=None,
                sent_at=None,
                receipt="failed",
                last_error=error[:200],
            )
        )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def failed(db: Database, outbox_id: int, error: str, *, unreachable: bool) -> None:
    """A message reported failed for good: its row is dead (and, when the person cannot
    be reached, they are marked so)."""
    async with db.transaction() as session:
        row = await session.get(OutboxMessage, outbox_id)
        if row is None:
            return
        row.status = OutboxStatus.DEAD.value
        row.receipt = "failed"
        row.locked_until = None
        row.last_error = error[:200]
        if unreachable and row.participant_id is not None:
            await session.execute(
                update(Participant)
                .where(col(Participant.id) == row.participant_id)
                .values(reachable=False)
            )
