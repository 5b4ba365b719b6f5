"""One scheduler across replicas: on PostgreSQL the replica that holds the advisory lock
runs the jobs, another takes over when it dies; on SQLite the one process runs them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import Bot
from bot.config import Settings
from bot.scheduler import LEADER_JOBS, SCHEDULER_LOCK_CLASS, Scheduler
from storage.db import Database
from tests.conftest import PG_URL, make_bot
from tests.crash.process import BotProcess, database_url

EVERY_REPLICA = ["outbox_nudge", "scheduler_lock"]
LEADER = sorted([*LEADER_JOBS, *EVERY_REPLICA])
TAKEN = "scheduler lock taken"
LOCK_WAIT = 60.0  # a bound for a failing run, never a pace


async def schema_of(db: Database) -> str:
    async with db.transaction() as session:
        return str((await session.execute(text("SELECT current_schema()"))).scalar_one())


@pytest.fixture
async def replica(postgres_db: Database, settings: Settings) -> AsyncIterator[Bot]:
    """A second bot on the same PostgreSQL schema as the ``postgres_bot`` fixture's."""
    other = Database(PG_URL, pg_schema=await schema_of(postgres_db))
    try:
        yield await make_bot(settings, other)
    finally:
        await other.dispose()


async def kill_connection(db: Database) -> int:
    """End, from the server's side, the session that holds the scheduler's lock (as
    when its process dies); returns how many sessions were ended."""
    async with db.transaction() as session:
        return len(
            (
                await session.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks "
                        "WHERE locktype = 'advisory' AND classid::bigint = :lock "
                        "AND objid::bigint = (hashtext(current_schema())::bigint & 4294967295)"
                    ),
                    {"lock": SCHEDULER_LOCK_CLASS},
                )
            ).all()
        )


async def test_one_replica_holds_the_lock_and_another_takes_over_when_its_connection_dies(
    postgres_bot: Bot, replica: Bot
) -> None:
    schedulers = [postgres_bot.scheduler, replica.scheduler]
    for scheduler in schedulers:
        scheduler.start()  # each tries at once, in the background, as at a real start
    try:
        # Exactly one holds the lock, whoever tried first, however often they try.
        for _ in range(2):
            assert sorted([await s.elect() for s in schedulers]) == [False, True]
        first, second = sorted(schedulers, key=lambda s: not s.leading)
        assert (first.leading, second.leading) == (True, False)
        assert first.jobs() == LEADER
        assert second.jobs() == EVERY_REPLICA

        assert await kill_connection(first.deps.db) == 1
        await lock_released(second.deps.db)
        assert await second.elect() is True  # the lock went with the connection
        assert await first.elect() is False  # it finds its connection dead, and steps down
        assert (first.leading, second.leading) == (False, True)
        assert first.jobs() == EVERY_REPLICA
        assert second.jobs() == LEADER
    finally:
        for scheduler in schedulers:
            await scheduler.stop()


async def test_a_stopped_holder_lets_another_replica_take_over_at_once(
    postgres_bot: Bot, replica: Bot
) -> None:
    schedulers = [postgres_bot.scheduler, replica.scheduler]
    for scheduler in schedulers:
        scheduler.start()
    try:
        assert sorted([await s.elect() for s in schedulers]) == [False, True]
        first, second = sorted(schedulers, key=lambda s: not s.leading)
        await first.stop()
        assert await second.elect() is True
        assert await first.elect() is False  # stopped: it never takes it back
    finally:
        for scheduler in schedulers:
            await scheduler.stop()


async def test_on_sqlite_the_one_process_runs_every_job(sqlite_bot: Bot) -> None:
    scheduler = sqlite_bot.scheduler
    scheduler.start()
    try:
        assert scheduler.lock is None
        assert await scheduler.elect() is True
        assert scheduler.jobs() == sorted([*LEADER_JOBS, "outbox_nudge"])
    finally:
        await scheduler.stop()


class WatchedLog(list[str]):
    """The child's log lines (``BotProcess.log``), with an event set when one says
    ``marker``: waited on, never polled."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker
        self.seen = threading.Event()

    def append(self, line: str) -> None:
        super().append(line)
        if self.marker in line:
            self.seen.set()


async def lock_released(db: Database) -> None:
    """Wait until nobody holds the scheduler's lock of ``db``'s schema: a blocking
    ``pg_advisory_lock`` returns exactly then (and is let go at once). A session ended
    by its client's death or by ``pg_terminate_backend`` lets its locks go a moment
    after, when the server has ended it."""
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        key = {"lock": SCHEDULER_LOCK_CLASS}
        async with asyncio.timeout(LOCK_WAIT):
            await conn.execute(
                text("SELECT pg_advisory_lock(:lock, hashtext(current_schema()))"), key
            )
        await conn.execute(
            text("SELECT pg_advisory_unlock(:lock, hashtext(current_schema()))"), key
        )


async def test_a_replica_killed_with_sigkill_is_taken_over(
    tmp_path: Path, settings: Settings
) -> None:
    async with database_url("postgresql", tmp_path) as url:
        child = BotProcess(tmp_path, url, {"SCHEDULER_LOCK_RETRY_SECONDS": "1"})
        log = WatchedLog(TAKEN)
        child.log = log
        await child.start()
        db = Database(url)
        try:
            assert await asyncio.to_thread(log.seen.wait, LOCK_WAIT), "".join(log[-40:])
            here = Scheduler((await make_bot(settings, db)).deps)
            here.start()
            assert await here.elect() is False  # the child runs the jobs
            assert here.jobs() == EVERY_REPLICA

            child.kill()
            await child.dead()
            await lock_released(db)  # the server ended the dead child's session
            assert await here.elect() is True
            assert here.jobs() == LEADER
            await here.stop()
        finally:
            await child.stop()
            await db.dispose()
