"""Readers' thanks on the moderators' Slack channel: a card with Pass / Reject, decided
by a moderator's click once, and every card of a thank-you (Slack, Telegram) edited in
place with the outcome wherever it was decided (the dashboard, the group, the channel)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from bot.adapters.memory import MemoryChat, MemorySender
from bot.adapters.telegram.limits import SendLimiter
from bot.app import Bot, create_app
from bot.config import Settings
from bot.core.events import Outgoing
from bot.review.thanks import Verdict
from storage.db import Database
from storage.models import OutboxMessage, ThanksState
from storage.outbox import DueMessage
from tests.adapters.slack.conftest import MOD_CHANNEL, Workspace, slack_settings
from tests.adapters.slack.test_moderation_channel import card_button, card_update, click, told
from tests.adapters.slack.test_reading import published_story
from tests.adapters.telegram.conftest import UNLIMITED, telegram_settings
from tests.adapters.telegram.test_moderation_group import GROUP, buttons, press
from tests.conftest import make_bot
from tests.fakes.slack_api import Call, FakeSlackApi, SlackRequests, buttons_of, texts_of
from tests.fakes.telegram_api import FakeTelegramApi, keyboard_of
from tests.handlers.test_thanks import (
    ANA,
    erase_my_data,
    only_thanks,
    published,
    reader,
    thank,
)
from tests.web.helpers import deliver


def shown(call: Call) -> str:
    return "\n".join(texts_of(call)[1:])


async def thanks_card(workspace: Workspace) -> Call:
    """A reader thanks a published story; its card in the channel, once its ts is known."""
    story_id = await published_story(workspace)
    await thank(reader(workspace.bot), story_id)

    def cards() -> list[Call]:
        return [
            c
            for c in workspace.api.calls("chat.postMessage", ok_only=True)
            if c.params["channel"] == MOD_CHANNEL and "Thank-you #" in shown(c)
        ]

    # Its ts is recorded: a decision edits it.
    await workspace.sent.wait_for(
        lambda due: "thanks_card" in due.payload and due.chat_id == MOD_CHANNEL
    )
    [card] = cards()
    return card


def updates_of(api: FakeSlackApi, card: Call) -> list[Call]:
    """The ``chat.update`` calls that edited ``card``."""
    assert card.result is not None
    return [
        c for c in api.calls("chat.update", ok_only=True) if c.params["ts"] == card.result["ts"]
    ]


async def test_a_thanks_card_is_passed_from_the_channel_once(workspace: Workspace) -> None:
    card = await thanks_card(workspace)
    text = shown(card)
    assert "Thank-you #1 for story #1" in text and "— Kenji" in text
    assert "Kenji Tanaka" not in text  # the reader's platform name never shows
    assert {b["text"]["text"]: b["value"] for b in buttons_of(card)} == {
        "✅ Pass": "thx:pass:1",
        "⛔ Reject": "thx:reject:1",
    }
    memory = workspace.bot.dispatcher.senders["memory"]
    assert isinstance(memory, MemorySender)

    await click(workspace, "U0ANA", card, "Pass")
    assert "is passed and on its way to the storyteller" in await told(workspace, "U0ANA")
    updated = await card_update(workspace, card, lambda t: "Passed by ana." in t)
    assert buttons_of(updated) == [] and "— Kenji" not in shown(updated)
    await workspace.sent.wait_for(lambda due: "thanks" in due.payload)  # to the storyteller
    assert "— Kenji" in memory.sent["amina"][-1].text

    # Ben clicks the card as he still saw it: told who was first, nothing changes.
    await click(workspace, "U0BEN", card, "Reject")
    assert "already passed by ana" in await told(workspace, "U0BEN")
    assert (await only_thanks(workspace.bot)).state in (ThanksState.PASSED, ThanksState.DELIVERED)
    assert len(updates_of(workspace.api, card)) == 1


async def test_a_non_moderator_click_on_a_thanks_card_changes_nothing(
    workspace: Workspace,
) -> None:
    card = await thanks_card(workspace)
    workspace.user("U0EVE")
    await click(workspace, "U0EVE", card, "Pass")
    assert await told(workspace, "U0EVE") == "Only moderators can do this."
    await click(workspace, "U0EVE", card, "Reject")
    assert await told(workspace, "U0EVE", 2) == "Only moderators can do this."
    thanks = await only_thanks(workspace.bot)
    assert thanks.state == ThanksState.PENDING and thanks.decided_by is None
    await workspace.bot.dispatcher.run_once()
    assert updates_of(workspace.api, card) == []
    async with workspace.bot.deps.db.transaction() as session:
        keys = (await session.execute(select(OutboxMessage.dedupe_key))).scalars().all()
    assert not [k for k in keys if k.startswith("thanks:")]  # nothing for the storyteller
    # A moderator still decides it, on the same card.
    await click(workspace, "U0ANA", card, "Reject")
    assert "is rejected" in await told(workspace, "U0ANA")
    await card_update(workspace, card, lambda t: "Rejected by ana." in t)


async def test_a_decision_on_the_dashboard_refreshes_the_slack_card(
    workspace: Workspace,
) -> None:
    card = await thanks_card(workspace)
    # What the dashboard's thanks page does: the same desk, from the web.
    outcome = await workspace.bot.thanks.decide(ANA, 1, Verdict.REJECT)
    assert outcome.ok
    updated = await card_update(workspace, card, lambda t: "Rejected by ana." in t)
    assert buttons_of(updated) == [] and "Thank-you #1 for story #1" in shown(updated)


# -- both moderators' chats: a Telegram group and a Slack channel -----------------------------
@dataclass
class Both:
    bot: Bot
    slack: FakeSlackApi
    telegram: FakeTelegramApi
    http: httpx.AsyncClient
    make: SlackRequests


@pytest.fixture
async def tg_api() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi() as fake:
        yield fake


@pytest.fixture
async def both(
    settings: Settings, db: Database, api: FakeSlackApi, tg_api: FakeTelegramApi
) -> AsyncIterator[Both]:
    """The bot with both surfaces; the test runs the outbox itself."""
    team = {
        "ana": {"role": "moderator", "accounts": ["telegram:7", "slack:U0ANA"]},
        "ben": {"role": "moderator", "accounts": ["telegram:8", "slack:U0BEN"]},
    }
    configured = telegram_settings(
        slack_settings(settings, api, slack_moderation_channel=MOD_CHANNEL),
        tg_api,
        telegram_moderation_chat_id=str(GROUP),
        moderators=team,
    )
    bot = await make_bot(configured, db)
    assert bot.telegram is not None and bot.slack is not None
    bot.telegram.sender.limiter = SendLimiter(UNLIMITED)
    await bot.telegram.bot.initialize()
    transport = httpx.ASGITransport(app=create_app(bot, migrate=False))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Both(bot, api, tg_api, http, SlackRequests())
    finally:
        await bot.telegram.bot.shutdown()


async def cards_on_both(both: Both) -> tuple[Call, dict[str, str], int]:
    """A thank-you's cards: Slack's, and the Telegram card's buttons and message id."""
    story_id = await published(both.bot)
    await thank(reader(both.bot), story_id)
    await deliver(both.bot)
    [slack_card] = [
        c
        for c in both.slack.calls("chat.postMessage", ok_only=True)
        if c.params["channel"] == MOD_CHANNEL and "Thank-you #" in shown(c)
    ]
    [tg_card] = [
        c
        for c in both.telegram.calls("sendMessage", ok_only=True)
        if c.params["chat_id"] == GROUP and "Thank-you #" in c.params["text"]
    ]
    return slack_card, buttons(tg_card), int(tg_card.result["message_id"])


