"""Telegram's sending limits as async token buckets that wait, never spin.

Telegram asks bots to stay under about 30 messages a second overall, one a second in a
private chat (short bursts are tolerated) and 20 a minute in a group. Each send takes a
token from its chat's bucket, then from the overall one; a caller that is early sleeps
exactly until its token is due. Reservations are made in call order, so a chat's
messages keep their order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass


class TokenBucket:
    """``rate`` tokens a second, at most ``capacity`` saved up.

    A caller reserves its token at once (the balance may go negative) and sleeps until
    the balance would have covered it: one sleep per wait, first come first served.
    """

    __slots__ = ("_clock", "_tokens", "_updated", "capacity", "rate")

    def __init__(
        self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a bucket needs a positive rate and room for one token")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._updated = clock()

    def reserve(self) -> float:
        """Take one token; returns how many seconds to wait before using it."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def wait_before(self) -> float:
        """Seconds until a token would be free, without taking one."""
        now = self._clock()
        tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def idle(self) -> bool:
        """Full again: forgetting this bucket changes nothing."""
        elapsed = self._clock() - self._updated
        return self._tokens + elapsed * self.rate >= self.capacity

    async def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)


@dataclass(frozen=True, slots=True)
class TelegramLimits:
    """The rates the sender keeps to (Telegram's published guidance by default)."""

    overall_per_second: float = 30.0
    overall_burst: float = 5.0
    private_per_second: float = 1.0
    private_burst: float = 3.0
    group_per_minute: float = 20.0
    group_burst: float = 1.0


class SendLimiter:
    """One bucket per chat plus one for the whole bot.

    Private chats have positive ids, groups and channels negative ones (or ``@name``).
    Buckets of chats that have been quiet long enough to be full again are forgotten.
    """

    PRUNE_ABOVE = 4096

    def __init__(
        self, limits: TelegramLimits | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits if limits is not None else TelegramLimits()
        self._clock = clock
        self._overall = TokenBucket(
            self.limits.overall_per_second, self.limits.overall_burst, clock
        )
        self._chats: dict[str, TokenBucket] = {}

    def _bucket(self, chat_id: str) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if len(self._chats) >= self.PRUNE_ABOVE:
                self._chats = {k: b for k, b in self._chats.items() if not b.idle()}
            limits = self.limits
            if chat_id.isdigit():  # a person; groups are negative, channels may be @names
                bucket = TokenBucket(limits.private_per_second, limits.private_burst, self._clock)
            else:
                bucket = TokenBucket(
                    limits.group_per_minute / 60.0, limits.group_burst, self._clock
                )
            self._chats[chat_id] = bucket
        return bucket

    async def acquire(self, chat_id: str) -> None:
        """Wait until one more message may go to ``chat_id``."""
        await self._bucket(chat_id).acquire()
        await self._overall.acquire()

    def wait_before(self, chat_id: str) -> float:
        """Seconds before a message to ``chat_id`` could go without waiting (nothing is
        reserved): the outbox reschedules a chat that must wait instead of sleeping on it."""
        bucket = self._chats.get(chat_id)
        chat_wait = bucket.wait_before() if bucket is not None else 0.0
        return max(chat_wait, self._overall.wait_before())

    def __len__(self) -> int:
        return len(self._chats)
