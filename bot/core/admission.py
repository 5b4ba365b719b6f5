"""Admission control: a bound on the turns in flight in this process.

Without it, a crowd (or a flood) queues without end: every waiting turn holds memory, and
the last answer comes minutes late. With it, a turn beyond the bound is refused at once
with :class:`Busy`, and each platform turns that into "try again in a moment": HTTP 503
with ``Retry-After`` for the web chat and Telegram's webhook (Telegram retries the
update), an unacknowledged event for Slack (Slack retries it). Nothing was acknowledged,
so nothing is lost. Sources that pull their work (Telegram's long polling) wait for room
instead (``patient``): they simply take the next updates later.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.i18n import N_

BUSY_TEXT = N_("So many people are writing right now. Please try again in a moment.")


class Busy(Exception):
    """Too many turns in flight in this process: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many turns in flight")
        self.retry_after = retry_after


class Admission:
    """At most ``limit`` turns at once (waiting for their conversation's lock included).

    Args:
        limit: turns in flight; 0 means no bound.
        retry_after: the seconds a refused caller is told to wait.
    """

    def __init__(self, limit: int, *, retry_after: int = 2) -> None:
        self.limit = limit
        self.retry_after = retry_after
        self.in_flight = 0
        self.refused = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def admit(self, *, patient: bool = False) -> AsyncIterator[None]:
        """Hold a place while the turn runs; refused (:class:`Busy`) when none is free,
        or, ``patient``, wait for one in arrival order."""
        if self.limit and self.in_flight >= self.limit:
            if not patient:
                self.refused += 1
                raise Busy(self.retry_after)
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await waiter  # handed a place by a leaving turn (``in_flight`` kept)
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._leave()  # handed a place, then called off: pass it on
                else:
                    self._waiting.remove(waiter)
                raise
        else:
            self.in_flight += 1
        try:
            yield
        finally:
            self._leave()

    def _leave(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the place goes straight to the next in line
                return
        self.in_flight -= 1
