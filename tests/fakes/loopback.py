"""What every fake platform API shares: an aiohttp app on a free port of 127.0.0.1,
started and closed around a test (``async with fake: ...``)."""

from __future__ import annotations

import socket
from types import TracebackType
from typing import Self

from aiohttp import web


class LoopbackServer:
    """A fake's server: subclasses add their routes and, if they hold connections open
    (long polls, websockets), let them go in :meth:`stopping`."""

    # Uploads of test files (videos) are larger than aiohttp's 1 MiB default.
    max_body = 64 * 1024 * 1024

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.port = 0

    def routes(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application(client_max_size=self.max_body)
        self.routes(app.router)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stopping(self) -> None:
        """Called first by :meth:`close`: end what would keep the server waiting."""

    async def close(self) -> None:
        await self.stopping()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
