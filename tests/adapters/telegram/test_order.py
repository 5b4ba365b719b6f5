"""One chat's updates in order, others concurrently: the real core keeps the order
(the adapter keeps none of its own), through long polling against the fake Bot API."""

from __future__ import annotations

import asyncio

from bot.adapters.telegram import TelegramAdapter
from bot.app import Bot
from bot.config import Settings
from bot.core.dialog import DialogEngine
from bot.core.events import MediaRef
from bot.core.media import MediaIntake
from bot.core.router import Router
from bot.core.service import BotCore
from bot.core.turn import Turn
from tests.adapters.telegram.conftest import UNLIMITED, telegram_settings
from tests.fakes.telegram_api import FakeTelegramApi, texts_sent
from tests.media_samples import jpeg_with_gps


async def test_one_chat_in_order_while_other_chats_go_on(
    api: FakeTelegramApi, settings: Settings, bot: Bot
) -> None:
    """Alice's photo downloads slowly (outside any transaction, under her conversation's
    lock): her next messages wait for it, Bob's go on, and the polling never stops."""
    release = asyncio.Event()
    handled: list[tuple[str, str | None]] = []
    changed = asyncio.Condition()

    async def note(turn: Turn) -> None:
        inbound = turn.inbound
        async with changed:
            handled.append((inbound.user_id, inbound.text or inbound.kind.value))
            changed.notify_all()
        turn.say(f"re:{inbound.text or inbound.kind.value}")

    async def slow_photo(ref: MediaRef, max_bytes: int) -> bytes:
        await release.wait()
        return jpeg_with_gps()

    intake = MediaIntake(bot.deps.media, bot.deps.hasher, max_bytes=1_000_000)
    intake.add_fetcher("telegram", slow_photo)
    core = BotCore(bot.deps, Router(DialogEngine({}), fallback=note, stale=note), media=intake)
    adapter = TelegramAdapter(telegram_settings(settings, api), core, limits=UNLIMITED)
    await adapter.start()
    try:
        api.push(api.make.photo(1), *(api.make.text(1, f"a{i}") for i in range(1, 3)))
        api.push(*(api.make.text(2, f"b{i}") for i in range(3)))
        async with asyncio.timeout(5), changed:
            # Bob's three are handled while Alice's photo is still downloading.
            await changed.wait_for(lambda: len(handled) == 3)
        assert handled == [("2", "b0"), ("2", "b1"), ("2", "b2")]
        release.set()
        async with asyncio.timeout(5), changed:
            await changed.wait_for(lambda: len(handled) == 6)
        await core.drain()
    finally:
        await adapter.stop()
    assert [text for user, text in handled if user == "1"] == ["media", "a1", "a2"]
    assert texts_sent(api, 1) == ["re:media", "re:a1", "re:a2"]
