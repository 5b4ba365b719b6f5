"""Fixtures: the fake Bot API on loopback and the adapter pointed at it.

``recording_core`` is a stand-in for the core only where the core is not the subject
(which ``Inbound`` a Telegram update becomes); the end-to-end tests use the real one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from pydantic import SecretStr

from bot.adapters.telegram import TelegramAdapter
from bot.adapters.telegram.limits import TelegramLimits
from bot.config import Settings
from bot.core.delivery import Sender, Unreachable
from bot.core.events import Inbound, Outgoing
from bot.core.locks import KeyedLocks
from bot.core.replies import Handled
from tests.fakes.telegram_api import FakeTelegramApi

# Fast limits so tests about other things never wait on them.
UNLIMITED = TelegramLimits(
    overall_per_second=10_000,
    overall_burst=10_000,
    private_per_second=10_000,
    private_burst=10_000,
    group_per_minute=600_000,
    group_burst=10_000,
)


class RecordingCore:
    """Records what the adapter hands to the core; answers with ``reply(inbound)``."""

    def __init__(self, reply: Callable[[Inbound], list[Outgoing]] | None = None) -> None:
        self.reply = reply or (lambda inbound: [])
        self.inbound: list[Inbound] = []
        self.reachability: list[tuple[str, str, bool]] = []
        self._changed = asyncio.Condition()
        self._locks = KeyedLocks()

    async def handle(self, inbound: Inbound) -> list[Outgoing]:
        self.inbound.append(inbound)
        async with self._changed:
            self._changed.notify_all()
        return self.reply(inbound)

    async def accept(
        self, inbound: Inbound, sender: Sender | None = None, *, patient: bool = False
    ) -> Handled:
        """Sends the replies in order before returning, nothing stored: the real core's
        ordering, delivery and admission are tested with the real core."""
        handled = Handled(inbound, tuple(await self.handle(inbound)))
        for reply in handled.replies if sender is not None else ():
            try:
                await sender.send(inbound.chat_id, reply)
            except Unreachable:
                await self.set_reachable(inbound.platform, inbound.user_id, False)
                break
        return handled

    def ordered(self, key: str) -> AbstractAsyncContextManager[None]:
        return self._locks.hold(key)

    async def drain(self) -> None:
        return None

    async def set_reachable(self, platform: str, user_id: str, reachable: bool) -> None:
        self.reachability.append((platform, user_id, reachable))
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    async def next_inbound(self, n: int) -> Inbound:
        """The n-th inbound event (1-based), once it has arrived."""
        await self.wait_for(lambda: len(self.inbound) >= n)
        return self.inbound[n - 1]


def telegram_settings(base: Settings, api: FakeTelegramApi, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": SecretStr(api.token),
        "telegram_api_base_url": api.base_url,
        **changes,
    }
    if isinstance(values.get("telegram_webhook_secret"), str):
        values["telegram_webhook_secret"] = SecretStr(values["telegram_webhook_secret"])
    return base.model_copy(update=values)


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi() as fake:
        yield fake


@pytest.fixture
def recording_core() -> RecordingCore:
    return RecordingCore()


@pytest.fixture
async def polling(
    api: FakeTelegramApi, settings: Settings, recording_core: RecordingCore
) -> AsyncIterator[TelegramAdapter]:
    """A started adapter in long-polling mode, with the recording core."""
    adapter = TelegramAdapter(
        telegram_settings(settings, api, telegram_moderation_chat_id="-100500"),
        recording_core,
        limits=UNLIMITED,
        request_timeout=2.0,
        poll_timeout=5.0,
    )
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.stop()
