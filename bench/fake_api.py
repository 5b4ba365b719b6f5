"""The tests' fake Bot API for the benchmarks: counted, and optionally enforcing Telegram's
sending limits.

    python -m bench.fake_api --port N --token T     # a process of its own (bench/servers.py)

:class:`BenchBotApi` is :class:`tests.fakes.telegram_api.FakeTelegramApi` (the same
methods, answers and recording) with two additions in front of it:

- ``GET /bench/counts``: how many calls of each method it answered, by status, and how
  many distinct texts it accepted (``sendMessage``), so a child process can be asked.
- :class:`SendingLimits`: Telegram's published limits on sending (about 30 messages a
  second overall, one a second in a private chat, 20 a minute in a group), each a sliding
  window, optionally shortened by ``scale`` (all windows divided by the same factor, so
  every limit is ``scale`` times higher and keeps its shape). A send over a limit is
  answered ``429 Too Many Requests`` with ``retry_after``, as Telegram does, and does not
  count against the window.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.telegram_api import FakeTelegramApi, _error, _read_params

SENDING = frozenset({"sendmessage", "sendphoto", "sendvoice", "sendvideo", "senddocument"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class SendingLimits:
    """Telegram's limits as sliding windows: ``30`` sends in any second overall, ``1`` a
    second per private chat, ``20`` a minute per group (negative chat ids), each window
    divided by ``scale``."""

    scale: float = 1.0
    overall: int = 30
    overall_window: float = 1.0
    private: int = 1
    private_window: float = 1.0
    group: int = 20
    group_window: float = 60.0
    _overall: collections.deque[float] = field(default_factory=collections.deque)
    _chats: dict[str, collections.deque[float]] = field(default_factory=dict)
    # Sends refused, by the limit they broke ("group", "chat" or "overall").
    refused: collections.Counter[str] = field(default_factory=collections.Counter)

    def check(self, chat_id: str, now: float) -> float:
        """0 when a send to ``chat_id`` is allowed now (and counts it), else the seconds
        until it would be."""
        group = chat_id.startswith("-")
        limit, window = (
            (self.group, self.group_window) if group else (self.private, self.private_window)
        )
        window /= self.scale
        overall_window = self.overall_window / self.scale
        chat = self._chats.setdefault(chat_id, collections.deque())
        chat_wait = _wait(chat, limit, window, now)
        overall_wait = _wait(self._overall, self.overall, overall_window, now)
        if chat_wait > 0:
            self.refused["group" if group else "chat"] += 1
        elif overall_wait > 0:
            self.refused["overall"] += 1
        wait = max(chat_wait, overall_wait)
        if wait > 0:
            return wait
        chat.append(now)
        self._overall.append(now)
        return 0.0


def _wait(sent: collections.deque[float], limit: int, window: float, now: float) -> float:
    while sent and sent[0] <= now - window:
        sent.popleft()
    if len(sent) < limit:
        return 0.0
    return sent[0] + window - now


class BenchBotApi(FakeTelegramApi):
    """The fake Bot API with counts, and ``limits`` enforced when given."""

    def __init__(self, token: str, *, limits: SendingLimits | None = None) -> None:
        super().__init__(token)
        self.limits = limits
        self.answered: collections.Counter[str] = collections.Counter()
        self.too_many = 0
        # Every accepted send: (monotonic time, chat id, text).
        self.accepted: list[tuple[float, str, str]] = []
        self.distinct: set[str] = set()
        # Called with the number of sends accepted so far, after each (a crash benchmark
        # kills the bot there).
        self.after_accept: Callable[[int], None] | None = None

    async def start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[self._front])
        app.router.add_get("/bench/counts", self._counts)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    @web.middleware
    async def _front(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        method = request.match_info.get("method", "").lower()
        if method in SENDING:
            params = await _read_params(request)  # aiohttp keeps the body for the handler
            chat_id = str(params.get("chat_id", ""))
            if self.limits is not None:
                wait = self.limits.check(chat_id, time.monotonic())
                if wait > 0:
                    self.too_many += 1
                    self.answered[f"{method} 429"] += 1
                    # Telegram's retry_after is whole seconds.
                    seconds = max(1, math.ceil(wait))
                    return _error(
                        429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
                    )
            response = await handler(request)
            self.answered[f"{method} {response.status}"] += 1
            if response.status == 200:
                text = str(params.get("text", ""))
                self.accepted.append((time.monotonic(), chat_id, text))
                self.distinct.add(text)
                if self.after_accept is not None:
                    self.after_accept(len(self.accepted))
                async with self._changed:
                    self._changed.notify_all()
            return response
        response = await handler(request)
        if method:
            self.answered[f"{method} {response.status}"] += 1
        return response

    async def _counts(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "answered": dict(self.answered),
                "accepted": len(self.accepted),
                "distinct_texts": len(self.distinct),
                "too_many": self.too_many,
            }
        )


async def serve(port: int, token: str, options: dict[str, Any]) -> None:
    limits = SendingLimits(scale=float(options["scale"])) if "scale" in options else None
    api = BenchBotApi(token, limits=limits)
    await api.start(port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await api.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    options = json.loads(os.environ.get("FAKE_API_OPTIONS") or "{}")
    asyncio.run(serve(args.port, args.token, options))


if __name__ == "__main__":
    main()