def telegram_edits(both: Both, message_id: int) -> list[Call]:
    return [
        c
        for c in both.telegram.calls("editMessageText", ok_only=True)
        if c.params["message_id"] == message_id
    ]


async def test_a_thanks_card_decided_on_slack_is_refreshed_on_telegram(both: Both) -> None:
    slack_card, _data, message_id = await cards_on_both(both)
    assert card_button(slack_card, "Pass")["value"] == "thx:pass:1"
    assert slack_card.result is not None
    body, headers = both.make.button(
        "U0ANA",
        card_button(slack_card, "Pass"),
        channel=MOD_CHANNEL,
        message_ts=str(slack_card.result["ts"]),
    )
    response = await both.http.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 200
    assert both.bot.slack is not None
    await both.bot.slack.drain()
    await deliver(both.bot)
    [edit] = telegram_edits(both, message_id)
    assert "Passed by ana." in edit.params["text"] and not keyboard_of(edit)
    [update] = updates_of(both.slack, slack_card)
    assert "Passed by ana." in shown(update) and buttons_of(update) == []


async def test_a_thanks_card_decided_on_telegram_is_refreshed_on_slack(both: Both) -> None:
    slack_card, data, message_id = await cards_on_both(both)
    await press(both.bot, both.telegram, 8, data["⛔ Reject"], message_id)
    assert "is rejected" in both.telegram.calls("answerCallbackQuery")[-1].params["text"]
    await deliver(both.bot)
    [update] = updates_of(both.slack, slack_card)
    assert "Rejected by ben." in shown(update) and buttons_of(update) == []
    [edit] = telegram_edits(both, message_id)
    assert "Rejected by ben." in edit.params["text"] and not keyboard_of(edit)


