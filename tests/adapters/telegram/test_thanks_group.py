"""Readers' thanks in the moderators' Telegram group: a card, Pass in one click, once."""

from __future__ import annotations

from bot.adapters.memory import MemorySender
from bot.app import Bot
from storage.models import ThanksState
from tests.adapters.telegram.test_moderation_group import (  # noqa: F401 - fixtures
    GROUP,
    api,
    buttons,
    press,
    tbot,
)
from tests.fakes.telegram_api import FakeTelegramApi, keyboard_of
from tests.handlers.test_thanks import READER_NAME, only_thanks, published, reader, thank
from tests.web.helpers import deliver


async def test_a_thanks_card_is_passed_from_the_group_and_reaches_the_storyteller(
    tbot: Bot,  # noqa: F811 - the fixtures imported above
    api: FakeTelegramApi,  # noqa: F811
) -> None:
    story_id = await published(tbot)
    await thank(reader(tbot), story_id)
    await deliver(tbot)
    cards = [
        c
        for c in api.calls("sendMessage", ok_only=True)
        if c.params["chat_id"] == GROUP and "Thank-you #" in c.params["text"]
    ]
    assert len(cards) == 1
    card = cards[0]
    text = card.params["text"]
    assert f"for story #{story_id}" in text and "— Kenji" in text
    assert READER_NAME not in text and "parse_mode" not in card.params
    data = buttons(card)
    assert set(data) == {"✅ Pass", "⛔ Reject"}
    assert all(len(d.encode()) <= 64 for d in data.values())
    message_id = card.result["message_id"]

    # A stranger's click changes nothing and is answered to them alone.
    await press(tbot, api, 999, data["✅ Pass"], message_id)
    refused = api.calls("answerCallbackQuery")[-1]
    assert refused.params["show_alert"] is True and "Only moderators" in refused.params["text"]
    assert (await only_thanks(tbot)).state == ThanksState.PENDING
    assert not [c for c in api.calls("editMessageText") if c.params["message_id"] == message_id]

    memory = tbot.dispatcher.senders["memory"]
    assert isinstance(memory, MemorySender)
    before = len(memory.sent["amina"])
    await press(tbot, api, 7, data["✅ Pass"], message_id)
    answer = api.calls("answerCallbackQuery")[-1]
    assert "passed" in answer.params["text"]
    await deliver(tbot)  # the card is edited through the outbox, as on every surface
    [edit] = [c for c in api.calls("editMessageText") if c.params["message_id"] == message_id]
    assert "Passed by ana." in edit.params["text"] and not keyboard_of(edit)
    assert "— Kenji" not in edit.params["text"]
    [message] = memory.sent["amina"][before:]
    assert "— Kenji" in message.text
    assert (await only_thanks(tbot)).state == ThanksState.DELIVERED

    # Ben's click on the same card a moment later: told who was first, nothing sent twice.
    await press(tbot, api, 8, data["⛔ Reject"], message_id)
    late = api.calls("answerCallbackQuery")[-1]
    assert late.params["show_alert"] is True and "already passed by ana" in late.params["text"]
    await deliver(tbot)
    assert len(memory.sent["amina"]) == before + 1

    await press(tbot, api, 7, "thx:pass:1; DROP TABLE thanks", message_id)
    assert "no longer valid" in api.calls("answerCallbackQuery")[-1].params["text"]
