"""The real bot (``python -m bot.cli run``) in a subprocess, killed with SIGKILL on cue.

Each test gets a database of its own: a SQLite file in its temporary directory, or a
fresh PostgreSQL database (created and dropped here) when ``TEST_DATABASE_URL`` is set.
:func:`replicas` starts several on one database, as docker-compose.yml runs bot1 and bot2.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Executable

from storage.db import Database
from tests.conftest import PG_URL, require_postgres
from tests.fakes.telegram_api import FakeTelegramApi

READY = "Uvicorn running on"  # after the lifespan started the bot, once it listens
START_TIMEOUT = 120.0


class BotProcess:
    """One run of the bot; ``start`` again after ``kill`` for the restart."""

    def __init__(self, tmp_path: Path, database_url: str, extra_env: dict[str, str]) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.cwd = tmp_path
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TELEGRAM_", "SLACK_", "DATABASE_", "PUBLIC_", "WHATSAPP_"))
        }
        self.env.update(
            HOST="127.0.0.1",
            PORT=str(self.port),
            DATA_DIR=str(tmp_path / "data"),
            DATABASE_URL=database_url,
            LOG_LEVEL="INFO",
            IDENTITY_SECRET="crash-test-identity-secret-0123456789",
            SESSION_SECRET="crash-test-session-secret-0123456789",
        )
        self.env.update(extra_env)  # may override the defaults above (LOG_LEVEL)
        self.process: subprocess.Popen[str] | None = None
        self.started_at: list[float] = []  # time.monotonic() of each start
        self.runs = 0
        self.kills = 0
        self.killed_run = 0
        self.stop_seconds: float | None = None
        self.log: list[str] = []
        self._logged = threading.Condition()  # notified on each line (``wait_for_log``)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Start, and return once the app (and its Telegram polling) is up."""
        ready = threading.Event()
        process = subprocess.Popen(  # noqa: ASYNC220 - a child we kill, not a shell command
            [sys.executable, "-m", "bot.cli", "run"],
            cwd=self.cwd,  # no developer's .env
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

        def read() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                with self._logged:
                    self.log.append(line)
                    self._logged.notify_all()
                if READY in line:
                    ready.set()
            ready.set()  # it ended: nobody waits forever

        threading.Thread(target=read, daemon=True).start()
        self.started_at.append(time.monotonic())
        self.process = process
        self.runs += 1
        started = await asyncio.to_thread(ready.wait, START_TIMEOUT)
        if not started or process.poll() is not None:
            raise AssertionError("the bot did not start:\n" + "".join(self.log[-40:]))

    async def wait_for_log(
        self, *markers: str, within: float = START_TIMEOUT, skip: int = 0
    ) -> str:
        """The first line of the log (every run) after its first ``skip`` lines that holds
        one of ``markers``, once there is one: waited on, never polled. Raises
        ``AssertionError`` after ``within`` seconds."""

        def first() -> str | None:
            return next((line for line in self.log[skip:] if any(m in line for m in markers)), None)

        def wait() -> str | None:
            with self._logged:
                self._logged.wait_for(lambda: first() is not None, within)
                return first()

        line = await asyncio.to_thread(wait)
        if line is None:
            raise AssertionError(f"no log line {markers!r}:\n" + "".join(self.log[-40:]))
        return line

    def logged(self, marker: str) -> int:
        """How many lines of the log (every run) hold ``marker``."""
        return sum(marker in line for line in self.log)

    def run_at(self, moment: float) -> int:
        """Which run (0-based) was going at ``moment`` (``time.monotonic()``)."""
        return sum(1 for start in self.started_at if start <= moment) - 1

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, nothing polite. Safe to call from a callback;
        counted once per run (the dying process's last requests may ask again)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            if self.killed_run != self.runs:
                self.killed_run = self.runs
                self.kills += 1

    async def dead(self) -> None:
        """Wait until the killed process has exited."""
        if self.process is not None:
            await asyncio.to_thread(self.process.wait, 30)

    async def stop(self) -> None:
        """SIGTERM, as an operator stops it; records how long it took (``stop_seconds``)."""
        if self.process is not None and self.process.poll() is None:
            began = time.monotonic()
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.process.wait, 60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait, 30)
            self.stop_seconds = time.monotonic() - began


def telegram_env(api: FakeTelegramApi, **extra: str) -> dict[str, str]:
    """The environment that points the bot at the fake Bot API (plus ``extra``)."""
    return {"TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_BASE_URL": api.base_url, **extra}


# Webhook mode, as docker-compose.yml runs every replica (long polling may only ever run in
# one process): Telegram is told this public address, and the proxy would pass the
# updates to either replica; tests POST them to a replica's own port.
PUBLIC_URL = "https://bot.example.org"
WEBHOOK_SECRET = "replica-test-webhook-secret"


def webhook_env(api: FakeTelegramApi, **extra: str) -> dict[str, str]:
    """:func:`telegram_env` in webhook mode, with the compose file's PUBLIC_URL."""
    return telegram_env(
        api,
        PUBLIC_URL=PUBLIC_URL,
        TELEGRAM_WEBHOOK_URL=PUBLIC_URL,
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        **extra,
    )


async def migrate(url: str, cwd: Path) -> None:
    """``together-bot db upgrade`` in a process of its own: the compose file's
    ``migrate`` service, run once before any replica starts."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DATABASE_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "db",
        "upgrade",
        cwd=cwd,  # no developer's .env
        env={**env, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    if process.returncode != 0:
        raise AssertionError("the migration failed:\n" + output.decode(errors="replace"))


@asynccontextmanager
async def replicas(
    tmp_path: Path,
    url: str,
    envs: Sequence[dict[str, str]],
    *,
    prepare: Callable[[], Awaitable[object]] | None = None,
) -> AsyncIterator[list[BotProcess]]:
    """docker-compose.yml's replicas without Docker: the migration once, then one bot
    process per ``envs`` entry, started together on one database, sharing the data
    directory and the secrets (as the compose file's volume and .env); each stopped
    with SIGTERM at the end (a killed one is left dead). ``prepare`` runs between the
    migration and the start (rows the replicas find waiting)."""
    await migrate(url, tmp_path)
    if prepare is not None:
        await prepare()
    bots = [BotProcess(tmp_path, url, env) for env in envs]
    try:
        await asyncio.gather(*(bot.start() for bot in bots))
        yield bots
    finally:
        await asyncio.gather(*(bot.stop() for bot in bots))


async def read_all(url: str, *statements: Executable) -> list[list[Any]]:
    """What the bot left in its database, read once it is stopped."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            return [list((await session.execute(s)).scalars()) for s in statements]
    finally:
        await db.dispose()


@asynccontextmanager
async def database_url(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own for one crash test."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'together.db'}"
        return
    require_postgres()
    import asyncpg

    name = f"crash_{uuid.uuid4().hex[:12]}"
    admin = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _sep, _db = PG_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
