"""Idle drafts: finding them, erasing one without overwriting a newer turn, and which of
their files something else still shows.

What a draft is made of (a flow's name, where parked flows are kept) is the dialog
engine's business: the callers pass it in. When a draft expires is the scheduler's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.export import LOCAL_PREFIX
from storage.models import Conversation, OutboxMessage, Participant, StoryMedia, WebChatMessage
from storage.turns import ConversationConflict, TurnTransaction, statements_for


async def idle_drafts(
    session: AsyncSession,
    *,
    flow: str,
    parked_key: str,
    idle_before: datetime,
    limit: int,
) -> list[tuple[Conversation, Participant]]:
    """Conversations untouched since ``idle_before`` that hold a draft of ``flow``, with
    their participant, the longest idle first.

    The draft is the running flow, or one parked (under ``parked_key`` in the draft)
    while no flow runs. A draft parked under another running flow is left to that flow.
    """
    maybe_parked = and_(
        col(Conversation.flow).is_(None),
        # A cheap filter on the JSON text, on both databases; checked exactly below.
        cast(col(Conversation.draft), Text).contains(f'"{parked_key}"', autoescape=True),
    )
    rows = (
        await session.execute(
            select(Conversation, Participant)
            .join(Participant, col(Participant.id) == col(Conversation.participant_id))
            .where(
                or_(col(Conversation.flow) == flow, maybe_parked),
                col(Conversation.last_activity_at) < idle_before,
            )
            .order_by(col(Conversation.last_activity_at), col(Conversation.id))
            .limit(limit)
        )
    ).all()
    return [
        (conversation, participant)
        for conversation, participant in rows
        if conversation.flow == flow or flow in (conversation.draft or {}).get(parked_key, {})
    ]


async def erase_draft(
    session: AsyncSession, conversation: Conversation, *, keep: dict[str, Any], now: datetime
) -> bool:
    """Leave the flow and replace the draft with ``keep`` (what is not erased), if the
    conversation is still at the version it was loaded at.

    Returns:
        False when a turn of the person moved it on meanwhile: nothing was changed, and
        the person keeps their draft.
    """
    statements = statements_for(session.get_bind().dialect)
    try:
        await statements.save(
            TurnTransaction(session=session),
            conversation,
            flow=None,
            step=None,
            draft=keep,
            history=[],
            now=now,
        )
    except ConversationConflict:
        return False
    return True


async def sent_payloads(session: AsyncSession, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The payloads of the outbox rows queued under ``keys`` (absent: never queued)."""
    wanted = list(keys)
    if not wanted:
        return {}
    rows = await session.execute(
        select(col(OutboxMessage.dedupe_key), col(OutboxMessage.payload)).where(
            col(OutboxMessage.dedupe_key).in_(wanted)
        )
    )
    return {key: payload if isinstance(payload, dict) else {} for key, payload in rows.all()}


async def files_in_use(
    session: AsyncSession, participant_id: int, names: Collection[str]
) -> set[str]:
    """Which of the stored files ``names`` a story, or the person's web chat transcript,
    still refers to (the media store keeps one file per platform file, so a photo sent
    again is the same file)."""
    if not names:
        return set()
    refs = {LOCAL_PREFIX + name for name in names}
    used = set(
        (
            await session.execute(
                select(col(StoryMedia.ref)).where(col(StoryMedia.ref).in_(sorted(refs)))
            )
        )
        .scalars()
        .all()
    )
    payloads = (
        await session.execute(
            select(col(WebChatMessage.payload)).where(
                col(WebChatMessage.participant_id) == participant_id
            )
        )
    ).scalars()
    for payload in payloads:
        media = payload.get("media") if isinstance(payload, dict) else None
        for item in media if isinstance(media, list) else []:
            if isinstance(item, dict) and item.get("ref") in refs:
                used.add(str(item["ref"]))
    return {ref.removeprefix(LOCAL_PREFIX) for ref in used}
