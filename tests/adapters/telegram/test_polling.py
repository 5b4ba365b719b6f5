"""Long polling: start and stop, set-up failures, and direct replies with their faults."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr
from telegram.error import InvalidToken

from bot.adapters.telegram import TelegramAdapter
from bot.config import Settings
from bot.core.events import Choice, Inbound, Outgoing
from tests.adapters.telegram.conftest import UNLIMITED, RecordingCore, telegram_settings
from tests.fakes.telegram_api import FakeTelegramApi, keyboard_of, texts_sent


async def test_start_polls_and_stop_confirms_what_was_fetched(
    api: FakeTelegramApi, settings: Settings, recording_core: RecordingCore
) -> None:
    adapter = TelegramAdapter(
        telegram_settings(settings, api),
        recording_core,
        limits=UNLIMITED,
        command_menus={"": [("story", "Share your story")], "ja": [("story", "体験を話す")]},
    )
    await adapter.start()
    api.push(api.make.text(42, "one"), api.make.text(43, "two"))
    await recording_core.wait_for(lambda: len(recording_core.inbound) == 2)
    await adapter.stop()
    methods = [c.method for c in api.all_calls]
    assert methods[:4] == ["getMe", "setMyCommands", "setMyCommands", "deleteWebhook"]
    assert set(methods[4:]) == {"getUpdates"}
    last = api.calls("getUpdates")[-1]
    assert (last.params["offset"], last.params["timeout"]) == (3, 0)  # confirms 1 and 2
    assert api.pending_updates == 0
    assert api.calls("deleteWebhook")[0].params["drop_pending_updates"] is False


async def test_updates_in_hand_are_finished_at_stop(
    api: FakeTelegramApi, settings: Settings
) -> None:
    release = asyncio.Event()

    class Slow(RecordingCore):
        async def handle(self, inbound: Inbound) -> list[Outgoing]:
            await super().handle(inbound)
            await release.wait()
            return [Outgoing("done")]

    core = Slow()
    adapter = TelegramAdapter(telegram_settings(settings, api), core, limits=UNLIMITED)
    await adapter.start()
    update = api.make.text(42, "hello")
    api.push(update)
    await core.next_inbound(1)
    stopping = asyncio.create_task(adapter.stop())
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert texts_sent(api) == ["done"]
    # Confirmed only after it was handled and answered, never before.
    methods = [c.method for c in api.all_calls]
    last_poll = api.calls("getUpdates")[-1]
    assert methods[-1] == "getUpdates" and methods.index("sendMessage") < len(methods) - 1
    assert (last_poll.params["offset"], last_poll.params["timeout"]) == (
        update["update_id"] + 1,
        0,
    )
    assert all(
        c.params.get("offset", 0) <= update["update_id"] for c in api.calls("getUpdates")[:-1]
    )


async def test_a_bot_api_down_at_start_does_not_stop_the_app(
    api: FakeTelegramApi, settings: Settings, recording_core: RecordingCore
) -> None:
    api.fail("getMe", 502)
    adapter = TelegramAdapter(telegram_settings(settings, api), recording_core, limits=UNLIMITED)
    await adapter.start()  # returns: it keeps trying in the background
    try:
        await api.wait_for_call("getUpdates", within=5)
        api.push(api.make.text(42, "made it"))
        assert (await recording_core.next_inbound(1)).text == "made it"
    finally:
        await adapter.stop()


async def test_a_rejected_token_fails_the_start(
    api: FakeTelegramApi, settings: Settings, recording_core: RecordingCore
) -> None:
    wrong = telegram_settings(settings, api, telegram_bot_token=SecretStr("999:wrong"))
    adapter = TelegramAdapter(wrong, recording_core)
    with pytest.raises(InvalidToken) as raised:
        await adapter.start()
    await adapter.stop()
    assert "999:wrong" not in str(raised.value)  # PTB's own message quotes the token


async def test_replies_are_sent_in_order_and_a_callback_is_answered_first(
    api: FakeTelegramApi, polling: TelegramAdapter, recording_core: RecordingCore
) -> None:
    recording_core.reply = lambda inbound: [
        Outgoing("That button is no longer active."),
        Outgoing("What would you like to do?", choices=(Choice("menu:story", "Story"),)),
    ]
    api.push(api.make.callback(42, "old:button"))
    second = await api.wait_for_call("sendMessage", n=2)
    methods = [c.method for c in api.all_calls if c.method != "getUpdates"]
    assert methods[-3:] == ["answerCallbackQuery", "sendMessage", "sendMessage"]
    assert texts_sent(api) == ["That button is no longer active.", "What would you like to do?"]
    assert keyboard_of(second) == [[{"text": "Story", "callback_data": "menu:story"}]]


async def test_an_update_ptb_cannot_parse_is_skipped_not_fetched_forever(
    api: FakeTelegramApi,
    polling: TelegramAdapter,
    recording_core: RecordingCore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PTB's own Updater refetched such a batch in a tight loop, logging every body."""
    old_server_poll = api.make.poll(42)
    del old_server_poll["message"]["poll"]["allows_revoting"]  # required since Bot API 9.6
    old_server_poll["message"]["poll"]["question"] = "PRIVATE-WORDS"
    api.push(api.make.text(42, "before"), old_server_poll, api.make.text(42, "after"))
    await recording_core.wait_for(lambda: len(recording_core.inbound) == 2)
    await api.wait_idle()
    assert [i.text for i in recording_core.inbound] == ["before", "after"]
    assert len(api.calls("getUpdates")) <= 3
    skipped = [r for r in caplog.records if r.getMessage() == "telegram update could not be parsed"]
    assert [getattr(r, "update_id", None) for r in skipped] == [old_server_poll["update_id"]]
    assert "PRIVATE-WORDS" not in caplog.text


async def test_polling_survives_bot_api_errors(
    api: FakeTelegramApi, polling: TelegramAdapter, recording_core: RecordingCore
) -> None:
    await api.wait_for_call("getUpdates")
    api.fail("getUpdates", 502)
    api.push(api.make.text(42, "first"))  # wakes the waiting poll; the next one fails
    await recording_core.next_inbound(1)
    api.push(api.make.text(42, "after the outage"))
    assert (await recording_core.next_inbound(2)).text == "after the outage"
    assert 502 in [c.status for c in api.calls("getUpdates")]


async def test_download_a_file_a_person_sent(
    api: FakeTelegramApi, polling: TelegramAdapter
) -> None:
    api.add_file("voice-9", b"OggS" + b"\0" * 60)
    assert await polling.download("voice-9") == b"OggS" + b"\0" * 60
    with pytest.raises(ValueError, match="larger"):
        await polling.download("voice-9", max_bytes=10)


async def test_an_update_of_a_shape_telegram_never_sends_is_dropped_once(
    api: FakeTelegramApi,
    polling: TelegramAdapter,
    recording_core: RecordingCore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """As on the webhook: confirmed and dropped by id, never retried, never logged whole."""
    odd = api.make.text(42, "PRIVATE-WORDS")
    odd["message"]["chat"] = None
    api.push(api.make.text(42, "before"), odd, api.make.text(42, "after"))
    await recording_core.wait_for(lambda: len(recording_core.inbound) == 2)
    await api.wait_idle()
    assert [i.text for i in recording_core.inbound] == ["before", "after"]
    dropped = [r for r in caplog.records if "unknown shape" in r.getMessage()]
    assert [getattr(r, "update_id", None) for r in dropped] == [odd["update_id"]]
    assert "PRIVATE-WORDS" not in caplog.text
