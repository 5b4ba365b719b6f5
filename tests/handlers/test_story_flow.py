"""The story flow end to end, in chat terms, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from bot.adapters.memory import MemoryChat
from bot.app import Bot
from bot.core.events import MediaKind
from bot.review.cards import card_text, load_card
from storage.models import ModerationItem, Story, StoryMedia, StoryRevision, StoryState

STORY = (
    "I left Aleppo in 2015 with my mother and two brothers. We crossed to Türkiye, "
    "then to Greece in a small boat.\n\nToday I study nursing in Osaka."
)


async def tell_story(chat: MemoryChat, *, credit: str = "first name") -> None:
    await chat.send("/start")
    await chat.tap("Share your story")
    await chat.tap("My own migration story")
    assert "Do you agree" in chat.text
    await chat.tap("I agree")
    assert "18 or older" in chat.text
    await chat.tap("Yes, I am 18")
    await chat.tap(credit)
    if credit != "Anonymous":
        await chat.send("Amina")
    assert "Which country do you come from" in chat.text
    await chat.send("Syria")
    assert "live now" in chat.text
    await chat.send("japan")
    assert "tell your story" in chat.text
    await chat.send(STORY.split("\n\n")[0])
    assert "characters so far" in chat.text
    await chat.send(STORY.split("\n\n")[1])
    await chat.attach(MediaKind.PHOTO, "photo-file-1", size=50_000)
    await chat.tap("I'm done")
    assert "one line" in chat.text
    await chat.send("Thank you for welcoming us.")
    assert "Here is your story" in chat.text


async def to_the_story_step(chat: MemoryChat) -> None:
    """Consent, adult, anonymous, no countries: the story question is next."""
    await chat.send("/story")
    await chat.tap("My own migration story")
    await chat.tap("I agree")
    await chat.tap("Yes, I am 18")
    await chat.tap("Anonymous")
    await chat.send("/skip")
    await chat.send("/skip")
    assert "tell your story" in chat.text


async def test_complete_story_is_stored_and_waits_for_review(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="amina")
    await tell_story(chat)
    preview = chat.text
    assert "Shown as: Amina" in preview
    assert "From: Syria" in preview and "Living in: Japan" in preview
    assert STORY in preview
    assert "1 file attached" in preview
    await chat.tap("Submit my story")
    assert "Thank you for trusting us" in chat.text
    async with bot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
        revision = (await session.execute(select(StoryRevision))).scalar_one()
        media = (await session.execute(select(StoryMedia))).scalars().all()
        item = (await session.execute(select(ModerationItem))).scalar_one()
    assert (story.credit_mode, story.credit_name) == ("first_name", "Amina")
    assert (story.origin_country, story.current_country) == ("SY", "JP")
    assert story.community_message == "Thank you for welcoming us."
    assert revision.text == STORY and revision.number == 1
    assert [m.ref for m in media] == ["photo-file-1"]
    assert story.state == item.state == StoryState.PENDING_REVIEW
    await chat.send("/mystories")
    assert "Waiting for review" in chat.text


async def test_back_skip_and_cancel(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="back")
    await chat.send("/story")
    await chat.tap("My own migration story")
    await chat.tap("I agree")
    await chat.tap("Yes, I am 18")
    await chat.tap("Anonymous")
    assert "come from" in chat.text
    await chat.tap("Back")
    assert "how should we credit you" in chat.text
    await chat.tap("Anonymous")
    await chat.tap("Skip")
    assert "live now" in chat.text
    await chat.send("/skip")
    assert "tell your story" in chat.text
    await chat.tap("I'm done")
    assert "still empty" in chat.text
    await chat.tap("Cancel")
    assert "not sent" in chat.text
    await chat.send("hello")
    assert "What would you like to do?" in chat.text
    async with bot.deps.db.transaction() as session:
        assert (await session.execute(select(Story))).first() is None


async def test_required_step_cannot_be_skipped_and_bad_input_is_explained(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="skip")
    await chat.send("/story")
    await chat.send("/skip")
    assert "can't be skipped" in chat.text
    await chat.send("maybe")
    assert "choose one of the buttons" in chat.text
    await chat.unsupported()
    assert "can't use this kind of message" in chat.text
    assert "your own migration story" in chat.text


async def test_stale_button_gets_an_explanation(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="stale")
    await chat.send("/story")
    await chat.tap("My own migration story")
    await chat.tap("I agree")
    await chat.tap("Yes, I am 18")
    await chat.tap("My full name")
    await chat.press("c:full_name")  # a double tap: the name question is current now
    assert "earlier question" in chat.text
    assert "What is your full name" in chat.text


async def test_under_18_is_told_kindly_who_can_share_it(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="minor")
    await chat.send("/story")
    await chat.tap("My own migration story")
    await chat.tap("I agree")
    await chat.tap("No, I am under 18")
    assert "a parent, guardian or teacher needs to share it with you" in chat.text
    assert "A child's story I am sharing with them" in chat.text
    await chat.send("We walked for many days.")
    assert "What would you like to do?" in chat.text  # the flow ended; nothing kept
    async with bot.deps.db.transaction() as session:
        assert (await session.execute(select(Story))).first() is None


async def test_a_childs_story_goes_anonymous_to_safety_review(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="teacher")
    await chat.send("/story")
    await chat.tap("My own migration story")
    await chat.tap("I agree")
    await chat.tap("A child's story I am sharing with them")
    assert "parent, guardian or teacher" in chat.text
    await chat.tap("I confirm")
    assert "come from" in chat.text  # no credit question, no name asked
    await chat.send("/skip")
    await chat.send("/skip")
    await chat.send("We walked for many days to reach the border.")
    await chat.tap("I'm done")
    await chat.send("/skip")
    assert "Shown as: Anonymous" in chat.text
    assert "Change how your name is shown" not in chat.text and not any(
        "name is shown" in label for label in chat.labels
    )
    await chat.tap("Submit")
    async with bot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
    assert story.is_adult is False
    assert (story.credit_mode, story.credit_name) == ("anonymous", None)
    assert story.consent_version == bot.settings.consent_version
    assert story.guardian_consent_at is not None
    assert story.state == StoryState.SAFETY_REVIEW
    async with bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalar_one()
        assert item.id is not None
        card = await load_card(session, item.id)
    assert card is not None
    lines = card_text(card, "en").splitlines()
    assert "⚠️ A child's story, shared by their parent, guardian or teacher." in lines
    assert "⚠️ The storyteller is under 18." not in lines


async def test_edit_from_preview_returns_to_preview(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="edit")
    await tell_story(chat, credit="Anonymous")
    await chat.tap("Change the countries")
    assert "come from" in chat.text
    await chat.send("Afghanistan")
    assert "live now" in chat.text
    await chat.send("Germany")
    assert "Here is your story" in chat.text
    assert "From: Afghanistan" in chat.text and "Living in: Germany" in chat.text
    await chat.tap("Change how your name is shown")
    await chat.tap("My full name")
    await chat.send("Amina Haddad")
    assert "Shown as: Amina Haddad" in chat.text


async def test_story_limits_are_explained_kindly(bot: Bot) -> None:
    bot.settings.story_max_chars = 50
    bot.settings.story_max_media = 1
    chat = MemoryChat(bot.core, user_id="limits")
    await to_the_story_step(chat)
    await chat.send("x" * 60)
    assert "10 characters longer than the limit of 50 characters" in chat.text
    await chat.attach(MediaKind.VIDEO, "long-video", duration=600)
    assert "up to 3 minutes" in chat.text
    await chat.attach(MediaKind.PHOTO, "huge", size=10**9)
    assert "too large" in chat.text
    await chat.attach(MediaKind.PHOTO, "ok-1")
    await chat.attach(MediaKind.PHOTO, "ok-2")
    assert "up to 1 files" in chat.text or "up to 1 file" in chat.text


async def test_edited_message_updates_the_draft(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="editor")
    await to_the_story_step(chat)
    await chat.send("We left in 2105.", message_id="41")
    await chat.edit("41", "We left in 2015.")
    assert "updated" in chat.text
    await chat.tap("I'm done")
    await chat.send("/skip")
    assert "We left in 2015." in chat.text and "2105" not in chat.text
