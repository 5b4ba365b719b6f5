"""Shared fixtures: a fresh database on SQLite always, and on PostgreSQL when reachable.

Storage-level tests take the ``db`` fixture and run once per database. PostgreSQL is used
when ``TEST_DATABASE_URL`` is set (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test);
unset, its variants skip with the reason. Set but unreachable, they fail: a run that was
asked to prove PostgreSQL (CI sets the variable) never passes without it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.adapters.memory import MemorySender
from bot.app import Bot, build_bot
from bot.config import Settings
from bot.handlers.pledge import DEFAULT_MILESTONES
from storage.db import Database
from storage.migrate import upgrade
from storage.pledges import ensure_campaign

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Iterator[None]:
    """A test that runs the CLI in this process (``main([...])``) configures logging as
    the bot does: its payload filter on every root handler, pytest's capturing handler
    included, would hide library records from every later test's ``caplog``. Each
    test leaves the root handlers' filters and the root level as it found them."""
    root = logging.getLogger()
    level = root.level
    filters = {handler: list(handler.filters) for handler in root.handlers}
    yield
    root.setLevel(level)
    for handler in root.handlers:
        if handler in filters:
            handler.filters[:] = filters[handler]
        else:  # added by the test (logging.basicConfig in the CLI)
            root.removeHandler(handler)


def _postgres_unreachable() -> str | None:
    """Why the server at ``TEST_DATABASE_URL`` cannot be used, or None when it answers."""

    async def probe() -> None:
        import asyncpg

        dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
        # Generous: a loaded machine must not turn a slow answer into a failed run.
        conn = await asyncio.wait_for(asyncpg.connect(dsn), timeout=15)
        await conn.close()

    try:
        # Fixtures call this inside a running loop: probe on a thread of its own.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, probe()).result()
    except Exception as exc:  # any failure means "not reachable"
        detail = str(exc)[:200] or "no detail"
        return f"{type(exc).__name__}: {detail}"
    return None


_PG_PROBE: list[str | None] = []  # the probe's answer, once probed (one per session)


def require_postgres() -> None:
    """Skip when ``TEST_DATABASE_URL`` is unset; fail when it is set but unreachable."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL variant skipped")
    if not _PG_PROBE:
        _PG_PROBE.append(_postgres_unreachable())
    if _PG_PROBE[0] is not None:
        pytest.fail(
            "TEST_DATABASE_URL is set but PostgreSQL is not reachable "
            f"({_PG_PROBE[0]}): start it, or unset the variable to skip these variants",
            pytrace=False,
        )


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh schema (tables made from the models) on each database."""
    async for database in _fresh_database(request.param, tmp_path, migrate=False):
        yield database


@pytest.fixture(params=["sqlite", "postgresql"])
async def migrated_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh schema built by the Alembic migrations, on each database."""
    async for database in _fresh_database(request.param, tmp_path, migrate=True):
        yield database


@pytest.fixture
async def postgres_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh schema on PostgreSQL only, for races SQLite cannot have: its transactions
    never overlap (``BEGIN IMMEDIATE`` and the process's writer lock)."""
    async for database in _fresh_database("postgresql", tmp_path, migrate=False):
        yield database


async def _fresh_database(kind: str, tmp_path: Path, *, migrate: bool) -> AsyncIterator[Database]:
    if kind == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    else:
        require_postgres()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        await _pg_execute(f"CREATE SCHEMA {schema}")
        database = Database(PG_URL, pg_schema=schema)
    if migrate:
        await upgrade(database)
    else:
        await database.create_all()
    try:
        yield database
    finally:
        await database.dispose()
        if database.is_postgres:
            await _pg_execute(f"DROP SCHEMA {schema} CASCADE")


async def _pg_execute(sql: str) -> None:
    """Run one statement on PostgreSQL outside any test schema (create/drop schemas)."""
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    await database.create_all()
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        identity_secret="test-identity-secret-0123456789",  # type: ignore[arg-type]
        session_secret="test-session-secret-0123456789",  # type: ignore[arg-type]
        telegram_bot_token=None,
        slack_bot_token=None,
    )


async def make_bot(settings: Settings, db: Database) -> Bot:
    """A whole bot on ``db`` without background tasks: tests drive the outbox themselves."""
    bot = build_bot(settings, db=db)
    bot.dispatcher.add_sender(MemorySender())
    await ensure_campaign(db, settings.default_campaign, milestones=DEFAULT_MILESTONES)
    return bot


@pytest.fixture
async def bot(settings: Settings, db: Database) -> Bot:
    return await make_bot(settings, db)


@pytest.fixture
def memory_sender(bot: Bot) -> MemorySender:
    sender = bot.dispatcher.senders["memory"]
    assert isinstance(sender, MemorySender)
    return sender


@pytest.fixture
async def postgres_bot(settings: Settings, postgres_db: Database) -> Bot:
    """A whole bot on PostgreSQL only, for races SQLite cannot have."""
    return await make_bot(settings, postgres_db)


@pytest.fixture
async def sqlite_bot(settings: Settings, sqlite_db: Database) -> Bot:
    """A whole bot on SQLite only (for tests about words, not storage)."""
    return await make_bot(settings, sqlite_db)
