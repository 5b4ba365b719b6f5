"""What every benchmark shares: the run's context, a result row, bots on either database,
interleaved rounds with medians, and a description of the machine.

A benchmark is a module ``bench/bN_<name>.py`` exposing
``async def measure(ctx: Context) -> list[Result]``; ``python -m bench.run`` finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event

from bot.adapters.memory import MemoryChat
from bot.app import Bot, build_bot
from bot.config import Settings
from bot.core.events import Inbound, Outgoing
from bot.handlers.pledge import DEFAULT_MILESTONES
from storage.db import Database
from storage.pledges import ensure_campaign

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
SQLITE = "sqlite"
POSTGRESQL = "postgresql"


@dataclass
class Context:
    """One run of the benchmarks."""

    pg_url: str | None
    tmp: Path
    rounds: int = 3
    quick: bool = False

    @classmethod
    async def from_env(cls, tmp: Path) -> Context:
        """TEST_DATABASE_URL (when a connection succeeds), BENCH_ROUNDS, BENCH_QUICK=1."""
        url = os.environ.get("TEST_DATABASE_URL") or None
        if url and not await pg_reachable(url):
            print(f"bench: TEST_DATABASE_URL is set but unreachable; PostgreSQL skipped: {url}")
            url = None
        return cls(
            pg_url=url,
            tmp=tmp,
            rounds=max(1, int(os.environ.get("BENCH_ROUNDS", "3"))),
            quick=os.environ.get("BENCH_QUICK", "") == "1",
        )

    @property
    def databases(self) -> list[str]:
        """The databases this run can measure: SQLite always, PostgreSQL when reachable."""
        return [SQLITE, POSTGRESQL] if self.pg_url else [SQLITE]

    def size(self, full: int, quick: int) -> int:
        """A load's size: ``full`` normally, ``quick`` for a smoke run."""
        return quick if self.quick else full


@dataclass
class Result:
    """One row of the results table."""

    bench: str  # "B1"
    name: str  # what was measured, e.g. "pledge flow, sequential"
    database: str | None  # "sqlite", "postgresql", or None when no database is involved
    values: dict[str, float] = field(default_factory=dict)
    ratio: float | None = None
    ratio_of: str = ""  # what the ratio divides, e.g. "ours turns/s / PTB updates/s"
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def pg_reachable(url: str) -> bool:
    try:
        import asyncpg

        conn = await asyncio.wait_for(asyncpg.connect(_asyncpg_dsn(url)), timeout=5)
    except Exception:
        return False
    await conn.close()
    return True


def settings_for(data: Path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=data,
        identity_secret="bench-identity-secret-0123456789",
        session_secret="bench-session-secret-0123456789",
    )


async def make(url: str, data: Path, schema: str | None = None) -> Bot:
    """A whole bot on ``url`` (tables created, the default campaign in place)."""
    settings = settings_for(data)
    db = Database(url, pg_schema=schema)
    watch_connections(db)
    await db.create_all()
    bot = build_bot(settings, db=db)
    await ensure_campaign(db, settings.default_campaign, milestones=DEFAULT_MILESTONES)
    return bot


@asynccontextmanager
async def fresh_database(ctx: Context, database: str) -> AsyncIterator[tuple[str, str | None]]:
    """(url, PostgreSQL schema) of an empty database: a new SQLite file, or a new schema
    dropped on exit."""
    if database == SQLITE:
        data = ctx.tmp / f"sqlite-{uuid.uuid4().hex[:8]}"
        data.mkdir(parents=True)
        yield f"sqlite+aiosqlite:///{data}/bench.db", None
        return
    if database != POSTGRESQL or not ctx.pg_url:
        raise ValueError(f"database not available in this run: {database}")
    import asyncpg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(_asyncpg_dsn(ctx.pg_url))
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        try:
            yield ctx.pg_url, schema
        finally:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await conn.close()


@asynccontextmanager
async def bot_on(ctx: Context, database: str) -> AsyncIterator[Bot]:
    """A whole bot on a fresh SQLite file or a fresh PostgreSQL schema, disposed on exit."""
    async with fresh_database(ctx, database) as (url, schema), bot_at(ctx, url, schema) as bot:
        yield bot


