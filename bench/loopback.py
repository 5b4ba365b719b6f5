"""A small HTTP/1.1 load generator over real loopback sockets (asyncio streams, keep-alive).

httpx costs more CPU per request than the servers it would measure on a 2-core machine,
so the generator speaks HTTP itself: requests are prepared as bytes before the clock
starts, and only the status line and headers of each answer are parsed.

Two shapes of load:

- :func:`open_loop`: requests leave on a fixed schedule (``rate`` a second) whether or
  not earlier ones were answered, as independent people do. A request's latency is
  counted from the moment it was *due*, so a server (or a connection pool) that falls
  behind is charged for the wait (no coordinated omission).
- :func:`closed_loop`: ``readers`` connections each send their next request as soon as
  the previous answer arrived (readers of a viral link, reloading).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, list[str]]
    body: bytes


def request(
    method: str,
    path: str,
    *,
    host: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> bytes:
    """The bytes of one HTTP/1.1 request (keep-alive)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def exchange(self, raw: bytes) -> tuple[Answer, bool]:
        """Send one request, read its answer; also whether the connection may be reused."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            if line:
                name, _sep, value = line.partition(":")
                headers.setdefault(name.strip().lower(), []).append(value.strip())
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"][0]))
        elif "chunked" in headers.get("transfer-encoding", [""])[0].lower():
            body = await self._chunks()
        else:
            body = b""
        keep = headers.get("connection", ["keep-alive"])[0].lower() != "close"
        return Answer(status, headers, body), keep

    async def _chunks(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Keep-alive connections to one server, at most ``size`` open at once."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host = host
        self.port = port
        self._idle: list[Connection] = []
        self._slots = asyncio.Semaphore(size)
        self.opened = 0

    async def send(self, raw: bytes) -> Answer:
        async with self._slots:
            conn = self._idle.pop() if self._idle else None
            if conn is None:
                reader, writer = await asyncio.open_connection(self.host, self.port)
                conn = Connection(reader, writer)
                self.opened += 1
            try:
                answer, keep = await conn.exchange(raw)
            except BaseException:
                conn.close()
                raise
            if keep:
                self._idle.append(conn)
            else:
                conn.close()
            return answer

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()


@dataclass
class Load:
    """What one run of load saw."""

    offered: int = 0  # requests due
    latencies: list[float] = field(default_factory=list)  # seconds, answered 2xx only
    statuses: dict[str, int] = field(default_factory=dict)  # "200", "503", "timeout", ...
    seconds: float = 0.0  # from the first request due to the last answer

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        return self.offered - self.ok

    @property
    def rate(self) -> float:
        """Answered (2xx) requests a second."""
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, fraction: float) -> float:
        """Latency (seconds) below which ``fraction`` of the answered requests fall."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def count(self, status: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def _one(pool: Pool, raw: bytes, due: float, load: Load, patience: float) -> float:
    try:
        answer = await asyncio.wait_for(pool.send(raw), patience)
    except TimeoutError:
        load.count("timeout")
        return time.perf_counter()
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        load.count(type(exc).__name__)
        return time.perf_counter()
    done = time.perf_counter()
    load.count(str(answer.status))
    if 200 <= answer.status < 300:
        load.latencies.append(done - due)
    return done


async def open_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    rate: float,
    *,
    connections: int = 512,
    patience: float = TIMEOUT,
) -> Load:
    """Send ``requests`` in order, one every ``1/rate`` seconds, whatever the answers."""
    pool = Pool(host, port, connections)
    load = Load(offered=len(requests))
    tasks = []
    start = time.perf_counter()
    try:
        for index, raw in enumerate(requests):
            due = start + index / rate
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(_one(pool, raw, due, load, patience)))
        ends = await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        pool.close()
    load.seconds = max(ends) - start if ends else 0.0
    return load


async def closed_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    readers: int,
    *,
    patience: float = TIMEOUT,
) -> Load:
    """``readers`` connections share ``requests``, each sending its next one as soon as
    its last was answered. Latency is counted from each request's own send."""
    pool = Pool(host, port, readers)
    load = Load(offered=len(requests))
    queue = iter(requests)

    async def reader() -> None:
        for raw in queue:
            await _one(pool, raw, time.perf_counter(), load, patience)

    start = time.perf_counter()
    try:
        await asyncio.gather(*(reader() for _ in range(readers)))
    finally:
        pool.close()
    load.seconds = time.perf_counter() - start
    return load


async def fetch(host: str, port: int, raw: bytes) -> Answer:
    """One request on a connection of its own (setting things up, not measured)."""
    reader, writer = await asyncio.open_connection(host, port)
    conn = Connection(reader, writer)
    try:
        answer, _keep = await asyncio.wait_for(conn.exchange(raw), TIMEOUT)
        return answer
    finally:
        conn.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
