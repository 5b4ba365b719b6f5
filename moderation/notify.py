"""Outbox rows written by moderation: storyteller notices and publication jobs.

Payloads carry ids and codes only, never story text: the bot renders a notice in the
person's language when it sends it, and the publisher loads the approved revision then.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import OutboxMessage, OutboxStatus, Participant
from storage.outbox import enqueue


class NoticeKind(enum.StrEnum):
    RECEIVED = "received"
    NEEDS_CHANGES = "needs_changes"
    REJECTED = "rejected"
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"


@dataclass(frozen=True, slots=True)
class Channel:
    """Where approved stories are published (the web feed, a Telegram channel...)."""

    platform: str
    chat_id: str

    @property
    def key(self) -> str:
        return f"{self.platform}/{self.chat_id}"


FEED = Channel(platform="feed", chat_id="public")
"""The public web feed: always a publication channel unless the caller says otherwise."""


async def notify_storyteller(
    session: AsyncSession,
    *,
    story_id: int,
    participant_id: int | None,
    version: int,
    kind: NoticeKind,
    reason: str | None = None,
) -> None:
    """Queue a notice to the storyteller (nothing if they are gone)."""
    if participant_id is None:
        return
    person = (
        await session.execute(
            select(col(Participant.platform), col(Participant.chat_id)).where(
                col(Participant.id) == participant_id
            )
        )
    ).one_or_none()
    if person is None:
        return
    await enqueue(
        session,
        dedupe_key=f"notify:{story_id}:{version}:{kind.value}",
        platform=person.platform,
        chat_id=person.chat_id,
        participant_id=participant_id,
        payload={"notification": {"kind": kind.value, "story_id": story_id, "reason": reason}},
    )


async def enqueue_publication(
    session: AsyncSession,
    *,
    story_id: int,
    item_id: int,
    revision_id: int,
    content_hash: str,
    channels: tuple[Channel, ...],
) -> None:
    """Queue one publication job per channel for the approved revision."""
    for channel in channels:
        await enqueue(
            session,
            dedupe_key=f"publish:{story_id}:{revision_id}:{channel.key}",
            platform=channel.platform,
            chat_id=channel.chat_id,
            payload={
                "publish": {
                    "story_id": story_id,
                    "item_id": item_id,
                    "revision_id": revision_id,
                    "content_hash": content_hash,
                }
            },
        )


async def cancel_publication(session: AsyncSession, *, story_id: int) -> None:
    """Stop pending publication jobs of a story (withdrawn, unpublished, erased)."""
    await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.dedupe_key).startswith(f"publish:{story_id}:"),
            col(OutboxMessage.status) == OutboxStatus.PENDING.value,
        )
        .values(status=OutboxStatus.DEAD.value, last_error="cancelled")
        .execution_options(synchronize_session=False)
    )


async def scrub_messages(session: AsyncSession, *, story_id: int) -> None:
    """On erasure: empty every outbox payload about the story (notes may quote it)."""
    about_story = or_(
        col(OutboxMessage.dedupe_key).startswith(f"publish:{story_id}:"),
        col(OutboxMessage.dedupe_key).startswith(f"notify:{story_id}:"),
    )
    await session.execute(
        update(OutboxMessage)
        .where(about_story, col(OutboxMessage.status) == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.DEAD.value, last_error="erased")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(OutboxMessage)
        .where(about_story)
        .values(payload={"erased": True})
        .execution_options(synchronize_session=False)
    )
