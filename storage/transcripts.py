"""The web chat's transcript: every message of a session, so the page can show it and
poll for more (:class:`~storage.models.WebChatMessage`).

Messages are added in the caller's transaction (a turn's replies with the turn), except
:func:`append_message`, which is a notification's own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import Database
from storage.models import WebChatMessage
from storage.participants import find_participant

USER, BOT = "user", "bot"  # who said it


async def add_messages(
    session: AsyncSession, participant_id: int, sender: str, payloads: Iterable[dict[str, Any]]
) -> list[WebChatMessage]:
    """Add messages to a person's transcript, in order; their ids are set on return."""
    rows = [
        WebChatMessage(participant_id=participant_id, sender=sender, payload=payload)
        for payload in payloads
    ]
    session.add_all(rows)
    await session.flush()
    return rows


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
        (row,) = await add_messages(session, participant.id, BOT, [payload])
        return row.id


async def has_transcript(session: AsyncSession, participant_id: int) -> bool:
    """Whether the person has any message stored (erasure leaves none)."""
    found = await session.execute(
        select(col(WebChatMessage.id))
        .where(col(WebChatMessage.participant_id) == participant_id)
        .limit(1)
    )
    return found.first() is not None


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


async def messages_from(
    session: AsyncSession, participant_id: int | None, since: int, limit: int
) -> list[WebChatMessage]:
    """The person's messages with ids from ``since`` on (``since`` included), oldest
    first, at most ``limit``."""
    found = await session.execute(
        select(WebChatMessage)
        .where(
            col(WebChatMessage.participant_id) == participant_id,
            col(WebChatMessage.id) >= since,
        )
        .order_by(col(WebChatMessage.id))
        .limit(limit)
    )
    return list(found.scalars().all())
