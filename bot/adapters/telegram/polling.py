"""Long polling, one update parsed at a time.

python-telegram-bot's ``Updater`` parses a whole ``getUpdates`` batch at once: one update
it cannot parse (a Bot API-compatible server that lacks a field PTB now requires) fails
the batch, is logged at CRITICAL *with every message body in it*, and is fetched again
at once, forever. Here each update is parsed on its own; one that cannot be is logged by
id and confirmed, and the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Bot, Update
from telegram import error as tg

from bot.adapters.telegram.periods import seconds

log = logging.getLogger(__name__)

UpdateSink = Callable[[Update, dict[str, Any]], Awaitable[None]]
MAX_BACKOFF = 30.0


class RawUpdatesBot(Bot):
    """A ``Bot`` that can also fetch updates as the JSON Telegram sent."""

    async def get_raw_updates(
        self,
        offset: int,
        long_poll: int,
        allowed_updates: Sequence[str],
        read_timeout: float,
    ) -> list[Any]:
        """``getUpdates``; ``long_poll`` is Telegram's ``timeout`` (seconds to wait)."""
        data = {"offset": offset, "timeout": long_poll, "allowed_updates": list(allowed_updates)}
        result = await self._post("getUpdates", data, read_timeout=read_timeout + long_poll)
        return result if isinstance(result, list) else []


class Poller:
    """Fetches updates in order and hands each to ``sink`` (which may wait: backpressure).

    Args:
        bot: the bot to poll with.
        sink: takes one parsed update and its JSON.
        allowed_updates: the update types to ask for.
        timeout: the long-poll timeout in seconds.
        read_timeout: added to ``timeout`` for the HTTP read.
    """

    def __init__(
        self,
        bot: RawUpdatesBot,
        sink: UpdateSink,
        *,
        allowed_updates: Sequence[str],
        timeout: int = 10,
        read_timeout: float = 10.0,
    ) -> None:
        self.bot = bot
        self.sink = sink
        self.allowed_updates = tuple(allowed_updates)
        self.timeout = timeout
        self.read_timeout = read_timeout
        self.offset = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Drop any webhook (updates wait on Telegram's side meanwhile), then poll."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        """Stop polling and confirm what was handed on, so it is not fetched again."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self.offset:
            try:
                await self.bot.get_raw_updates(self.offset, 0, self.allowed_updates, 5.0)
            except tg.TelegramError as exc:
                # Not fatal: the next start gets them again and the core ignores repeats.
                log.warning("telegram offset not confirmed", extra={"error": type(exc).__name__})

    async def _run(self) -> None:
        backoff = 1.0
        while True:
            try:
                batch = await self.bot.get_raw_updates(
                    self.offset, self.timeout, self.allowed_updates, self.read_timeout
                )
            except tg.RetryAfter as exc:
                await asyncio.sleep(seconds(exc, "retry_after") or 1.0)
                continue
            except tg.TimedOut:
                continue  # a long poll the network dropped: ask again at once
            except tg.TelegramError as exc:
                # Conflict (another poller, or a webhook set meanwhile), 5xx, network down.
                log.warning("telegram polling failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
                continue
            backoff = 1.0
            for raw in batch:
                await self._hand_on(raw)

    async def _hand_on(self, raw: Any) -> None:
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(update_id, int):
            log.warning("telegram sent an update without an id")
            return
        self.offset = max(self.offset, update_id + 1)
        try:
            update = Update.de_json(raw, self.bot)
        except Exception as exc:  # a shape PTB cannot read: skip it, keep the others
            log.warning(
                "telegram update could not be parsed",
                extra={"update_id": update_id, "error": type(exc).__name__},
            )
            return
        await self.sink(update, raw)
