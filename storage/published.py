"""The stories on the public wall: published ones, with the text that was published.

Only stories whose moderation item is PUBLISHED are read, each with the text of its
current revision (the one approved and published; never an earlier one a moderator
redacted), newest publication first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import ModerationEvent, ModerationItem, Story, StoryRevision, StoryState
from storage.times import aware


@dataclass(frozen=True, slots=True)
class PublishedStory:
    """A published story, with the text of its published revision."""

    story: Story
    text: str
    published_at: datetime

    @property
    def story_id(self) -> int:
        return self.story.id or 0


async def published_stories(
    session: AsyncSession, *, limit: int, offset: int = 0, story_id: int | None = None
) -> list[PublishedStory]:
    """Published stories, newest publication first."""
    published_at = (
        select(
            col(ModerationEvent.item_id).label("item_id"),
            func.max(col(ModerationEvent.created_at)).label("at"),
        )
        .where(col(ModerationEvent.to_state) == StoryState.PUBLISHED.value)
        .group_by(col(ModerationEvent.item_id))
        .subquery()
    )
    stmt = (
        select(Story, col(StoryRevision.text), published_at.c.at)
        .join(ModerationItem, col(ModerationItem.story_id) == col(Story.id))
        .join(StoryRevision, col(StoryRevision.id) == col(ModerationItem.revision_id))
        .join(published_at, published_at.c.item_id == col(ModerationItem.id))
        .where(
            col(ModerationItem.state) == StoryState.PUBLISHED.value,
            col(Story.state) == StoryState.PUBLISHED.value,
        )
        .order_by(published_at.c.at.desc(), col(Story.id).desc())
        .limit(limit)
        .offset(offset)
    )
    if story_id is not None:
        stmt = stmt.where(col(Story.id) == story_id)
    rows = (await session.execute(stmt)).all()
    return [PublishedStory(story, text, aware(at)) for story, text, at in rows]
