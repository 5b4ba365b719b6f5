"""Crisis stories on a need-to-know basis, on Telegram: the safety team's group gets their
cards, the moderators' group at most a placeholder; nobody but a moderator with the right
role gets anything posted in either group (issue [6])."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Update

from bot.adapters.memory import MemoryChat
from bot.adapters.telegram.limits import SendLimiter
from bot.app import Bot
from bot.config import Settings
from bot.review.service import ActionRequest, ReviewAction
from moderation.reasons import ReasonCode
from storage.db import Database
from storage.models import ModerationItem, ModerationRefusal, Story, StoryState
from tests.adapters.telegram.conftest import UNLIMITED, telegram_settings
from tests.conftest import make_bot
from tests.fakes.telegram_api import Call, FakeTelegramApi, keyboard_of

GROUP = -100777
SAFETY = -100888
STRANGER, ANA, SOL = 999, 7, 10
CRISIS = "They took my passport and I work without pay in a house I cannot leave."
PLAIN = "I left Aleppo in 2015 with my mother. Today I study nursing in Osaka."
# What must never reach the moderators' group about a crisis story.
SECRETS = ("passport", "without pay", "Amina", "Syria", "Japan")
TEAM = {
    "ana": {"role": "moderator", "accounts": [f"telegram:{ANA}"]},
    "sol": {"role": "safety_moderator", "accounts": [f"telegram:{SOL}"]},
}


async def open_bot(settings: Settings, db: Database, api: FakeTelegramApi, **extra: Any) -> Bot:
    configured = telegram_settings(
        settings, api, telegram_moderation_chat_id=str(GROUP), moderators=TEAM, **extra
    )
    bot = await make_bot(configured, db)
    assert bot.telegram is not None
    bot.telegram.sender.limiter = SendLimiter(UNLIMITED)
    await bot.telegram.bot.initialize()
    return bot


@pytest.fixture
async def with_safety(settings: Settings, db: Database, api: FakeTelegramApi) -> AsyncIterator[Bot]:
    bot = await open_bot(settings, db, api, telegram_safety_chat_id=str(SAFETY))
    try:
        yield bot
    finally:
        assert bot.telegram is not None
        await bot.telegram.bot.shutdown()


@pytest.fixture
async def without_safety(
    settings: Settings, db: Database, api: FakeTelegramApi
) -> AsyncIterator[Bot]:
    bot = await open_bot(settings, db, api)
    try:
        yield bot
    finally:
        assert bot.telegram is not None
        await bot.telegram.bot.shutdown()


async def deliver(bot: Bot) -> None:
    while await bot.dispatcher.run_once():
        pass


async def submit(bot: Bot, text: str, user: str = "amina") -> int:
    """A story told in chat (named, with countries); returns its item id."""
    chat = MemoryChat(bot.core, user_id=user)
    await chat.send("/story")
    await chat.tap("My own migration story")
    await chat.tap("I agree")
    await chat.tap("Yes, I am 18")
    await chat.tap("first name")
    await chat.send("Amina")
    await chat.send("Syria")
    await chat.send("japan")
    await chat.send(text)
    await chat.tap("I'm done")
    await chat.send("/skip")
    await chat.tap("Submit my story")
    assert "Thank you for trusting us" in chat.text
    await deliver(bot)
    async with bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalars().all()[-1]
    assert item.id is not None
    return item.id


def in_chat(api: FakeTelegramApi, chat_id: int) -> list[Call]:
    """Every Bot API call that showed, changed or removed something in ``chat_id``."""
    return [c for c in api.all_calls if c.params.get("chat_id") == chat_id]


def said(calls: list[Call]) -> str:
    return "\n".join(str(c.params.get("text") or c.params.get("caption") or "") for c in calls)


def buttons(call: Call) -> dict[str, str]:
    return {
        b["text"]: b["callback_data"]
        for row in keyboard_of(call)
        for b in row
        if "callback_data" in b
    }


async def press(bot: Bot, api: FakeTelegramApi, user: int, data: str, chat: int) -> str:
    """Press a button in a group; returns what the button answered that person alone."""
    assert bot.telegram is not None
    payload = api.make.callback(user, data, message_id=1, chat=api.make.group_chat(chat))
    answers = len(api.calls("answerCallbackQuery"))
    await bot.telegram.process(Update.de_json(payload, bot.telegram.bot))
    await deliver(bot)
    assert len(api.calls("answerCallbackQuery")) == answers + 1
    return str(api.calls("answerCallbackQuery")[-1].params.get("text") or "")


async def item(bot: Bot, item_id: int) -> ModerationItem:
    async with bot.deps.db.transaction() as session:
        found = await session.get(ModerationItem, item_id)
    assert found is not None
    return found


async def test_a_crisis_story_goes_to_the_safety_group_only(
    with_safety: Bot, api: FakeTelegramApi
) -> None:
    await submit(with_safety, CRISIS)
    assert in_chat(api, GROUP) == []  # not even a placeholder: the safety group has it
    [card] = in_chat(api, SAFETY)
    assert card.method == "sendMessage" and "passport" in card.params["text"]
    assert "✅ Approve" in buttons(card)


async def test_without_a_safety_group_the_moderators_see_a_placeholder_only(
    without_safety: Bot, api: FakeTelegramApi
) -> None:
    await submit(without_safety, CRISIS)
    [placeholder] = in_chat(api, GROUP)
    assert placeholder.method == "sendMessage"
    assert "awaits the safety team" in placeholder.params["text"]
    assert not any(secret in placeholder.params["text"] for secret in SECRETS)
    assert "reply_markup" not in placeholder.params  # no buttons, no way in


async def test_cards_follow_a_story_into_and_out_of_the_safety_queue(
    with_safety: Bot, api: FakeTelegramApi
) -> None:
    bot = with_safety
    item_id = await submit(bot, PLAIN)
    [card] = in_chat(api, GROUP)
    assert "Aleppo" in card.params["text"]
    card_id = card.result["message_id"]

    assert "sent to the safety team" in await press(
        bot, api, ANA, buttons(card)["🆘 Escalate"], GROUP
    )
    after = in_chat(api, GROUP)[1:]
    # The full card is deleted (its photos would be too), a placeholder takes its place.
    assert [(c.method, c.params.get("message_id")) for c in after] == [
        ("sendMessage", None),
        ("deleteMessage", card_id),
    ] or [(c.method, c.params.get("message_id")) for c in after] == [
        ("deleteMessage", card_id),
        ("sendMessage", None),
    ]
    assert "awaits the safety team" in said(after) and "Aleppo" not in said(after)
    [safety_card] = in_chat(api, SAFETY)
    assert "Aleppo" in safety_card.params["text"] and "safety review" in safety_card.params["text"]

    # The safety team rejects it: the safety card says so; the group's placeholder too.
    mark = len(in_chat(api, GROUP))
    await press(bot, api, SOL, buttons(safety_card)["⛔ Reject"], SAFETY)
    question = in_chat(api, SAFETY)[-1]
    assert "Why is story" in question.params["text"]
    await press(bot, api, SOL, buttons(question)["Unsafe"], SAFETY)
    assert (await item(bot, item_id)).state == StoryState.REJECTED
    edits = [c for c in in_chat(api, SAFETY) if c.method == "editMessageText"]
    assert any("rejected" in c.params["text"] and "Aleppo" in c.params["text"] for c in edits)
    later = in_chat(api, GROUP)[mark:]
    assert "is with the safety team (rejected)" in said(later)
    assert not any(secret in said(later) for secret in ("Aleppo", "Osaka"))


async def test_a_story_approved_by_the_safety_team_is_shown_again(
    without_safety: Bot, api: FakeTelegramApi
) -> None:
    bot = without_safety
    item_id = await submit(bot, CRISIS)
    [placeholder] = in_chat(api, GROUP)
    current = await item(bot, item_id)
    outcome = await bot.review.act_from(
        "telegram", str(SOL), ActionRequest(ReviewAction.APPROVE, item_id, current.version)
    )
    assert outcome.ok, outcome.message
    await deliver(bot)
    edits = [c for c in in_chat(api, GROUP) if c.method == "editMessageText"]
    assert edits and edits[-1].params["message_id"] == placeholder.result["message_id"]
    assert "published" in edits[-1].params["text"] and "passport" in edits[-1].params["text"]


def every_button(item_id: int, version: int) -> list[str]:
    """Every action a card or a reason question can carry, for ``item_id``."""
    data = [ActionRequest(action, item_id, version).choice_id() for action in ReviewAction]
    for action in (ReviewAction.REJECT, ReviewAction.UNPUBLISH):
        data += [ActionRequest(action, item_id, version, c.value).choice_id() for c in ReasonCode]
    return data


async def test_a_stranger_pressing_any_button_gets_nothing_posted(
    with_safety: Bot, api: FakeTelegramApi
) -> None:
    bot = with_safety
    plain = await submit(bot, PLAIN, user="amina")
    crisis = await submit(bot, CRISIS, user="omar")
    before = {GROUP: len(in_chat(api, GROUP)), SAFETY: len(in_chat(api, SAFETY))}
    pressed = 0
    for chat, item_id in ((GROUP, plain), (SAFETY, crisis)):
        version = (await item(bot, item_id)).version
        for data in every_button(item_id, version):
            answer = await press(bot, api, STRANGER, data, chat)
            assert answer == "Only moderators can do this.", data
            pressed += 1
    assert {GROUP: len(in_chat(api, GROUP)), SAFETY: len(in_chat(api, SAFETY))} == before
    assert [c.params["show_alert"] for c in api.calls("answerCallbackQuery")] == [True] * pressed
    assert (await item(bot, plain)).state == StoryState.PENDING_REVIEW
    assert (await item(bot, crisis)).state == StoryState.SAFETY_REVIEW
    async with bot.deps.db.transaction() as session:
        refusals = (await session.execute(select(ModerationRefusal))).scalars().all()
    assert len(refusals) == pressed and {r.refusal for r in refusals} == {"unknown_moderator"}

    # /queue from a stranger: nothing in the group either.
    assert bot.telegram is not None
    command = api.make.message(STRANGER, chat=api.make.group_chat(GROUP), text="/queue")
    await bot.telegram.process(Update.de_json(command, bot.telegram.bot))
    assert len(in_chat(api, GROUP)) == before[GROUP]


async def test_a_plain_moderator_is_refused_in_the_safety_group_and_on_safety_actions(
    with_safety: Bot, api: FakeTelegramApi
) -> None:
    bot = with_safety
    crisis = await submit(bot, CRISIS, user="omar")
    plain = await submit(bot, PLAIN, user="amina")
    version = (await item(bot, crisis)).version
    before = len(in_chat(api, SAFETY))
    for data in every_button(crisis, version):
        answer = await press(bot, api, ANA, data, SAFETY)
        assert answer == "Your role does not allow this action on this story.", data
    assert len(in_chat(api, SAFETY)) == before

    # Take down is for the safety team: no reason question for Ana in the group either.
    current = await item(bot, plain)
    outcome = await bot.review.act_from(
        "telegram", str(SOL), ActionRequest(ReviewAction.APPROVE, plain, current.version)
    )
    assert outcome.ok
    await deliver(bot)
    published = await item(bot, plain)
    assert published.state == StoryState.PUBLISHED
    before = len(in_chat(api, GROUP))
    take_down = ActionRequest(ReviewAction.UNPUBLISH, plain, published.version).choice_id()
    answer = await press(bot, api, ANA, take_down, GROUP)
    assert answer == "Your role does not allow this action on this story."
    assert len(in_chat(api, GROUP)) == before
    # Sol may: the reason question is asked in the group.
    await press(bot, api, SOL, take_down, GROUP)
    assert "Why is story" in in_chat(api, GROUP)[-1].params["text"]


async def test_the_story_form_typed_in_a_private_chat_submits_nothing(
    without_safety: Bot, api: FakeTelegramApi
) -> None:
    bot = without_safety
    assert bot.telegram is not None
    answers = {
        "consent": "c:yes",
        "is_adult": "c:yes",
        "credit_mode": "c:anonymous",
        "text": "A whole story in one message, past every question.",
    }
    update = api.make.command(42, "storyform", json.dumps(answers))
    await bot.telegram.process(Update.de_json(update, bot.telegram.bot))
    await deliver(bot)
    replies = [c for c in api.calls("sendMessage") if c.params["chat_id"] == 42]
    assert replies and "don't know that command" in said(replies)
    async with bot.deps.db.transaction() as session:
        assert (await session.execute(select(Story))).first() is None
