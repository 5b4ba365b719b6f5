"""SQLite's writer connection, run on the event loop's own thread: no thread hand-offs.

aiosqlite runs every call on a thread of its own: each statement of a turn is a hand-off
there and a wake-up of the event loop on the way back (a pledge tap made ~44 of them,
about a third of a turn's time). The writer's statements are short (a row by its key, an
insert), and once ``BEGIN IMMEDIATE`` holds SQLite's write lock nothing in the
transaction waits on another connection (WAL: readers never block the writer). So the
writer connection runs them right here, in the loop's thread, through the small
aiosqlite-shaped adapter below, which SQLAlchemy's aiosqlite dialect drives unchanged
(``async_creator``).

The one statement that can wait is ``BEGIN IMMEDIATE`` itself, when another process
(a command-line erasure, a migration) holds the write lock: it is tried at once with no
busy timeout, and only when the lock is taken does it wait, on a worker thread, for up to
the configured timeout, so the event loop never stalls behind another process.

Readers do not come here: they use aiosqlite's threaded connections (``Database.read``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"


class InlineCursor:
    """An aiosqlite-shaped cursor whose coroutines finish without suspending."""

    def __init__(self, owner: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._owner = owner
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        if sql == BEGIN_IMMEDIATE:
            await self._owner.begin_immediate()
            return self
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Immediate:
    """aiosqlite's request queue, as SQLAlchemy's isolation-level setter uses it."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed to the waiting caller, as aiosqlite does
            future.set_exception(exc)


class InlineConnection:
    """The writer's connection: aiosqlite's interface over a ``sqlite3`` connection.

    Args:
        connection: opened with ``check_same_thread=False`` (a contended ``BEGIN
            IMMEDIATE`` waits on a worker thread) and no busy timeout.
        busy_timeout_ms: how long a contended ``BEGIN IMMEDIATE`` waits for the lock.
    """

    def __init__(self, connection: sqlite3.Connection, *, busy_timeout_ms: int) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection  # aiosqlite's "open" flag
        self._tx = _Immediate()
        self._busy_timeout_ms = busy_timeout_ms
        # A wait for the write lock on a worker thread: nothing else touches the
        # connection (closing it least of all) until it is over.
        self._waiting: concurrent.futures.Future[None] | None = None

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def driver(self) -> sqlite3.Connection:
        """The ``sqlite3`` connection itself (statements of the turn's hot path)."""
        return self._conn

    def cursor(self) -> InlineCursor:
        """A cursor (SQLAlchemy enters it with ``async with``, as aiosqlite's)."""
        return InlineCursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def begin_immediate(self) -> None:
        """Take SQLite's write lock: at once, or (another process holds it) by waiting on
        a worker thread, so the event loop goes on meanwhile. Already in a transaction
        (a turn began it; its ORM session then begins "again"): nothing to do."""
        if self._conn.in_transaction:
            return
        try:
            self._conn.execute(BEGIN_IMMEDIATE)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        with concurrent.futures.ThreadPoolExecutor(1, "sqlite-lock-wait") as pool:
            self._waiting = pool.submit(self._wait_for_lock)
            try:
                await asyncio.shield(asyncio.wrap_future(self._waiting))
            except asyncio.CancelledError:
                # Called off: let the wait end (it holds the connection), then let go
                # of a lock it may have taken, and only then give up.
                concurrent.futures.wait([self._waiting])
                if self._conn.in_transaction:
                    self._conn.rollback()
                raise
            finally:
                self._waiting = None

    def _wait_for_lock(self) -> None:
        self._conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        try:
            self._conn.execute(BEGIN_IMMEDIATE)
        finally:
            self._conn.execute("PRAGMA busy_timeout=0")

    def checkpoint(self) -> Any:
        """``PRAGMA wal_checkpoint(TRUNCATE)``, waiting for readers up to the timeout (call
        it on a worker thread, outside any transaction)."""
        self._conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        try:
            return self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            self._conn.execute("PRAGMA busy_timeout=0")

    async def commit(self) -> None:
        self._conn.commit() if self._conn.in_transaction else None

    async def rollback(self) -> None:
        self._conn.rollback() if self._conn.in_transaction else None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        if self._waiting is not None:
            await asyncio.wrap_future(self._waiting)
        self.stop()

    def stop(self) -> None:
        """Close (SQLAlchemy's forced close too); after a lock wait still running, once
        it ends."""
        if self._connection is None:
            return
        self._connection = None
        if self._waiting is not None:
            self._waiting.add_done_callback(lambda _done: self._conn.close())
        else:
            self._conn.close()


def inline_creator(database: str, *, busy_timeout_ms: int) -> Callable[[], Any]:
    """SQLAlchemy's ``async_creator`` for the writer engine of ``database`` (a path or a
    ``file:`` URI)."""

    async def connect() -> InlineConnection:
        connection = sqlite3.connect(
            database,
            timeout=0,
            check_same_thread=False,
            isolation_level=None,
            uri=database.startswith("file:"),
        )
        return InlineConnection(connection, busy_timeout_ms=busy_timeout_ms)

    return connect
