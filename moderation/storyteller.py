"""What a storyteller does to their own stories from the chat, by story id."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from moderation.actors import Storyteller
from moderation.decisions import appeal, erase, erase_story_content, withdraw
from moderation.errors import DecisionConflict, NotAllowed
from moderation.transitions import item_of, row_id
from storage.models import Story, StoryState


async def withdraw_story(session: AsyncSession, *, story_id: int, participant_id: int) -> bool:
    """Withdraw one's story. False if it is not theirs or can no longer be withdrawn."""
    item_id = await item_of(session, story_id)
    if item_id is None:
        return False
    try:
        await withdraw(session, item_id=item_id, storyteller=Storyteller(participant_id))
    except (NotAllowed, DecisionConflict):
        return False  # nothing was written: the caller's transaction goes on
    return True


async def appeal_story(session: AsyncSession, *, story_id: int, participant_id: int) -> bool:
    """Appeal one's rejected story (once). False if not possible."""
    item_id = await item_of(session, story_id)
    if item_id is None:
        return False
    try:
        await appeal(session, item_id=item_id, storyteller=Storyteller(participant_id))
    except (NotAllowed, DecisionConflict):
        return False
    return True


async def erase_stories(session: AsyncSession, *, participant_id: int) -> int:
    """Erase every story of a participant (their erasure request). Returns how many."""
    stories = (
        await session.execute(
            select(col(Story.id), col(Story.state)).where(
                col(Story.participant_id) == participant_id
            )
        )
    ).all()
    erased = 0
    storyteller = Storyteller(participant_id)
    for raw_id, state in stories:
        if state == StoryState.ERASED.value:
            continue
        story_id = row_id(raw_id)
        item_id = await item_of(session, story_id)
        if item_id is None:  # never reached the queue: no item, no audit event
            await erase_story_content(session, story_id)
            await session.execute(
                update(Story)
                .where(col(Story.id) == story_id)
                .values(state=StoryState.ERASED.value)
                .execution_options(synchronize_session=False)
            )
        else:
            await erase(session, item_id=item_id, actor=storyteller)
        erased += 1
    return erased
