import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage.db import Database
from storage.models import Campaign


async def test_sqlite_pragmas_are_on(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        mode = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
        fk = (await session.execute(text("PRAGMA foreign_keys"))).scalar_one()
        # The writer never waits on the loop's thread: a taken lock is waited for on a
        # worker thread (below); readers wait like any SQLite connection.
        busy = (await session.execute(text("PRAGMA busy_timeout"))).scalar_one()
    async with sqlite_db.read() as session:
        read_busy = (await session.execute(text("PRAGMA busy_timeout"))).scalar_one()
        read_only = (await session.execute(text("PRAGMA query_only"))).scalar_one()
    assert (mode, fk, busy, read_busy, read_only) == ("wal", 1, 0, 30000, 1)


async def test_sqlite_writer_waits_for_another_process_without_stalling_the_loop(
    sqlite_db: Database,
) -> None:
    """Another program (a command-line erasure, say) holds the write lock: the bot's next
    transaction waits for it, and meanwhile the event loop goes on serving others."""
    other = sqlite3.connect(sqlite_db.engine.url.database or "", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    began = asyncio.Event()

    async def write() -> None:
        async with sqlite_db.transaction() as session:
            await session.execute(text("SELECT 1"))  # the transaction begins here
            began.set()
            session.add(Campaign(id="after-the-other", title={"en": "x"}))

    writing = asyncio.create_task(write())
    # The loop turns while the writer waits: a stalled loop would never get here.
    for _ in range(20):
        await asyncio.sleep(0)
    assert not began.is_set() and not writing.done()
    other.execute("COMMIT")
    await writing
    async with sqlite_db.read() as session:
        assert await session.get(Campaign, "after-the-other") is not None
    other.close()


async def test_sqlite_reads_do_not_wait_for_the_writer(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        session.add(Campaign(id="committed", title={"en": "x"}))
    async with sqlite_db.transaction() as writing:
        writing.add(Campaign(id="in-flight", title={"en": "x"}))
        await writing.flush()
        # A reader sees the last commit, at once, while the writer holds its lock.
        async with sqlite_db.read() as session:
            assert await session.get(Campaign, "committed") is not None
            assert await session.get(Campaign, "in-flight") is None


async def test_sqlite_reader_refuses_writes(sqlite_db: Database) -> None:
    with pytest.raises(OperationalError):
        async with sqlite_db.read() as session:
            session.add(Campaign(id="sneaked", title={"en": "x"}))
            await session.flush()


def test_sqlite_needs_a_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Database("sqlite+aiosqlite:///:memory:")


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    try:
        async with db.transaction() as session:
            session.add(Campaign(id="rollback", title={"en": "x"}))
            await session.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with db.transaction() as session:
        assert await session.get(Campaign, "rollback") is None