@asynccontextmanager
async def bot_at(ctx: Context, url: str, schema: str | None = None) -> AsyncIterator[Bot]:
    """A whole bot on ``url`` (a database from :func:`fresh_database`), disposed on exit."""
    data = ctx.tmp / f"data-{uuid.uuid4().hex[:8]}"
    data.mkdir(parents=True)
    bot = await make(url, data, schema)
    try:
        yield bot
    finally:
        await bot.deps.db.dispose()


# -- driving the core -------------------------------------------------------------------


class NullSender:
    """Takes every message at once: what is measured is the storing, not a network."""

    platform = "memory"

    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        return "1"


class DurableChat(MemoryChat):
    """A chat whose replies go the durable way: stored, sent after the commit, marked."""

    sender = NullSender()

    async def deliver(self, inbound: Inbound) -> list[Outgoing]:
        handled = await self.core.accept(inbound, self.sender)
        await handled.delivered()
        self.last = list(handled.replies)
        return self.last


PLEDGE_STEPS = ("/pledge", "tap c:pledge", "/skip", "/skip")


async def pledge(chat: MemoryChat) -> int:
    """The pledge flow's four turns (the command, the button tap, two skips)."""
    await chat.send("/pledge")
    await chat.press("c:pledge")
    await chat.send("/skip")
    await chat.send("/skip")
    return 4


# -- measuring ------------------------------------------------------------------------


_OPENED: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()


def _engines(db: Database) -> list[Any]:
    """The writer's engine, and the readers' when they have their own (SQLite)."""
    engines = [db.engine, getattr(db, "reader", db.engine)]
    return list({id(e): e.sync_engine for e in engines}.values())


def watch_connections(db: Database) -> None:
    """Remember every connection ``db``'s engines open from now on, so a
    :class:`StatementCounter` can watch one held for the process's life (never checked
    out again)."""
    for engine in _engines(db):
        opened = _OPENED.setdefault(engine, [])

        def on_connect(dbapi_connection: Any, _record: Any, opened: list[Any] = opened) -> None:
            opened.append(dbapi_connection)

        event.listen(engine.pool, "connect", on_connect)


