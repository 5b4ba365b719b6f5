"""The moderators' Telegram group: a card per story, decided by a button, edited in place."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from telegram import Update

from bot.adapters.memory import MemoryChat
from bot.adapters.telegram.limits import SendLimiter
from bot.app import Bot
from bot.config import Settings
from storage.db import Database
from storage.models import ModerationRefusal, Story, StoryState
from tests.adapters.telegram.conftest import UNLIMITED, telegram_settings
from tests.conftest import make_bot
from tests.fakes.telegram_api import FakeTelegramApi, keyboard_of
from tests.handlers.test_story_flow import tell_story

GROUP = -100777


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi() as fake:
        yield fake


@pytest.fixture
async def tbot(settings: Settings, db: Database, api: FakeTelegramApi) -> AsyncIterator[Bot]:
    configured = telegram_settings(
        settings,
        api,
        telegram_moderation_chat_id=str(GROUP),
        moderators={
            "ana": {"role": "moderator", "accounts": ["telegram:7"]},
            "ben": {"role": "moderator", "accounts": ["telegram:8"]},
        },
    )
    bot = await make_bot(configured, db)
    assert bot.telegram is not None
    # Group sends are limited to 20 a minute; these tests are about something else.
    bot.telegram.sender.limiter = SendLimiter(UNLIMITED)
    await bot.telegram.bot.initialize()
    try:
        yield bot
    finally:
        await bot.telegram.bot.shutdown()


async def press(bot: Bot, api: FakeTelegramApi, user_id: int, data: str, message_id: int) -> None:
    assert bot.telegram is not None
    payload = api.make.callback(
        user_id, data, message_id=message_id, chat=api.make.group_chat(GROUP)
    )
    await bot.telegram.process(Update.de_json(payload, bot.telegram.bot))


async def submit_story(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="amina")
    await tell_story(chat)
    await chat.tap("Submit")
    while await bot.dispatcher.run_once():
        pass


def buttons(call: object) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for row in keyboard_of(call) for b in row}  # type: ignore[arg-type]


async def test_a_card_is_posted_and_approved_from_the_group(
    tbot: Bot, api: FakeTelegramApi
) -> None:
    await submit_story(tbot)
    cards = [c for c in api.calls("sendMessage", ok_only=True) if c.params["chat_id"] == GROUP]
    assert len(cards) == 1
    card = cards[0]
    assert "Story #1" in card.params["text"] and "parse_mode" not in card.params
    data = buttons(card)
    assert all(len(d.encode()) <= 64 for d in data.values())
    message_id = card.result["message_id"]

    await press(tbot, api, 7, data["✅ Approve"], message_id)
    answer = api.calls("answerCallbackQuery")[-1]
    assert "approved" in answer.params["text"]
    while await tbot.dispatcher.run_once():
        pass
    async with tbot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
    assert story.state == StoryState.PUBLISHED
    edits = [c for c in api.calls("editMessageText") if c.params["message_id"] == message_id]
    assert (
        edits and "published" in edits[-1].params["text"] and "By ana" in edits[-1].params["text"]
    )

    # Ben presses the stale Approve button on the old card: told who was first.
    await press(tbot, api, 8, data["✅ Approve"], message_id)
    late = api.calls("answerCallbackQuery")[-1]
    # Named after the moderator, not the publishing worker that came after her.
    assert late.params["show_alert"] is True and "already handled by ana" in late.params["text"]


async def test_reject_asks_for_a_reason_first(tbot: Bot, api: FakeTelegramApi) -> None:
    await submit_story(tbot)
    card = next(c for c in api.calls("sendMessage", ok_only=True) if c.params["chat_id"] == GROUP)
    await press(tbot, api, 7, buttons(card)["⛔ Reject"], card.result["message_id"])
    question = api.calls("sendMessage")[-1]
    assert "Why is story #1 rejected?" in question.params["text"]
    reasons = buttons(question)
    await press(tbot, api, 7, reasons["Off topic"], question.result["message_id"])
    async with tbot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
    assert story.state == StoryState.REJECTED


async def test_strangers_and_forged_buttons_are_refused(tbot: Bot, api: FakeTelegramApi) -> None:
    await submit_story(tbot)
    card = next(c for c in api.calls("sendMessage", ok_only=True) if c.params["chat_id"] == GROUP)
    message_id = card.result["message_id"]
    await press(tbot, api, 999, buttons(card)["✅ Approve"], message_id)
    assert "Only moderators" in api.calls("answerCallbackQuery")[-1].params["text"]
    await press(tbot, api, 7, "mod:approve:1:999", message_id)  # a forged version
    assert api.calls("answerCallbackQuery")[-1].params["show_alert"] is True
    await press(tbot, api, 7, "mod:approve:1; DROP TABLE story", message_id)
    assert "no longer valid" in api.calls("answerCallbackQuery")[-1].params["text"]
    async with tbot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
        refusals = (await session.execute(select(ModerationRefusal))).scalars().all()
    assert story.state == StoryState.PENDING_REVIEW
    assert [r.refusal for r in refusals] == ["unknown_moderator"]


async def test_queue_counts(tbot: Bot, api: FakeTelegramApi) -> None:
    await submit_story(tbot)
    assert tbot.telegram is not None
    payload = api.make.message(7, chat=api.make.group_chat(GROUP), text="/queue")
    await tbot.telegram.process(Update.de_json(payload, tbot.telegram.bot))
    assert "PENDING_REVIEW: 1" in api.calls("sendMessage")[-1].params["text"]


async def test_approved_story_is_posted_to_the_channel_and_taken_down_everywhere(
    settings: Settings, db: Database, api: FakeTelegramApi
) -> None:
    configured = telegram_settings(
        settings,
        api,
        telegram_moderation_chat_id=str(GROUP),
        telegram_public_channel_id="-100555",
        moderators={"lea": {"role": "lead", "accounts": ["telegram:9"]}},
    )
    bot = await make_bot(configured, db)
    assert bot.telegram is not None
    bot.telegram.sender.limiter = SendLimiter(UNLIMITED)
    await bot.telegram.bot.initialize()
    try:
        await submit_story(bot)
        card = next(
            c for c in api.calls("sendMessage", ok_only=True) if c.params["chat_id"] == GROUP
        )
        await press(bot, api, 9, buttons(card)["✅ Approve"], card.result["message_id"])
        while await bot.dispatcher.run_once():
            pass
        posts = [
            c for c in api.calls("sendMessage", ok_only=True) if c.params["chat_id"] == -100555
        ]
        assert len(posts) == 1
        post = posts[0].params["text"]
        assert "Today I study nursing in Osaka." in post
        assert "— Amina, from Syria, living in Japan" in post  # credited as chosen: first name
        edited = [c for c in api.calls("editMessageText") if c.params["chat_id"] == GROUP]
        await press(bot, api, 9, buttons(edited[-1])["🗑 Take down"], card.result["message_id"])
        question = api.calls("sendMessage")[-1]
        await press(bot, api, 9, buttons(question)["Personal data"], question.result["message_id"])
        while await bot.dispatcher.run_once():
            pass
        deleted = [c for c in api.calls("deleteMessage") if c.params["chat_id"] == -100555]
        assert [c.params["message_id"] for c in deleted] == [posts[0].result["message_id"]]
        async with bot.deps.db.transaction() as session:
            story = (await session.execute(select(Story))).scalar_one()
        assert story.state == StoryState.UNPUBLISHED
    finally:
        await bot.telegram.bot.shutdown()
