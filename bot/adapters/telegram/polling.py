"""Long polling, one update parsed at a time, confirmed only once it is handled.

Telegram forgets every update below the ``offset`` of the next ``getUpdates``: advancing
it is the acknowledgement. So the offset only moves past an update once its handling has
finished (its effect and replies committed): it is the lowest update still in hand, or
one past the highest seen when nothing is. A crash then loses nothing: the updates it
interrupted are fetched again after the restart, and the core ignores the ones that had
already committed. Updates already in hand that come back in a later batch (they are
below the offset until finished) are not handed on twice.

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

from bot.adapters.telegram.parsing import update_problem
from bot.adapters.telegram.periods import seconds

log = logging.getLogger(__name__)

# Takes one update and returns the task that handles it (the poller waits for nothing
# but the hand-over; the task's end is what lets the offset move past the update).
UpdateSink = Callable[[Update, dict[str, Any]], Awaitable["asyncio.Future[Any]"]]
MAX_BACKOFF = 30.0
CONFLICT = (
    "telegram polling conflict: another process polls this bot, or a webhook is set "
    "(with several replicas, set TELEGRAM_WEBHOOK_URL on every one)"
)


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
        self._next = 0  # one past the highest update id seen
        self._in_hand: set[int] = set()
        self._done: set[int] = set()  # finished, at or above the last offset sent
        self._finished = asyncio.Event()  # set whenever an update in hand is finished
        self._task: asyncio.Task[None] | None = None

    @property
    def offset(self) -> int:
        """What ``getUpdates`` confirms: everything below the lowest update in hand."""
        return min(self._in_hand) if self._in_hand else self._next

    async def start(self) -> None:
        """Drop any webhook (updates wait on Telegram's side meanwhile), then poll."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        """Stop fetching (the updates in hand go on: see :meth:`confirm`)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def confirm(self) -> None:
        """Confirm what has been handled, so it is not fetched again (at shutdown)."""
        if self.offset:
            try:
                await self.bot.get_raw_updates(self.offset, 0, self.allowed_updates, 5.0)
            except tg.TelegramError as exc:
                # Not fatal: the next start gets them again and the core ignores repeats.
                log.warning("telegram offset not confirmed", extra={"error": type(exc).__name__})

    async def _run(self) -> None:
        backoff = 1.0
        while True:
            offset = self.offset
            # Telegram sends nothing below the offset again: forget those.
            self._done = {done for done in self._done if done >= offset}
            try:
                batch = await self.bot.get_raw_updates(
                    offset, self.timeout, self.allowed_updates, self.read_timeout
                )
            except tg.RetryAfter as exc:
                await asyncio.sleep(seconds(exc, "retry_after") or 1.0)
                continue
            except tg.TimedOut:
                continue  # a long poll the network dropped: ask again at once
            except tg.TelegramError as exc:
                if isinstance(exc, tg.Conflict):
                    # 409: Telegram serves one getUpdates at a time, and none while a
                    # webhook is set. Two replicas polling: the bot keeps going (each
                    # update has one effect) but says what to change.
                    log.warning(CONFLICT)
                else:  # 5xx, network down
                    log.warning("telegram polling failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
                continue
            backoff = 1.0
            self._finished.clear()
            handed = [await self._hand_on(raw) for raw in batch]
            if batch and not any(handed) and self._in_hand:
                # Only updates still in hand came back (they are below the offset until
                # finished): ask again once one of them is, not in a tight loop.
                await self._finished.wait()

    async def _hand_on(self, raw: Any) -> bool:
        """Hand one update on; False when it was not new."""
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            log.warning("telegram sent an update without an id")
            return False
        if update_id in self._in_hand or update_id in self._done:
            # Still in hand, or fetched again while something below it was in hand and
            # finished since (its effect is committed): once is enough.
            return False
        self._next = max(self._next, update_id + 1)
        problem = update_problem(raw)
        if problem is not None:  # a shape Telegram never sends: confirmed and dropped
            log.warning(
                "telegram update of an unknown shape dropped",
                extra={"update_id": update_id, "problem": problem},
            )
            self._finish(update_id)
            return True
        try:
            update = Update.de_json(raw, self.bot)
        except Exception as exc:  # a shape PTB cannot read: skip it, keep the others
            log.warning(
                "telegram update could not be parsed",
                extra={"update_id": update_id, "error": type(exc).__name__},
            )
            self._finish(update_id)
            return True
        self._in_hand.add(update_id)
        try:
            handling = await self.sink(update, raw)
        except BaseException:
            self._finish(update_id)
            raise
        handling.add_done_callback(lambda _done: self._finish(update_id))
        return True

    def _finish(self, update_id: int) -> None:
        self._in_hand.discard(update_id)
        self._done.add(update_id)
        self._finished.set()
