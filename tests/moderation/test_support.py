"""Builders shared by the moderation tests (imported by the other test modules)."""

from __future__ import annotations

import itertools

from moderation.flags import Flag, FlagAction, FlagKind, ScreeningResult
from moderation.intake import receive_story
from moderation.revisions import content_hash
from storage.db import Database
from storage.models import ModerationItem, Participant, Story, StoryRevision

STORY_TEXT = "I left Aleppo in 2015 and walked to Izmir. Call me on +90 555 123 4567."
_numbers = itertools.count(1)

CRISIS = ScreeningResult(flags=(Flag("f1", FlagKind.CRISIS, FlagAction.SAFETY, 0, 6, "self_harm"),))
PHONE = ScreeningResult(flags=(Flag("f1", FlagKind.PHONE, FlagAction.HOLD, 54, 71),))


async def submit_story(
    db: Database,
    *,
    text: str = STORY_TEXT,
    screening: ScreeningResult = PHONE,
    identity_key: str = "storyteller-key",
    is_adult: bool = True,
) -> tuple[ModerationItem, Story]:
    """A storyteller's submission, through intake, as the story flow will do it."""
    n = next(_numbers)
    async with db.transaction() as session:
        person = Participant(
            platform="telegram",
            external_id=f"user-{n}",
            chat_id=f"chat-{n}",
            identity_key=identity_key,
            display_name="Amal Haddad",
        )
        session.add(person)
        await session.flush()
        story = Story(
            participant_id=person.id,
            locale="en",
            credit_mode="full_name",
            credit_name="Amal Haddad",
            community_message="Welcome others as you would be welcomed.",
            is_adult=is_adult,
            consent_version="1",
        )
        session.add(story)
        await session.flush()
        assert story.id is not None
        revision = StoryRevision(
            story_id=story.id,
            number=1,
            text=text,
            content_hash=content_hash(text),
            author="storyteller",
        )
        session.add(revision)
        await session.flush()
        item = await receive_story(session, story=story, revision=revision, screening=screening)
    return item, story


async def test_submit_story_builds_a_pending_item(db: Database) -> None:
    item, story = await submit_story(db)
    assert item.state == story.state == "PENDING_REVIEW"
