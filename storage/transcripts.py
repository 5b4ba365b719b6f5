"""The web chat's transcript: every message of a session, so the page can show it and
poll for more (:class:`~storage.models.WebChatMessage`).

Messages are added in the caller's transaction (a turn's replies with the turn), except
:func:`append_message`, which is a notification's own transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import Database
from storage.models import WebChatMessage, utcnow
from storage.participants import find_participant
from storage.signals import signal
from storage.turns import Fast

USER, BOT = "user", "bot"  # who said it
CHANNEL = "webchat"  # replicas tell each other whose transcript grew


_ADD = Fast(
    "INSERT INTO webchat_message (participant_id, sender, payload, created_at) "
    "VALUES (:participant, :sender, :payload, :now) RETURNING id"
)
_ANY = Fast("SELECT id FROM webchat_message WHERE participant_id = :participant LIMIT 1")


async def add_messages(
    session: AsyncSession, participant_id: int, sender: str, payloads: Iterable[dict[str, Any]]
) -> list[int]:
    """Add messages to a person's transcript, in order; their ids.

    On every web chat turn (the person's message and the replies): one statement built
    once per message."""
    now = utcnow()
    ids = []
    for payload in payloads:
        params = {
            "participant": participant_id,
            "sender": sender,
            "payload": json.dumps(payload),
            "now": now,
        }
        ids.append(int((await _ADD.rows(session, params))[0][0]))
    return ids


async def append_message(
    db: Database, platform: str, external_id: str, payload: dict[str, Any]
) -> int | None:
    """Add one bot message to the transcript of a platform identity, in a transaction of
    its own.

    Returns:
        The message's id, or None when nobody with that identity is known.
    """
    async with db.transaction() as session:
        participant = await find_participant(session, platform, external_id)
        if participant is None or participant.id is None:
            return None
        (row_id,) = await add_messages(session, participant.id, BOT, [payload])
        await announce(session, db, external_id)
        return row_id


async def announce(session: AsyncSession, db: Database, external_id: str) -> None:
    """Wake the long polls waiting for ``external_id``'s transcript on every replica,
    once the session's transaction (which added to it) commits."""
    await signal(session, db, CHANNEL, external_id)


async def has_transcript(session: AsyncSession, participant_id: int) -> bool:
    """Whether the person has any message stored (erasure leaves none)."""
    return bool(await _ANY.rows(session, {"participant": participant_id}))


async def latest_bot_messages(
    session: AsyncSession, participant_id: int, limit: int
) -> list[WebChatMessage]:
    """The bot's last ``limit`` messages to the person, newest first."""
    found = await session.execute(
        select(WebChatMessage)
        .where(
            col(WebChatMessage.participant_id) == participant_id,
            col(WebChatMessage.sender) == BOT,
        )
        .order_by(col(WebChatMessage.id).desc())
        .limit(limit)
    )
    return list(found.scalars().all())


class TranscriptRow(NamedTuple):
    """One message of a transcript as the page shows it (no ORM object: read on every
    turn and poll)."""

    id: int
    sender: str
    payload: Any
    created_at: datetime


async def messages_from(
    session: AsyncSession, participant_id: int | None, since: int, limit: int
) -> list[TranscriptRow]:
    """The person's messages with ids from ``since`` on (``since`` included), oldest
    first, at most ``limit``."""
    found = await session.execute(
        select(
            col(WebChatMessage.id),
            col(WebChatMessage.sender),
            col(WebChatMessage.payload),
            col(WebChatMessage.created_at),
        )
        .where(
            col(WebChatMessage.participant_id) == participant_id,
            col(WebChatMessage.id) >= since,
        )
        .order_by(col(WebChatMessage.id))
        .limit(limit)
    )
    return [TranscriptRow(*row) for row in found.all()]
