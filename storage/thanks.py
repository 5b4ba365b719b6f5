"""Readers' thank-you messages: the queries moderation, erasure and the export share.

What a thank-you may say and when it is refused lives in :mod:`moderation.thanks`;
this module only reads and writes rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import dialect_insert
from storage.models import Participant, Story, StoryStats, Thanks, ThanksCard, ThanksState
from storage.outbox import enqueue

# Kept in place of a reader's key once they erased their data: their delivered and
# rejected thanks stay with the story, linked to nobody.
ERASED_READER = "erased"


async def count_by_reader(session: AsyncSession, reader_key: str, since: datetime) -> int:
    """How many thanks a reader sent since ``since`` (any state)."""
    return int(
        (
            await session.execute(
                select(func.count()).where(
                    col(Thanks.reader_key) == reader_key, col(Thanks.created_at) >= since
                )
            )
        ).scalar_one()
    )


async def has_thanked(session: AsyncSession, story_id: int, reader_key: str) -> bool:
    """Whether the reader already sent a thank-you for the story (any state)."""
    found = (
        await session.execute(
            select(col(Thanks.id))
            .where(col(Thanks.story_id) == story_id, col(Thanks.reader_key) == reader_key)
            .limit(1)
        )
    ).scalar_one_or_none()
    return found is not None


async def pending_for_story(session: AsyncSession, story_id: int) -> int:
    """How many thanks of the story wait for a moderator."""
    return int(
        (
            await session.execute(
                select(func.count()).where(
                    col(Thanks.story_id) == story_id,
                    col(Thanks.state) == ThanksState.PENDING.value,
                )
            )
        ).scalar_one()
    )


async def pending_thanks(session: AsyncSession, *, limit: int = 100) -> list[Thanks]:
    """The thanks waiting for a moderator, oldest first."""
    return list(
        (
            await session.execute(
                select(Thanks)
                .where(col(Thanks.state) == ThanksState.PENDING.value)
                .order_by(col(Thanks.created_at), col(Thanks.id))
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )


async def move(
    session: AsyncSession,
    thanks_id: int,
    *,
    from_state: ThanksState,
    to_state: ThanksState,
    values: dict[str, object] | None = None,
) -> bool:
    """One conditional UPDATE: the row moves only if it is still in ``from_state``.

    Two moderators deciding at once: the second UPDATE waits for the first row lock
    (PostgreSQL) or transaction (SQLite), then finds the state changed and moves nothing.
    """
    result = await session.execute(
        update(Thanks)
        .where(col(Thanks.id) == thanks_id, col(Thanks.state) == from_state.value)
        .values(state=to_state.value, **(values or {}))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def record_card(
    session: AsyncSession, thanks_id: int, platform: str, chat_id: str, message_id: str
) -> bool:
    """Remember the message showing a thank-you to moderators in a chat (an upsert: an
    edit of a card that was gone posted a new one); False when the thank-you is gone."""
    if await session.get(Thanks, thanks_id) is None:
        return False
    await session.execute(
        dialect_insert(session, ThanksCard)
        .values(thanks_id=thanks_id, platform=platform, chat_id=chat_id, message_id=message_id)
        .on_conflict_do_update(
            index_elements=["thanks_id", "platform", "chat_id"],
            set_={"message_id": message_id},
        )
    )
    return True


async def cards_of(session: AsyncSession, thanks_id: int) -> list[ThanksCard]:
    """The moderators' messages showing a thank-you, on every surface."""
    return list(
        (
            await session.execute(
                select(ThanksCard)
                .where(col(ThanksCard.thanks_id) == thanks_id)
                .order_by(col(ThanksCard.platform), col(ThanksCard.chat_id))
            )
        )
        .scalars()
        .all()
    )


async def count_delivered(session: AsyncSession, story_id: int) -> None:
    """Add one delivered thank-you to the story's aggregate."""
    await session.execute(
        dialect_insert(session, StoryStats)
        .values(story_id=story_id, reads=0, thanks=1)
        .on_conflict_do_update(
            index_elements=["story_id"], set_={"thanks": col(StoryStats.thanks) + 1}
        )
    )


async def _gone_from_cards(session: AsyncSession, *where: ColumnElement[bool]) -> None:
    """Before the thanks matching ``where`` are deleted: queue the edit of their cards in
    the moderators' chats, so their words and names leave those chats too (rendered by
    ``bot.review.thanks``: "Thank-you #N no longer exists.", no buttons)."""
    cards = (
        await session.execute(
            select(ThanksCard)
            .join(Thanks, col(Thanks.id) == col(ThanksCard.thanks_id))
            .where(*where)
        )
    ).scalars()
    for card in cards.all():
        await enqueue(
            session,
            dedupe_key=(
                f"thanks-card:{card.thanks_id}:gone:{card.platform}:{card.chat_id}:"
                f"{card.message_id}"
            ),
            platform=card.platform,
            chat_id=card.chat_id,
            payload={"thanks_card": {"thanks_id": card.thanks_id, "message_id": card.message_id}},
        )


async def delete_story_thanks(session: AsyncSession, story_id: int) -> None:
    """A story's erasure: every thank-you it received goes with its text."""
    await _gone_from_cards(session, col(Thanks.story_id) == story_id)
    await session.execute(
        delete(Thanks)
        .where(col(Thanks.story_id) == story_id)
        .execution_options(synchronize_session=False)
    )


async def forget_reader(session: AsyncSession, reader_key: str) -> None:
    """A reader's erasure: what has not reached a storyteller yet is deleted; what has
    (or was rejected) stays with the story, without the reader's key or name."""
    unsent = (
        col(Thanks.reader_key) == reader_key,
        col(Thanks.state).in_((ThanksState.PENDING.value, ThanksState.PASSED.value)),
    )
    await _gone_from_cards(session, *unsent)
    await session.execute(
        delete(Thanks).where(*unsent).execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Thanks)
        .where(col(Thanks.reader_key) == reader_key)
        .values(reader_key=ERASED_READER, signed=None)
        .execution_options(synchronize_session=False)
    )


async def received(session: AsyncSession, story_id: int) -> list[Thanks]:
    """The thanks delivered to the story's storyteller, oldest first."""
    return list(
        (
            await session.execute(
                select(Thanks)
                .where(
                    col(Thanks.story_id) == story_id,
                    col(Thanks.state) == ThanksState.DELIVERED.value,
                )
                .order_by(col(Thanks.id))
            )
        )
        .scalars()
        .all()
    )


@dataclass(frozen=True, slots=True)
class StoryThanks:
    """What a story's card says of thanks: whether its storyteller takes them now, and
    how many reached them."""

    accepted: bool
    received: int


async def story_thanks(session: AsyncSession, story_id: int) -> StoryThanks:
    accepted = (
        await session.execute(
            select(col(Participant.thanks_enabled))
            .join(Story, col(Story.participant_id) == col(Participant.id))
            .where(col(Story.id) == story_id)
        )
    ).scalar_one_or_none()
    received = (
        await session.execute(
            select(col(StoryStats.thanks)).where(col(StoryStats.story_id) == story_id)
        )
    ).scalar_one_or_none()
    return StoryThanks(accepted=bool(accepted), received=int(received or 0))
