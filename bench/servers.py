"""Servers in subprocesses on 127.0.0.1, as they run in production (uvicorn, real sockets).

A benchmark that measures over HTTP must not share its process (or its event loop) with
the server it loads, so each server is a child process: the bot itself
(``python -m bench.serve``, which is ``python -m bot.cli run`` with the bench's knobs),
a bare python-telegram-bot webhook bot (``python -m bench.ptb_webhook``) and the fake
Bot API (``python -m bench.fake_api``). Children write their logs to a file in the run's
temporary directory; a child that does not come up raises with the tail of its log.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bench.common import POSTGRESQL, ROOT, SQLITE, Context
from bench.loopback import fetch, request

START_TIMEOUT = 120.0
TOKEN = "123456:BENCH-token"  # noqa: S105 - the fake Bot API's only token, no secret
IDENTITY_SECRET = "bench-identity-secret-0123456789"  # noqa: S105 - a throwaway run's
SESSION_SECRET = "bench-session-secret-0123456789"  # noqa: S105 - a throwaway run's


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env() -> dict[str, str]:
    """This environment without any platform or database settings of a developer."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "SLACK_", "DATABASE_", "PUBLIC_", "WHATSAPP_"))
    }


class Child:
    """One server process; ``start`` again after ``kill`` for a restart."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], tmp: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log_path = tmp / f"{name}-{uuid.uuid4().hex[:6]}.log"
        self.cwd = tmp  # no developer's .env
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own module, no shell
                [sys.executable, *self.argv],
                cwd=self.cwd,
                env={**self.env, "PYTHONPATH": str(ROOT)},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def tail(self, lines: int = 30) -> str:
        try:
            return "".join(self.log_path.read_text(errors="replace").splitlines(True)[-lines:])
        except OSError:
            return ""

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) the running process has used so far (Linux's
        ``/proc``; 0 elsewhere or when it is not running)."""
        if self.process is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        # utime and stime are fields 14 and 15 of stat(5); 3 is the first after the name.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush."""
        if self.alive():
            assert self.process is not None
            os.kill(self.process.pid, signal.SIGKILL)

    async def wait(self, seconds: float = 30.0) -> None:
        if self.process is not None:
            await asyncio.to_thread(self.process.wait, seconds)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end within 30 s."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                await self.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
                await self.wait(30)


class HttpServer(Child):
    """A child serving HTTP on ``port``; ready once ``ready_path`` answers 200."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        tmp: Path,
        *,
        port: int,
        ready_path: str = "/healthz",
    ) -> None:
        super().__init__(name, argv, env, tmp)
        self.port = port
        self.ready_path = ready_path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> float:
        """Start and wait until it answers; returns the seconds that took."""
        began = time.perf_counter()
        self.spawn()
        probe = request("GET", self.ready_path, host=f"127.0.0.1:{self.port}")
        while time.perf_counter() - began < START_TIMEOUT:
            if not self.alive():
                break
            try:
                answer = await fetch("127.0.0.1", self.port, probe)
            except (OSError, asyncio.IncompleteReadError, TimeoutError):
                answer = None
            if answer is not None and answer.status == 200:
                return time.perf_counter() - began
            await asyncio.sleep(0.1)  # a child starting up: nothing to wait on but its port
        await self.stop()
        raise RuntimeError(f"{self.name} did not start:\n{self.tail()}")


class FakeBotApi(Child):
    """The recording fake Bot API of the tests, in a process of its own
    (``bench/fake_api.py``); ``counts()`` asks it how many calls of each method it saw."""

    def __init__(self, tmp: Path, **options: Any) -> None:
        self.port = free_port()
        super().__init__(
            "fake-bot-api",
            ["-m", "bench.fake_api", "--port", str(self.port), "--token", TOKEN],
            {**clean_env(), "FAKE_API_OPTIONS": json.dumps(options)},
            tmp,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        self.spawn()
        began = time.perf_counter()
        while time.perf_counter() - began < START_TIMEOUT and self.alive():
            try:
                await self.counts()
                return
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                await asyncio.sleep(0.1)  # starting up
        await self.stop()
        raise RuntimeError(f"the fake Bot API did not start:\n{self.tail()}")

    async def counts(self) -> dict[str, Any]:
        answer = await fetch(
            "127.0.0.1", self.port, request("GET", "/bench/counts", host="127.0.0.1")
        )
        if answer.status != 200:
            raise ValueError(answer.status)
        data: dict[str, Any] = json.loads(answer.body)
        return data


def bot_env(
    tmp: Path,
    database_url: str,
    port: int,
    *,
    api_base_url: str | None = None,
    data: Path | None = None,
    **extra: str,
) -> dict[str, str]:
    """The environment of the bot in a child: its database, a data directory (a new one
    unless given), and a fake Bot API when its ``api_base_url`` is given."""
    if data is None:
        data = tmp / f"data-{uuid.uuid4().hex[:8]}"
        data.mkdir(parents=True)
    env = clean_env()
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        DATA_DIR=str(data),
        DATABASE_URL=database_url,
        IDENTITY_SECRET=IDENTITY_SECRET,
        SESSION_SECRET=SESSION_SECRET,
        **extra,
    )
    if api_base_url is not None:
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=api_base_url,
            TELEGRAM_BOT_USERNAME="together_test_bot",
        )
    return env


@asynccontextmanager
async def database_for_child(ctx: Context, database: str) -> AsyncIterator[str]:
    """The URL of an empty database a child process can open by URL alone: a new SQLite
    file, or a new PostgreSQL database (dropped on exit)."""
    if database == SQLITE:
        folder = ctx.tmp / f"db-{uuid.uuid4().hex[:8]}"
        folder.mkdir(parents=True)
        yield f"sqlite+aiosqlite:///{folder}/together.db"
        return
    if database != POSTGRESQL or not ctx.pg_url:
        raise ValueError(f"database not available in this run: {database}")
    # The crash tests' own: a database created for the child, dropped with FORCE after.
    from tests.crash.process import database_url

    async with database_url(POSTGRESQL, ctx.tmp) as url:
        yield url
