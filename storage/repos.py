"""Small repositories for participants, conversations and processed events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import Database
from storage.models import Conversation, Participant, ProcessedEvent, utcnow
from storage.turns import ConversationConflict as ConversationConflict


async def record_event(session: AsyncSession, db: Database, platform: str, key: str) -> bool:
    """Record an inbound event by its platform key. False means it was seen before.

    Runs in the caller's transaction, so an event whose handling fails is not recorded
    and its redelivery is handled again.
    """
    stmt = (
        db.insert(ProcessedEvent)
        .values(platform=platform, key=key[:128], created_at=utcnow())
        .on_conflict_do_nothing()
    )
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def load_participant(
    session: AsyncSession,
    db: Database,
    *,
    platform: str,
    external_id: str,
    chat_id: str,
    identity_key: str,
    display_name: str | None = None,
    locale_hint: str | None = None,
) -> Participant:
    """The participant for a platform identity, created on first contact."""
    stmt = (
        db.insert(Participant)
        .values(
            platform=platform,
            external_id=external_id,
            chat_id=chat_id,
            identity_key=identity_key,
            display_name=display_name,
            locale_hint=locale_hint,
            reachable=True,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    await session.execute(stmt)
    participant = (
        await session.execute(
            select(Participant).where(
                col(Participant.platform) == platform, col(Participant.external_id) == external_id
            )
        )
    ).scalar_one()
    if locale_hint and participant.locale_hint != locale_hint:
        participant.locale_hint = locale_hint
    if participant.chat_id != chat_id:
        participant.chat_id = chat_id
    return participant


async def load_conversation(
    session: AsyncSession, db: Database, participant_id: int
) -> Conversation:
    stmt = (
        db.insert(Conversation)
        .values(
            participant_id=participant_id,
            draft={},
            history=[],
            version=0,
            last_activity_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    await session.execute(stmt)
    conversation = (
        await session.execute(
            select(Conversation).where(col(Conversation.participant_id) == participant_id)
        )
    ).scalar_one()
    return conversation


async def save_conversation(
    session: AsyncSession,
    conversation: Conversation,
    *,
    flow: str | None,
    step: str | None,
    draft: dict[str, Any],
    history: list[str],
    now: datetime | None = None,
) -> None:
    """Write the new state if nobody else did since it was loaded (optimistic check)."""
    assert conversation.id is not None
    stmt = (
        update(Conversation)
        .where(
            col(Conversation.id) == conversation.id,
            col(Conversation.version) == conversation.version,
        )
        .values(
            flow=flow,
            step=step,
            draft=draft,
            history=history,
            version=conversation.version + 1,
            last_activity_at=now or utcnow(),
            reminded_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConversationConflict(conversation.id)
