"""Kinds of stories: a host community's welcome and a short film, in chat terms, on
SQLite and PostgreSQL; the rules for a film's link and the form's kinds."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.adapters.memory import MemoryChat, MemorySender
from bot.app import Bot
from bot.core.events import MediaKind
from bot.handlers.story_form import form_draft, story_form
from bot.handlers.story_questions import film_link
from bot.review.cards import card_text, load_card
from bot.review.service import ActionRequest, ReviewAction
from moderation.actors import Moderator
from moderation.states import Role
from storage.models import ModerationItem, Story, StoryMedia, StoryRevision, StoryState


async def start(chat: MemoryChat, kind: str) -> None:
    await chat.send("/story")
    assert "welcoming newcomers in your community" in chat.text
    await chat.tap(kind)
    await chat.tap("I agree")
    await chat.tap("Yes, I am 18")
    await chat.tap("Anonymous")


async def stored(bot: Bot) -> tuple[Story, StoryRevision, list[StoryMedia]]:
    async with bot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
        revision = (await session.execute(select(StoryRevision))).scalar_one()
        media = list((await session.execute(select(StoryMedia))).scalars())
    return story, revision, media


async def test_a_host_communitys_story_asks_where_and_what_changed(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="host")
    await start(chat, "Welcoming newcomers")
    assert "Where is your community?" in chat.text
    assert "come from" not in chat.text
    await chat.send("Germany")
    assert "what changed when the newcomers arrived" in chat.text
    await chat.send("Our village opened the old school as a home for twelve families.")
    await chat.tap("I'm done")
    assert "newcomers in your community" in chat.text
    await chat.send("You made our village young again.")
    assert "Community in: Germany" in chat.text and "From:" not in chat.text
    await chat.tap("Change where your community is")
    assert "Where is your community?" in chat.text
    await chat.send("Austria")
    assert "Community in: Austria" in chat.text
    await chat.tap("Submit my story")
    story, revision, _media = await stored(bot)
    assert (story.kind, story.origin_country, story.current_country) == (
        "host_community",
        None,
        "AT",
    )
    assert revision.text.startswith("Our village opened")
    assert story.state == StoryState.PENDING_REVIEW


async def test_a_short_film_as_a_video_with_title_and_description(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="filmmaker")
    await start(chat, "A short film")
    await chat.send("/skip")
    await chat.send("/skip")
    assert "one video" in chat.text and "YouTube or Vimeo" in chat.text
    await chat.send("Here it comes")
    assert "as a video, or a link" in chat.text
    await chat.attach(MediaKind.VIDEO, "film-too-big", size=bot.settings.media_max_bytes + 1)
    assert "larger than" in chat.text and "link" in chat.text
    await chat.attach(MediaKind.VIDEO, "film-1", size=1_000_000, duration=420)
    assert "title" in chat.text  # a film may be longer than a story's three minutes
    await chat.send("x" * 121)
    assert "up to 120 characters" in chat.text
    await chat.send("Two Rivers")
    assert "what is it about" in chat.text
    await chat.send("y" * 501)
    assert "500 characters" in chat.text
    await chat.send("Two sisters learn to swim in a new country.")
    preview = chat.text
    assert "A short film" in preview and "Two Rivers" in preview and "1 file attached" in preview
    assert not any("Change the message" in label for label in chat.labels)
    await chat.tap("Submit my story")
    story, revision, media = await stored(bot)
    assert story.kind == "film" and story.title is None  # the title is the moderator's
    assert revision.text == "Two Rivers\n\nTwo sisters learn to swim in a new country."
    assert [(m.kind, m.ref) for m in media] == [("video", "film-1")]
    async with bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalar_one()
        assert item.id is not None
        card = await load_card(session, item.id)
    assert card is not None and "Kind: a short film" in card_text(card, "en").splitlines()


async def test_a_longer_film_is_sent_as_a_link(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="linker")
    await start(chat, "A short film")
    await chat.send("/skip")
    await chat.send("/skip")
    await chat.send("http://youtu.be/abc123")
    assert "starting with https://" in chat.text and "film's title" not in chat.text
    await chat.send("https://youtu.be/abc123")
    await chat.send("Two Rivers")
    await chat.send("Two sisters learn to swim.")
    await chat.tap("Change the film")
    await chat.send("https://vimeo.com/76979871")
    await chat.send("Two Rivers")
    await chat.send("Two sisters learn to swim.")
    assert "Here is your story" in chat.text
    await chat.tap("Submit my story")
    _story, revision, media = await stored(bot)
    assert revision.text.endswith("https://vimeo.com/76979871") and media == []


async def ask_for_changes(bot: Bot, memory_sender: MemorySender, chat: MemoryChat) -> None:
    async with bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalar_one()
    assert item.id is not None
    outcome = await bot.review.act(
        Moderator(id="ana", role=Role.MODERATOR),
        ActionRequest(ReviewAction.CHANGES, item.id, item.version),
        text="Please leave out the street.",
    )
    assert outcome.ok, outcome.message
    while await bot.dispatcher.run_once():
        pass
    chat.last = [memory_sender.sent[chat.user_id][-1]]
    await chat.tap("Revise my story")


async def test_a_host_communitys_new_version_is_asked_in_its_words(
    bot: Bot, memory_sender: MemorySender
) -> None:
    chat = MemoryChat(bot.core, user_id="host")
    await start(chat, "Welcoming newcomers")
    await chat.send("Germany")
    await chat.send("Our village on Elm Street opened the old school for twelve families.")
    await chat.tap("I'm done")
    await chat.send("/skip")
    await chat.tap("Submit my story")
    await ask_for_changes(bot, memory_sender, chat)
    assert "new version of your story" in chat.text
    assert "what changed when the newcomers arrived" in chat.text
    assert "Where did you start from" not in chat.text
    await chat.send("Our village opened the old school for twelve families.")
    await chat.tap("I'm done")
    await chat.tap("Send the new version")
    assert "new version is with our team" in chat.text


async def test_a_films_new_version_says_what_to_send(bot: Bot, memory_sender: MemorySender) -> None:
    chat = MemoryChat(bot.core, user_id="filmmaker")
    await start(chat, "A short film")
    await chat.send("/skip")
    await chat.send("/skip")
    await chat.send("https://youtu.be/abc123")
    await chat.send("Two Rivers")
    await chat.send("Two sisters from Elm Street learn to swim.")
    await chat.tap("Submit my story")
    await ask_for_changes(bot, memory_sender, chat)
    assert "title on the first line, then the description" in chat.text
    await chat.send("Two Rivers\n\nTwo sisters learn to swim.\n\nhttps://youtu.be/abc123")
    await chat.tap("I'm done")
    assert "Two sisters learn to swim." in chat.text  # the preview is the text as sent
    await chat.tap("Send the new version")
    assert "new version is with our team" in chat.text
    async with bot.deps.db.transaction() as session:
        texts = list(
            (
                await session.execute(select(StoryRevision.text).order_by(StoryRevision.number))
            ).scalars()
        )
    assert texts[-1] == "Two Rivers\n\nTwo sisters learn to swim.\n\nhttps://youtu.be/abc123"


@pytest.mark.parametrize(
    "text",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ",
        "https://vimeo.com/76979871",
    ],
)
def test_film_links_on_known_hosts_over_https_are_taken(text: str) -> None:
    assert film_link(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "http://youtu.be/dQw4w9WgXcQ",
        "https://youtu.be/",
        "https://youtube.com.evil.example/watch?v=1",
        "https://evil.example/youtu.be/1",
        "https://user@youtu.be/1",
        "https://youtu.be:8443/1",
        "https://youtu.be/1 more",
        "javascript:alert(1)",
        "youtu.be/dQw4w9WgXcQ",
        "https://youtu.be/" + "a" * 400,
    ],
)
def test_other_links_are_refused(text: str) -> None:
    assert film_link(text) is None


async def test_the_form_takes_a_host_communitys_story_but_no_film(bot: Bot) -> None:
    ids = [c.id for field in story_form(bot.settings) if field.id == "kind" for c in field.choices]
    assert ids == ["c:migrant", "c:host_community"]
    answers = {
        "kind": "c:host_community",
        "consent": "c:yes",
        "is_adult": "c:yes",
        "credit_mode": "c:anonymous",
        "origin": "Syria",
        "residence": "Germany",
        "text": "Our village opened the old school.",
    }
    draft, problems = form_draft(answers, bot.settings, "en")
    assert problems == {}
    assert (draft["kind"], draft.get("origin"), draft["residence"]) == (
        "host_community",
        None,
        "DE",
    )
    _draft, problems = form_draft({**answers, "kind": "c:film"}, bot.settings, "en")
    assert set(problems) == {"kind"}
    draft, problems = form_draft({**answers, "kind": ""}, bot.settings, "en")
    assert draft["kind"] == "migrant" and draft["origin"] == "SY"


def test_the_forms_story_and_message_also_ask_in_a_host_communitys_words(bot: Bot) -> None:
    fields = {field.id: field for field in story_form(bot.settings)}
    assert "Where did you start from" in fields["text"].label
    assert "what changed when the newcomers arrived" in (fields["text"].hint or "")
    assert "the country where you live now" in fields["community_message"].label
    assert "the newcomers in your community" in (fields["community_message"].hint or "")
