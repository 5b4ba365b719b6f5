"""The async database: engine, transactions, dialect helpers.

SQLite (the embedded default) runs in WAL mode with a busy timeout and foreign keys on;
every transaction starts with ``BEGIN IMMEDIATE`` so two writers never deadlock on a lock
upgrade, and writers of one process queue on an asyncio lock instead of polling the file.
Deleted content is overwritten (``secure_delete``), :meth:`Database.checkpoint` empties the
WAL after an erasure, and the database file and its ``-wal``/``-shm`` are private (0600).
PostgreSQL goes through asyncpg.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_
from sqlmodel import SQLModel

from storage import models as _models  # noqa: F401  (registers every table)
from storage.logguard import guard_value_logs
from storage.sqlite_inline import InlineConnection, inline_creator
from storage.turns import TurnStatements, TurnTransaction

SQLITE_BUSY_TIMEOUT_MS = 30_000
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class Database:
    """An async engine and a way to run one transaction at a time on it.

    Args:
        url: an SQLAlchemy async URL (``sqlite+aiosqlite:///...`` or
            ``postgresql+asyncpg://...``).
        echo: log SQL statements (never in production: statements carry user text).
        pg_schema: on PostgreSQL, the schema to work in (tests isolate runs this way).
    """

    def __init__(self, url: str, *, echo: bool = False, pg_schema: str | None = None) -> None:
        parsed = make_url(url)
        self.url = url
        self.pg_schema = pg_schema
        self.dialect: str = parsed.get_backend_name()
        # hide_parameters: SQL errors and echo never carry values (story text) into logs.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        self._sqlite_writer = asyncio.Lock()
        self._turn_connection: tuple[AsyncConnection, InlineConnection] | None = None
        if self.is_sqlite:
            database = parsed.database or ""
            if not database or database == ":memory:":
                raise ValueError("SQLite needs a database file (readers and the writer share it)")
            if not database.startswith("file:"):
                make_private_sqlite_file(Path(database))
            # The writer: one connection at a time (the writer lock), run on the event
            # loop's thread (storage.sqlite_inline); readers: aiosqlite's threads.
            self.engine: AsyncEngine = create_async_engine(
                url,
                async_creator=inline_creator(database, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS),
                **kwargs,
            )
            _configure_sqlite(self.engine, busy_timeout_ms=0, begin="BEGIN IMMEDIATE")
            self.reader: AsyncEngine = create_async_engine(
                url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
            )
            _configure_sqlite(
                self.reader, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS, begin="BEGIN", read_only=True
            )
        else:
            if pg_schema:
                kwargs["connect_args"] = {"server_settings": {"search_path": pg_schema}}
            # No pre-ping round trip on every checkout: a connection found dead fails
            # its transaction, which the caller retries (``bot.core.service``).
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
            self.engine = create_async_engine(url, **kwargs)
            self.reader = self.engine
        # The statements of every turn, built once for this database.
        self.turns = TurnStatements(self.engine.dialect)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back on an exception."""
        if self.is_sqlite:
            async with self._sqlite_writer, self._session() as session:
                yield session
        else:
            async with self._session() as session:
                yield session

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[TurnTransaction]:
        """The transaction of one turn (:class:`~storage.turns.TurnTransaction`): on
        SQLite the writer's own connection, its ORM session made only if used."""
        if not self.is_sqlite:
            async with self._session() as session:
                yield TurnTransaction(session=session)
            return
        async with self._sqlite_writer:
            connection, driver = await self._writer_connection()
            await driver.begin_immediate()
            raw = driver.driver
            tx = TurnTransaction(raw=raw, connection=connection)
            try:
                yield tx
                if tx.changed():
                    await tx.session.commit()  # its changes flushed, the transaction with it
                if raw.in_transaction:
                    raw.commit()
            except BaseException:
                if tx.session_used:
                    await tx.session.rollback()
                if raw.in_transaction:
                    raw.rollback()
                raise
            finally:
                if tx.session_used:
                    await tx.session.close()

    async def _writer_connection(self) -> tuple[AsyncConnection, InlineConnection]:
        """The connection turns write through, held for the process's life (turns take
        it one at a time, under the writer lock)."""
        if self._turn_connection is None:
            connection = await self.engine.connect()
            driver = (await connection.get_raw_connection()).driver_connection
            assert isinstance(driver, InlineConnection)
            self._turn_connection = (connection, driver)
        return self._turn_connection

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """One read-only transaction, never behind the writer: on SQLite a snapshot on a
        reader connection of its own (WAL), which refuses any write."""
        async with self._session(self.reader) as session:
            yield session

    @asynccontextmanager
    async def _session(self, engine: AsyncEngine | None = None) -> AsyncIterator[AsyncSession]:
        async with (
            AsyncSession(engine or self.engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    async def create_all(self) -> None:
        """Create every table directly (tests); production uses Alembic migrations."""
        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)

    async def drop_all(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.drop_all)

    async def checkpoint(self) -> bool:
        """SQLite: copy the WAL into the database file and truncate it to nothing.

        Run after an erasure commits: with ``secure_delete`` the database pages are
        overwritten, and the WAL's older copies of the erased text are gone with it.

        Returns:
            True when the WAL was emptied (always on PostgreSQL, which has no WAL file
            of its own here); False when a reader kept it (the next checkpoint will).
        """
        if not self.is_sqlite:
            return True
        async with self._sqlite_writer, self.engine.connect() as conn:
            # The driver's own connection: SQLAlchemy's "begin" hook would open a
            # transaction, and a checkpoint cannot run inside one.
            driver = (await conn.get_raw_connection()).driver_connection
            assert isinstance(driver, InlineConnection)
            # On a worker thread: a checkpoint waits for readers to move on.
            row = await asyncio.to_thread(driver.checkpoint)
        return row is not None and row[0] == 0

    def insert(self, table: Any) -> Any:
        """A dialect ``INSERT`` that supports ``on_conflict_do_nothing/do_update``."""
        if self.is_postgres:
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def dispose(self) -> None:
        if self._turn_connection is not None:
            await self._turn_connection[0].close()
            self._turn_connection = None
        await self.engine.dispose()
        if self.reader is not self.engine:
            await self.reader.dispose()


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """The session's dialect ``INSERT`` (with ``on_conflict_do_nothing/do_update``)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _configure_sqlite(
    engine: AsyncEngine, *, busy_timeout_ms: int, begin: str, read_only: bool = False
) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Erased text is overwritten with zeros, not left in free pages of the file.
        cursor.execute("PRAGMA secure_delete=ON")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        driver = conn.connection.driver_connection
        if isinstance(driver, InlineConnection):
            await_(driver.begin_immediate())  # straight to the writer's connection
        else:
            conn.exec_driver_sql(begin)


def make_private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 (in a 0700 directory when this makes it), and make
    an existing file and its ``-wal``/``-shm`` 0600 (installs from before this rule).

    SQLite creates the ``-wal`` and ``-shm`` files with the database file's mode.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
    for file in (path, *(path.with_name(path.name + side) for side in SQLITE_SIDE_FILES)):
        if file.exists() and file.stat().st_mode & 0o777 != PRIVATE_FILE:
            file.chmod(PRIVATE_FILE)


# Every program that uses the database gets the library loggers that would print stored
# values (SQL parameters, result rows, photo metadata) silenced at their source.
guard_value_logs()


def null_pool_engine(url: str) -> AsyncEngine:
    """An engine without pooling, for one-off work such as migrations."""
    return create_async_engine(url, poolclass=NullPool)
