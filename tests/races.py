"""Races made to happen: transactions held at a chosen statement until the others reach it.

A race test that merely starts two transactions together proves little: most runs, one
finishes before the other begins, and the test passes with the guarantee removed. These
helpers hold a transaction right after one of its statements ran, inside the database
session, so the overlap the guarantee is about happens on every run.

They hook SQLAlchemy's cursor events on the engine: the listener runs inside the session's
greenlet, where ``sqlalchemy.util.await_`` waits on the test's asyncio objects. Only
PostgreSQL can overlap transactions: SQLite admits one writer at a time (``BEGIN
IMMEDIATE`` and the process's writer lock), so a second party would never arrive there.
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

# Called with the statement's connection and its SQL text.
Hook = Callable[[Any, str], Awaitable[None] | None]


@contextmanager
def on_statement(db: Database, hook: Hook) -> Iterator[None]:
    """Call ``hook(connection, sql)`` after every statement on ``db``; when it returns an
    awaitable, the statement's session waits for it, its transaction still open."""

    def listener(conn: Any, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any) -> None:
        waiting = hook(conn, statement)
        if waiting is not None:
            await_(waiting)

    event.listen(db.engine.sync_engine, "after_cursor_execute", listener)
    try:
        yield
    finally:
        event.remove(db.engine.sync_engine, "after_cursor_execute", listener)


def every_statement(_statement: str) -> bool:
    return True


class Rendezvous:
    """The first ``parties`` statements that match wait for one another after running.

    Every one of them has read its rows before any of them writes or commits: what one
    transaction does cannot hide the rows from the others, unless the database itself
    keeps them apart (a row lock, ``SKIP LOCKED``, a conditional UPDATE). With
    ``first_per_connection``, only each transaction's first matching statement counts
    (one party per transaction). ``met`` is set once all of them arrived.

    A party that waits :data:`PATIENCE` seconds fails the test: the others are blocked
    behind it, which is a failure for work meant to go on side by side.
    """

    def __init__(
        self,
        parties: int,
        matches: Callable[[str], bool] = every_statement,
        *,
        first_per_connection: bool = False,
    ) -> None:
        self.parties = parties
        self.matches = matches
        self.first_per_connection = first_per_connection
        self.arrived = 0
        self.met = asyncio.Event()
        self._barrier = asyncio.Barrier(parties)
        self._seen: list[Any] = []  # the connections themselves: an id may be reused

    def __call__(self, conn: Any, statement: str) -> Awaitable[None] | None:
        if self.arrived >= self.parties or not self.matches(statement):
            return None
        if self.first_per_connection:
            if any(seen is conn for seen in self._seen):
                return None
            self._seen.append(conn)
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
