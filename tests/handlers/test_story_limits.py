"""Every limit on every path: STORY_MAX_CHARS, STORY_MAX_MEDIA, the name and the message,
whether a story is written, edited afterwards, revised, sent as a form or redacted; and
the story form is no command anyone can type (issue [6])."""

from __future__ import annotations

import itertools
import json

from sqlalchemy import func, select
from sqlmodel import col

from bot.adapters.memory import MemoryChat, MemorySender
from bot.app import Bot
from bot.core.events import Inbound, InboundKind, MediaKind
from bot.review.service import ActionRequest, ReviewAction
from moderation.actors import Moderator
from moderation.states import Role
from storage.models import ModerationItem, Story, StoryRevision
from tests.handlers.test_story_flow import to_the_story_step

LIMIT = 6000  # STORY_MAX_CHARS's default


async def stories(bot: Bot) -> list[Story]:
    async with bot.deps.db.transaction() as session:
        return list((await session.execute(select(Story))).scalars())


async def revisions(bot: Bot) -> list[str]:
    async with bot.deps.db.transaction() as session:
        return list(
            (
                await session.execute(
                    select(col(StoryRevision.text)).order_by(col(StoryRevision.id))
                )
            ).scalars()
        )


async def test_a_part_edited_past_the_limit_is_refused_and_the_part_kept(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    await chat.send("We crossed the sea at night.", message_id="m-1")
    await chat.edit("m-1", "x" * 7000)
    assert "1,000 characters longer than the limit of 6,000 characters" in chat.text
    assert "kept that part as it was" in chat.text
    await chat.tap("I'm done")
    await chat.send("/skip")
    assert "We crossed the sea at night." in chat.text  # the preview: the part as accepted
    await chat.tap("Submit my story")
    [story] = await stories(bot)
    assert await revisions(bot) == ["We crossed the sea at night."]
    assert story.id is not None


async def test_an_edit_counts_the_other_parts_too(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    await chat.send("a" * 5000, message_id="m-1")
    await chat.send("b" * 900, message_id="m-2")
    # 5,000 + 2 (the paragraph break) + 999 = 6,001: one character over.
    await chat.edit("m-2", "c" * 999)
    assert "1 character longer than the limit of 6,000 characters" in chat.text
    await chat.edit("m-2", "c" * 998)  # exactly at the limit: taken
    assert "updated that part" in chat.text
    await chat.tap("I'm done")
    await chat.send("/skip")
    await chat.tap("Submit my story")
    [text] = await revisions(bot)
    assert len(text) == LIMIT and text.endswith("c" * 998)


async def test_a_new_part_says_how_far_over_it_is(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    await chat.send("a" * 5000)
    await chat.send("b" * 1500)
    assert "502 characters longer than the limit of 6,000 characters" in chat.text
    assert "5,000 characters so far" not in chat.text  # nothing was added
    await chat.send("b" * 998)
    assert "6,000 characters so far" in chat.text


async def test_a_draft_over_a_lowered_limit_is_not_sent_and_not_lost(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    await chat.send("a" * 300)
    await chat.tap("I'm done")
    await chat.send("/skip")
    assert "Here is your story" in chat.text
    bot.settings.story_max_chars = 200  # the operator lowered it meanwhile
    await chat.tap("Submit my story")
    assert "100 characters longer than the limit of 200 characters" in chat.text
    assert "Nothing is lost" in chat.text and "📨 Submit my story" in chat.labels
    assert await stories(bot) == []
    await chat.tap("Add to or change the story")
    await chat.tap("I'm done")
    assert "100 characters longer than the limit of 200 characters" in chat.text
    bot.settings.story_max_chars = LIMIT
    await chat.tap("I'm done")  # back to the preview
    await chat.tap("Submit my story")
    assert await revisions(bot) == ["a" * 300]


async def test_a_draft_with_too_many_files_is_not_sent(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    for n in range(3):
        await chat.attach(MediaKind.PHOTO, f"photo-{n}", size=10_000)
    await chat.tap("I'm done")
    await chat.send("/skip")
    bot.settings.story_max_media = 2
    await chat.tap("Submit my story")
    assert "up to 2 files, and this one has 3" in chat.text
    assert await stories(bot) == []


async def asked_for_changes(bot: Bot, memory_sender: MemorySender) -> MemoryChat:
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    await chat.send("We left Aleppo in 2015 and live on Rose Street now.")
    await chat.tap("I'm done")
    await chat.send("/skip")
    await chat.tap("Submit my story")
    async with bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalar_one()
    assert item.id is not None
    outcome = await bot.review.act(
        Moderator(id="ana", role=Role.MODERATOR),
        ActionRequest(ReviewAction.CHANGES, item.id, item.version),
        text="Please remove the name of your street.",
    )
    assert outcome.ok, outcome.message
    while await bot.dispatcher.run_once():
        pass
    chat.last = [memory_sender.sent["amina"][-1]]
    await chat.tap("Revise my story")
    return chat


async def test_a_revision_past_the_limit_is_refused(bot: Bot, memory_sender: MemorySender) -> None:
    chat = await asked_for_changes(bot, memory_sender)
    await chat.send("x" * 7000)
    assert "1,000 characters longer than the limit of 6,000 characters" in chat.text
    await chat.send("We left Aleppo in 2015.", message_id="r-1")
    await chat.edit("r-1", "y" * 7000)  # editing the new version: the same limit
    assert "kept that part as it was" in chat.text
    await chat.attach(MediaKind.PHOTO, "photo-late")  # a new version is text only
    assert "files you sent before stay with it" in chat.text
    await chat.tap("I'm done")
    await chat.tap("Send the new version")
    assert "new version is with our team" in chat.text
    assert await revisions(bot) == [
        "We left Aleppo in 2015 and live on Rose Street now.",
        "We left Aleppo in 2015.",
    ]


async def test_a_revision_over_a_lowered_limit_goes_back_to_writing(
    bot: Bot, memory_sender: MemorySender
) -> None:
    chat = await asked_for_changes(bot, memory_sender)
    await chat.send("z" * 300)
    await chat.tap("I'm done")
    bot.settings.story_max_chars = 200
    await chat.tap("Send the new version")
    assert "100 characters longer than the limit of 200 characters" in chat.text
    assert "I'm done" in " ".join(chat.labels)  # back at the story step, draft kept
    assert len(await revisions(bot)) == 1


async def test_the_story_form_typed_as_a_command_submits_nothing(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="mallory")
    answers = {
        "consent": "c:yes",
        "is_adult": "c:yes",
        "credit_mode": "c:anonymous",
        "text": "A whole story in one message.",
    }
    await chat.send("/storyform " + json.dumps(answers))
    assert "don't know that command" in chat.text
    assert await stories(bot) == []


FORM_KEYS = itertools.count(1)


def form_inbound(user: str, answers: dict[str, str]) -> Inbound:
    """What the Slack adapter makes of a submitted story modal."""
    return Inbound(
        platform="memory",
        user_id=user,
        chat_id=user,
        key=f"form-{next(FORM_KEYS)}",
        kind=InboundKind.FORM,
        text=json.dumps(answers),
    )


async def test_the_form_holds_every_limit(bot: Bot) -> None:
    base = {"consent": "c:yes", "is_adult": "c:yes", "credit_mode": "c:full_name"}
    cases = [
        ({**base, "credit_name": "Amina Haddad", "text": "x" * 7000}, "1,000 characters longer"),
        ({**base, "credit_name": "A" * 61, "text": "Short."}, "up to 60 characters"),
        (
            {**base, "credit_name": "Amina", "text": "Short.", "community_message": "m" * 201},
            "up to 200 characters",
        ),
    ]
    for answers, problem in cases:
        replies = await bot.core.handle(form_inbound("amina", answers))
        assert problem in "\n".join(r.text for r in replies), answers
    assert await stories(bot) == []
    good = {**base, "credit_name": "Amina Haddad", "text": "x" * LIMIT}
    replies = await bot.core.handle(form_inbound("amina", good))
    assert "Thank you for trusting us" in "\n".join(r.text for r in replies)
    assert [len(t) for t in await revisions(bot)] == [LIMIT]


async def test_a_redaction_never_goes_past_the_limit(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    await chat.send("a" * LIMIT)
    await chat.tap("I'm done")
    await chat.send("/skip")
    await chat.tap("Submit my story")
    async with bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalar_one()
    assert item.id is not None
    ana = Moderator(id="ana", role=Role.MODERATOR)
    typed = await bot.review.act(
        ana, ActionRequest(ReviewAction.REDACT, item.id, item.version), text="b" * 7000
    )
    assert not typed.ok
    assert "1,000 characters longer than the limit of 6,000 characters" in typed.message
    # One character marked as "[…]" (three): two over the limit.
    marked = await bot.review.act(
        ana, ActionRequest(ReviewAction.REDACT, item.id, item.version), spans=[(0, 1)]
    )
    assert not marked.ok and "length limit" in marked.message
    shorter = await bot.review.act(
        ana, ActionRequest(ReviewAction.REDACT, item.id, item.version), spans=[(0, 10)]
    )
    assert shorter.ok, shorter.message
    texts = await revisions(bot)
    assert [len(t) for t in texts] == [LIMIT, LIMIT - 7]
    async with bot.deps.db.transaction() as session:
        count = (await session.execute(select(func.count()).select_from(Story))).scalar_one()
    assert count == 1
