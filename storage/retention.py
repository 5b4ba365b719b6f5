"""Retention: what is kept only for a while, found and deleted in bounded batches.

Each function here works in the caller's transaction and touches at most ``limit`` rows,
so a large backlog is worked off in many short transactions (the scheduler's retention
job loops until a batch comes back short) and never holds the writer for long. Counts
(pledge counters, story stats) and the moderation audit log are never touched.

- processed-event keys (the dedupe record of an inbound update), by when they arrived;
- sent outbox rows (what they said may quote a story), by when they were sent;
- web chat transcripts of sessions that have been quiet, by their newest message;
- rejected and withdrawn stories, by their last moderation change: :func:`stories_due`
  only finds them; the erasure itself is :func:`moderation.decisions.erase`, so it is
  audited and empties exactly what a storyteller's own erasure empties.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from storage.export import LOCAL_PREFIX
from storage.models import (
    Conversation,
    ModerationItem,
    OutboxMessage,
    OutboxStatus,
    ProcessedEvent,
    Story,
    StoryMedia,
    StoryState,
    WebChatMessage,
)

# Rows deleted per transaction.
BATCH = 300
# The states whose stories keep their text only for ``RETENTION_STORY_DAYS``.
ENDED_STATES = (StoryState.REJECTED.value, StoryState.WITHDRAWN.value)


async def purge_processed_events(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` processed-event keys recorded before ``before``."""
    oldest = (
        select(col(ProcessedEvent.platform), col(ProcessedEvent.key))
        .where(col(ProcessedEvent.created_at) < before)
        .order_by(col(ProcessedEvent.created_at))
        .limit(limit)
    )
    keys = (await session.execute(oldest)).all()
    if not keys:
        return 0
    await session.execute(
        delete(ProcessedEvent)
        .where(
            tuple_(col(ProcessedEvent.platform), col(ProcessedEvent.key)).in_(
                [tuple(key) for key in keys]
            )
        )
        .execution_options(synchronize_session=False)
    )
    return len(keys)


async def purge_sent_outbox(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` outbox rows sent before ``before``, and those cancelled
    (never to be sent) queued before it; pending and dead rows stay: one is still to be
    sent, the other is what an operator looks into."""
    ids = (
        (
            await session.execute(
                select(col(OutboxMessage.id))
                .where(
                    or_(
                        and_(
                            col(OutboxMessage.status) == OutboxStatus.SENT.value,
                            col(OutboxMessage.sent_at) < before,
                        ),
                        and_(
                            col(OutboxMessage.status) == OutboxStatus.CANCELLED.value,
                            col(OutboxMessage.created_at) < before,
                        ),
                    )
                )
                .order_by(col(OutboxMessage.id))
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    if not ids:
        return 0
    await session.execute(
        delete(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids))
        .execution_options(synchronize_session=False)
    )
    return len(ids)


@dataclass(frozen=True, slots=True)
class Transcripts:
    """What one batch of :func:`purge_quiet_transcripts` deleted."""

    messages: int
    # The files the deleted messages showed, by participant (the caller deletes those
    # nothing else refers to, once the batch has committed).
    files: dict[int, set[str]]


async def purge_quiet_transcripts(
    session: AsyncSession, *, before: datetime, limit: int
) -> Transcripts:
    """Delete up to ``limit`` web chat messages of sessions whose newest message is
    older than ``before`` (the whole transcript goes, a batch at a time)."""
    newer = aliased(WebChatMessage)
    # Old messages of a session with no newer one: a search that stops at ``limit``
    # (the session's other messages found by its index), never a whole-table aggregate.
    rows = (
        await session.execute(
            select(
                col(WebChatMessage.id),
                col(WebChatMessage.participant_id),
                col(WebChatMessage.payload),
            )
            .where(
                col(WebChatMessage.created_at) < before,
                ~exists().where(
                    col(newer.participant_id) == col(WebChatMessage.participant_id),
                    col(newer.created_at) >= before,
                ),
            )
            .order_by(col(WebChatMessage.id))
            .limit(limit)
        )
    ).all()
    if not rows:
        return Transcripts(messages=0, files={})
    files: dict[int, set[str]] = {}
    for _id, participant_id, payload in rows:
        names = _local_files(payload)
        if names:
            files.setdefault(participant_id, set()).update(names)
    await session.execute(
        delete(WebChatMessage)
        .where(col(WebChatMessage.id).in_([row[0] for row in rows]))
        .execution_options(synchronize_session=False)
    )
    return Transcripts(messages=len(rows), files=files)


@dataclass(frozen=True, slots=True)
class EndedStory:
    """A rejected or withdrawn story whose text is due for erasure."""

    story_id: int
    item_id: int
    participant_id: int | None
    files: frozenset[str]  # the media store names of its files


async def stories_due(
    session: AsyncSession, *, before: datetime, after_id: int, limit: int
) -> list[EndedStory]:
    """Up to ``limit`` rejected or withdrawn stories (by story id, above ``after_id``)
    whose last moderation change is older than ``before``."""
    rows = (
        await session.execute(
            select(col(Story.id), col(ModerationItem.id), col(Story.participant_id))
            .join(ModerationItem, col(ModerationItem.story_id) == col(Story.id))
            .where(
                col(ModerationItem.state).in_(ENDED_STATES),
                col(ModerationItem.updated_at) < before,
                col(Story.id) > after_id,
            )
            .order_by(col(Story.id))
            .limit(limit)
        )
    ).all()
    if not rows:
        return []
    refs = (
        await session.execute(
            select(col(StoryMedia.story_id), col(StoryMedia.ref)).where(
                col(StoryMedia.story_id).in_([row[0] for row in rows]),
                col(StoryMedia.ref).startswith(LOCAL_PREFIX),
            )
        )
    ).all()
    names: dict[int, set[str]] = {}
    for media_story, ref in refs:
        names.setdefault(media_story, set()).add(ref.removeprefix(LOCAL_PREFIX))
    due = []
    for story_id, item_id, participant_id in rows:
        assert story_id is not None and item_id is not None  # primary keys, read back
        files = frozenset(names.get(story_id, ()))
        due.append(EndedStory(story_id, item_id, participant_id, files))
    return due


async def files_in_drafts(
    session: AsyncSession, participant_ids: Collection[int]
) -> dict[int, set[str]]:
    """The media store names each person's conversation draft still refers to (the
    running flow's and any parked flow's)."""
    if not participant_ids:
        return {}
    rows = (
        await session.execute(
            select(col(Conversation.participant_id), col(Conversation.draft)).where(
                col(Conversation.participant_id).in_(sorted(participant_ids))
            )
        )
    ).all()
    return {participant_id: _local_files(draft) for participant_id, draft in rows}


def _local_files(value: Any) -> set[str]:
    """Every ``local:<name>`` reference anywhere in a JSON value (a transcript message's
    payload, a draft with its parked flows)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and item.startswith(LOCAL_PREFIX):
            found.add(item.removeprefix(LOCAL_PREFIX))
    return found
