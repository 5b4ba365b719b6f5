"""A submitted story enters the queue: RECEIVED, then screening routes it.

Runs in the story flow's transaction, after it has added and flushed the story and its
revision, so the submission, the queue item, its audit events and the "received" notice
commit together or not at all.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from moderation.actors import SYSTEM, Storyteller
from moderation.audit import append_event
from moderation.errors import NotAllowed, Refusal
from moderation.flags import ScreeningResult
from moderation.notify import NoticeKind, notify_storyteller
from moderation.states import Action
from moderation.transitions import CLEAR_LEASE, check, load, transition
from storage.models import ModerationItem, Story, StoryRevision, StoryState

PRIORITY_NORMAL = 0
PRIORITY_SAFETY = 100


def needs_safety_review(story: Story, screening: ScreeningResult) -> bool:
    # A minor goes to the safety queue even if the screener was not told the age.
    return screening.needs_safety_review or not story.is_adult


def screening_values(story: Story, screening: ScreeningResult) -> dict[str, object]:
    """The item columns that follow from a screening result."""
    safety = needs_safety_review(story, screening)
    return {
        "flags": [flag.to_json() for flag in screening.flags],
        "priority": PRIORITY_SAFETY if safety else PRIORITY_NORMAL,
    }


async def receive_story(
    session: AsyncSession,
    *,
    story: Story,
    revision: StoryRevision,
    screening: ScreeningResult,
) -> ModerationItem:
    """Put a submitted story (or its resubmission after NEEDS_CHANGES) in the queue.

    Args:
        session: the caller's transaction; ``story`` and ``revision`` are flushed in it.
        story: the submitted story.
        revision: its newest revision, the one that was screened.
        screening: what screening found in ``revision.text``.

    Returns:
        The item, in PENDING_REVIEW, or SAFETY_REVIEW (high priority) when screening
        asks for it or the storyteller is a minor.

    Raises:
        NotAllowed: the story already has an item that is not waiting for changes.
    """
    if story.id is None or revision.id is None or revision.story_id != story.id:
        raise ValueError("flush the story and its revision first")
    flag_ids = [flag.id for flag in screening.flags]
    item_id = (
        await session.execute(
            select(col(ModerationItem.id)).where(col(ModerationItem.story_id) == story.id)
        )
    ).scalar_one_or_none()

    if item_id is None:
        item = ModerationItem(
            story_id=story.id,
            state=StoryState.RECEIVED.value,
            version=1,
            locale=story.locale,
            revision_id=revision.id,
            **screening_values(story, screening),  # type: ignore[arg-type]
        )
        session.add(item)
        await session.flush()
        if item.id is None:
            raise RuntimeError("the item got no id")
        item_id = item.id
        await append_event(
            session,
            item_id=item_id,
            from_state=None,
            to_state=StoryState.RECEIVED,
            actor=SYSTEM.actor,
            role=SYSTEM.role,
            action=Action.RECEIVE,
            revision_hash=revision.content_hash,
            flag_ids=flag_ids,
        )
    else:
        if story.participant_id is None:
            raise NotAllowed(Refusal.NOT_OWNER, item_id=item_id)
        storyteller = Storyteller(participant_id=story.participant_id)
        view = await load(session, item_id)
        await check(session, view, storyteller, Action.RESUBMIT, None)
        await transition(
            session,
            view,
            actor=storyteller,
            action=Action.RESUBMIT,
            to_state=StoryState.RECEIVED,
            values={
                **CLEAR_LEASE,
                "revision_id": revision.id,
                **screening_values(story, screening),
            },
            revision_hash=revision.content_hash,
            flag_ids=flag_ids,
        )

    target = (
        StoryState.SAFETY_REVIEW
        if needs_safety_review(story, screening)
        else StoryState.PENDING_REVIEW
    )
    view = await load(session, item_id)
    decision = await transition(
        session,
        view,
        actor=SYSTEM,
        action=Action.SCREEN,
        to_state=target,
        revision_hash=revision.content_hash,
        flag_ids=flag_ids,
    )
    story.state = target.value
    await notify_storyteller(
        session,
        story_id=story.id,
        participant_id=story.participant_id,
        version=decision.version,
        kind=NoticeKind.RECEIVED,
    )
    return (await load(session, item_id)).item