class StatementCounter:
    """Counts the SQL statements the database driver runs, however they were sent
    (through SQLAlchemy or straight to the driver on a hot path).

    SQLite: ``sqlite3``'s trace callback on every connection of the bot's engines (the
    writer's and the readers'); PostgreSQL: asyncpg's query logger (statements sent to
    asyncpg directly, BEGIN and COMMIT) plus SQLAlchemy's ``before_cursor_execute`` (its
    prepared statements, which that logger does not see). ``count`` leaves out
    BEGIN, COMMIT, ROLLBACK and savepoints; ``transactions`` counts COMMITs and ROLLBACKs.
    A connection is watched from its first checkout inside the ``with`` block, or at once
    when :func:`watch_connections` saw it open (bots made here): a writer connection held
    for the process's life is never checked out again.
    """

    _CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "END", "SAVEPOINT", "RELEASE")

    def __init__(self, db: Database) -> None:
        self.engines = _engines(db)
        self.count = 0
        self.transactions = 0  # commits and rollbacks
        self.statements: list[str] = []
        self.keep = False
        self._undo: dict[int, Callable[[], None]] = {}

    def _seen(self, sql: str) -> None:
        words = sql.lstrip().split(None, 1)
        if not words or words[0].startswith("--"):  # a trigger's sub-statement
            return
        first = words[0].upper().rstrip(";")
        if first in ("COMMIT", "ROLLBACK", "END") and not sql.upper().lstrip().startswith(
            "ROLLBACK TO"
        ):
            self.transactions += 1
        if first in self._CONTROL:
            return
        self.count += 1
        if self.keep:
            self.statements.append(first)

    def _on_checkout(self, dbapi_connection: Any, *_args: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        if id(driver) in self._undo:
            return
        raw = getattr(driver, "driver", None) or getattr(driver, "_conn", None)
        if isinstance(raw, sqlite3.Connection):  # the inline writer, or aiosqlite's
            raw.set_trace_callback(self._seen)
            self._undo[id(driver)] = lambda: raw.set_trace_callback(None)
        elif hasattr(driver, "add_query_logger"):  # asyncpg

            def logged(query: Any) -> None:
                self._seen(query.query)

            driver.add_query_logger(logged)
            self._undo[id(driver)] = lambda: driver.remove_query_logger(logged)

    def _on_execute(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self._seen(statement)

    def _through_sqlalchemy(self, engine: Any) -> bool:
        # asyncpg's logger misses the prepared statements SQLAlchemy runs: those are
        # counted where SQLAlchemy sends them (sqlite3's trace sees everything).
        return bool(engine.dialect.name != "sqlite")

    def __enter__(self) -> StatementCounter:
        for engine in self.engines:
            for dbapi_connection in _OPENED.get(engine, ()):  # open already (watched)
                with contextlib.suppress(Exception):  # closed since
                    self._on_checkout(dbapi_connection)
            event.listen(engine.pool, "checkout", self._on_checkout)
            if self._through_sqlalchemy(engine):
                event.listen(engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc: object) -> None:
        for engine in self.engines:
            event.remove(engine.pool, "checkout", self._on_checkout)
            if self._through_sqlalchemy(engine):
                event.remove(engine, "before_cursor_execute", self._on_execute)
        for undo in self._undo.values():
            with contextlib.suppress(Exception):  # a connection closed meanwhile
                undo()
        self._undo.clear()

    def take(self) -> int:
        """Statements since the last take."""
        count, self.count = self.count, 0
        return count

    def take_transactions(self) -> int:
        """Transactions ended (committed or rolled back) since the last take."""
        count, self.transactions = self.transactions, 0
        return count


class HandOffs:
    """Counts thread-to-event-loop hand-offs (``loop.call_soon_threadsafe``): each answer
    a driver's thread gives back to the loop, e.g. every aiosqlite call."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> HandOffs:
        self.loop = asyncio.get_running_loop()
        original = self.loop.call_soon_threadsafe

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        self.loop.call_soon_threadsafe = counting  # type: ignore[method-assign, assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        del self.loop.call_soon_threadsafe

    def take(self) -> int:
        count, self.count = self.count, 0
        return count


class Admitted:
    """Runs a turn until the core admits it: a turn refused by admission control (an
    exception with ``retry_after``) is tried again after that many seconds, as Telegram
    and Slack retry; ``refusals`` counts the refusals."""

    def __init__(self) -> None:
        self.refusals = 0

    async def __call__(self, call: Callable[[], Awaitable[T]]) -> T:
        while True:
            try:
                return await call()
            except Exception as exc:
                retry_after = getattr(exc, "retry_after", None)
                if retry_after is None:
                    raise
                self.refusals += 1
                await asyncio.sleep(float(retry_after))


async def median_rounds(
    rounds: int, measures: Mapping[str, Callable[[], Awaitable[float]]]
) -> dict[str, float]:
    """Run competing measurements interleaved (a, b, a, b, ...) and return each median."""
    seen: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(rounds):
        for name, measure in measures.items():
            seen[name].append(await measure())
    return {name: statistics.median(values) for name, values in seen.items()}


async def median_rounds_many(
    rounds: int, measures: Mapping[str, Callable[[], Awaitable[Mapping[str, float]]]]
) -> dict[str, dict[str, float]]:
    """As :func:`median_rounds`, for measurements returning several figures each."""
    seen: dict[str, dict[str, list[float]]] = {name: {} for name in measures}
    for _ in range(rounds):
        for name, measure in measures.items():
            for key, value in (await measure()).items():
                seen[name].setdefault(key, []).append(value)
    return {
        name: {key: statistics.median(values) for key, values in figures.items()}
        for name, figures in seen.items()
    }


class Timer:
    """Wall and CPU seconds of a block: ``with Timer() as t: ...; t.wall, t.cpu``."""

    wall = 0.0
    cpu = 0.0

    def __enter__(self) -> Timer:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def machine() -> dict[str, Any]:
    """CPU count, Python, the versions that matter and the git commit."""
    versions = {}
    for package in ("python-telegram-bot", "SQLAlchemy", "aiosqlite", "asyncpg"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"

    git_path = shutil.which("git")

    def git(*args: str) -> str:
        if git_path is None:
            return "unknown"
        try:
            return subprocess.run(  # noqa: S603 (fixed arguments, no shell)
                [git_path, *args], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown"

    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }
