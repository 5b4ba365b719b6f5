"""Rows that rarely change (a campaign's texts, whether any story is published), kept in
memory for a short while instead of read on every turn.

Another process (an operator's command, another replica) may change them: a kept value
is read again after ``ttl`` seconds at most. This process's own changes forget the value
at once (:meth:`RarelyChanging.forget`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

DEFAULT_TTL = 30.0


class RarelyChanging:
    """Values by key, each kept ``ttl`` seconds from when it was read.

    Args:
        ttl: seconds a value is kept.
        clock: monotonic seconds (tests pass a controllable one).
    """

    def __init__(
        self, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._kept: dict[Hashable, tuple[float, Any]] = {}

    async def get(
        self,
        key: Hashable,
        read: Callable[[], Awaitable[Any]],
        *,
        keep: Callable[[Any], bool] | None = None,
    ) -> Any:
        """The value of ``key``: kept, or read with ``read()`` and kept (when ``keep``
        says so: e.g. only a "yes" that would take long to become "no" again)."""
        now = self._clock()
        found = self._kept.get(key)
        if found is not None and now - found[0] < self.ttl:
            return found[1]
        value = await read()
        if keep is None or keep(value):
            self._kept[key] = (now, value)
        return value

    def forget(self, key: Hashable | None = None) -> None:
        """Read ``key`` (every key, when None) again next time."""
        if key is None:
            self._kept.clear()
        else:
            self._kept.pop(key, None)
