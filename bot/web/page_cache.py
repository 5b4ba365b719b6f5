"""Rendered pages kept in memory, each with the version of the data it was built from.

The wall and its feeds are read far more often than they change (a story shared widely
is read thousands of times a minute; moderators publish a few a day). A page is built
once per version and kept: a reader gets it as long as the version they read is the one
it was built from, so a change (publication, take-down, withdrawal, erasure, a
moderator's choice of files or title) is seen by the next reader, on every replica,
without telling any of them. Readers who ask for the same missing page at once wait for
one build rather than each building it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_ENTRIES = 512  # pages: a few hundred kilobytes each at most


class PageCache(Generic[T]):
    """The newest pages built, by key, the least recently used dropped first.

    Args:
        max_entries: how many pages to keep; 0 keeps none (every request builds).
    """

    def __init__(self, max_entries: int = DEFAULT_ENTRIES) -> None:
        self.max_entries = max_entries
        self._pages: OrderedDict[Hashable, tuple[int, T]] = OrderedDict()
        self._building: weakref.WeakValueDictionary[Hashable, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def _kept(self, key: Hashable, version: int) -> tuple[int, T] | None:
        found = self._pages.get(key)
        if found is None or found[0] != version:
            return None
        self._pages.move_to_end(key)
        return found

    async def get(self, key: Hashable, version: int, build: Callable[[], Awaitable[T]]) -> T:
        """The page ``key`` as of ``version``: kept, or built now by ``build`` (read the
        version *before* ``build`` reads the data, so a page is never older than it)."""
        if self.max_entries <= 0:
            return await build()
        if (found := self._kept(key, version)) is not None:
            return found[1]
        lock = self._building.setdefault(key, asyncio.Lock())
        async with lock:
            if (found := self._kept(key, version)) is not None:
                return found[1]  # built meanwhile, by the reader this one waited for
            built = await build()
            kept = self._pages.get(key)
            if kept is None or kept[0] <= version:  # never over a newer page
                self._pages[key] = (version, built)
                self._pages.move_to_end(key)
                while len(self._pages) > self.max_entries:
                    self._pages.popitem(last=False)
            return built

    def __len__(self) -> int:
        return len(self._pages)
