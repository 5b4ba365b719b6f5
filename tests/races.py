"""Races made to happen: transactions held at a chosen statement until the others reach it.

A race test that merely starts two transactions together proves little: most runs, one
finishes before the other begins, and the test passes with the guarantee removed. These
helpers hold a transaction right after (or before) one of its statements ran, inside the
database session, so the overlap the guarantee is about happens on every run.

They hook SQLAlchemy's cursor events on the engine: the listener runs inside the session's
greenlet, where ``sqlalchemy.util.await_`` waits on the test's asyncio objects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.util import await_

from storage.db import Database

# How long a party held at the barrier waits for the others before the test fails: only
# ever reached when the others are stuck (blocked by a lock), never on a slow machine.
PATIENCE = 30.0

Hook = Callable[[str], Awaitable[None] | None]


@contextmanager
def on_statement(db: Database, hook: Hook, *, after: bool = True) -> Iterator[None]:
    """Call ``hook(sql)`` after (or before) every statement on ``db``; when it returns an
    awaitable, the statement's session waits for it, its transaction still open."""

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any) -> None:
        waiting = hook(statement)
        if waiting is not None:
            await_(waiting)

    name = "after_cursor_execute" if after else "before_cursor_execute"
    event.listen(db.engine.sync_engine, name, listener)
    try:
        yield
    finally:
        event.remove(db.engine.sync_engine, name, listener)


class Rendezvous:
    """The first ``parties`` statements that match wait for one another after running.

    Every one of them has read its rows before any of them writes or commits: what one
    transaction does cannot hide the rows from the others, unless the database itself
    keeps them apart (a row lock, ``SKIP LOCKED``). ``met`` is set once all arrived.
    """

    def __init__(self, parties: int, matches: Callable[[str], bool]) -> None:
        self.parties = parties
        self.matches = matches
        self.arrived = 0
        self.met = asyncio.Event()
        self._barrier = asyncio.Barrier(parties)

    def __call__(self, statement: str) -> Awaitable[None] | None:
        if self.arrived >= self.parties or not self.matches(statement):
            return None
        self.arrived += 1
        return self._wait(self.arrived)

    async def _wait(self, party: int) -> None:
        try:
            await asyncio.wait_for(self._barrier.wait(), PATIENCE)
        except TimeoutError:
            await self._barrier.abort()  # the others fail at once instead of waiting too
            raise AssertionError(
                f"party {party} of {self.parties} waited {PATIENCE:.0f} s for the others: "
                "they are blocked behind it (a lock held until its transaction ends)"
            ) from None
        except asyncio.BrokenBarrierError:
            raise AssertionError(f"party {party} arrived after another gave up") from None
        self.met.set()