async def test_a_card_sent_while_it_was_decided_is_edited_once_known(both: Both) -> None:
    """Decided between its rendering and its sending: the decision's refresh found no card
    to edit (its message id was not known yet), so the card is edited once it is."""
    story_id = await published(both.bot)
    await thank(reader(both.bot), story_id)
    dispatcher = both.bot.dispatcher
    render, decided = dispatcher.renderer, []

    async def decided_meanwhile(due: DueMessage) -> Outgoing | None:
        message = await render(due)
        if "thanks_card" in due.payload and not decided:
            decided.append(await both.bot.thanks.decide(ANA, 1, Verdict.PASS))
        return message

    dispatcher.renderer = decided_meanwhile
    await deliver(both.bot)
    assert decided and decided[0].ok
    tg_cards = [
        c
        for c in both.telegram.calls("sendMessage", ok_only=True)
        if c.params["chat_id"] == GROUP and "Thank-you #" in c.params["text"]
    ]
    slack_cards = [
        c for c in both.slack.calls("chat.postMessage", ok_only=True) if "Thank-you #" in shown(c)
    ]
    assert tg_cards or slack_cards  # the one rendered first was posted, with its buttons
    for card in tg_cards:
        [edit] = telegram_edits(both, card.result["message_id"])
        assert "Passed by ana." in edit.params["text"] and not keyboard_of(edit)
    for card in slack_cards:
        [update] = updates_of(both.slack, card)
        assert "Passed by ana." in shown(update) and buttons_of(update) == []


async def test_a_reader_s_erasure_takes_their_words_off_the_cards(workspace: Workspace) -> None:
    card = await thanks_card(workspace)
    chat = reader(workspace.bot)  # the reader who sent it, erasing their data
    await erase_my_data(chat)
    updated = await card_update(workspace, card, lambda t: "no longer exists" in t)
    assert shown(updated) == "Thank-you #1 no longer exists."
    assert buttons_of(updated) == [] and "Kenji" not in str(updated.params)


async def test_a_storyteller_s_erasure_takes_the_thanks_off_the_cards(
    workspace: Workspace,
) -> None:
    card = await thanks_card(workspace)
    await erase_my_data(MemoryChat(workspace.bot.core, user_id="amina"))  # the storyteller
    updated = await card_update(workspace, card, lambda t: "no longer exists" in t)
    assert buttons_of(updated) == [] and "Kenji" not in str(updated.params)
