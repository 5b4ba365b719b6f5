"""B6 footprint: memory with many open conversations and under a burst, and start-up time.

- In a fresh child process (``python -m bench.b6_footprint child URL PEOPLE``) on SQLite:
  its RSS once the bot is built; after ``PEOPLE`` people each opened the pledge and stopped
  there (open conversations, mid-flow; ``CONCURRENCY`` turns in flight while they arrive);
  and its peak RSS while all of them tap "I take the pledge" at the same moment (``PEOPLE``
  concurrent turns on the durable path), with when the last answer came and how many times
  turns were refused by admission control (each then tried again after its Retry-After,
  as Telegram retries a webhook answered 503). RSS is VmRSS of
  /proc/self/status; the peak is VmHWM, reset just before the burst (/proc/self/clear_refs).
- ``together-bot run`` in a subprocess on a fresh data directory (SQLite, migrations from
  nothing, no platform tokens): seconds from the start until ``/healthz`` answers on the
  web chat's port, and the server's RSS then. The median of ``ctx.rounds`` starts.

No ratio of another program here: the figures are absolute, for the machine recorded.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import socket
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    SQLITE,
    Admitted,
    Context,
    DurableChat,
    Result,
    bot_at,
    fresh_database,
)

PEOPLE = 10_000
CONCURRENCY = 200
START_TIMEOUT = 120.0


def _status(field: str, pid: int | str = "self") -> float:
    """A /proc/<pid>/status field in MB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def child(url: str, people: int) -> dict[str, Any]:
    """Run in the child process: the footprint figures, as a dict."""
    tmp = Path(url.rsplit("///", 1)[-1]).parent
    ctx = Context(pg_url=None, tmp=tmp)
    async with bot_at(ctx, url) as bot:
        await DurableChat(bot.core, user_id="warm-up").send("/pledge")
        gc.collect()
        ready = _status("VmRSS")
        gate = asyncio.Semaphore(CONCURRENCY)
        chats = [DurableChat(bot.core, user_id=f"open-{n}") for n in range(people)]

        admitted = Admitted()

        async def open_one(chat: DurableChat) -> None:
            async with gate:
                await admitted(lambda: chat.send("/pledge"))

        start = time.perf_counter()
        await asyncio.gather(*(open_one(c) for c in chats))
        opened_in = time.perf_counter() - start
        gc.collect()
        open_rss = _status("VmRSS")

        refused: dict[str, int] = {}
        failed: dict[str, int] = {}
        latencies: list[float] = []

        async def tap(chat: DurableChat) -> None:
            t0 = time.perf_counter()
            while True:
                try:
                    await chat.press("c:pledge")
                except Exception as exc:
                    name = type(exc).__name__
                    retry_after = getattr(exc, "retry_after", None)
                    if retry_after is None:  # failed: counted, not fatal
                        failed[name] = failed.get(name, 0) + 1
                        return
                    # Refused by admission control: tried again after Retry-After, as
                    # Telegram does with a webhook's 503.
                    refused[name] = refused.get(name, 0) + 1
                    await asyncio.sleep(float(retry_after))
                    continue
                latencies.append(time.perf_counter() - t0)
                return

        peak_reset = _reset_peak()
        start = time.perf_counter()
        await asyncio.gather(*(tap(c) for c in chats))
        burst_seconds = time.perf_counter() - start
        peak = _status("VmHWM")
        await bot.core.drain()
    latencies.sort()
    return {
        "ready": ready,
        "open": open_rss,
        "opened_in": opened_in,
        "open_refusals": admitted.refusals,
        "peak": peak,
        "peak_reset": peak_reset,
        "burst_seconds": burst_seconds,
        "answered": len(latencies),
        "refused": refused,
        "failed": failed,
        "p50": latencies[len(latencies) // 2] if latencies else float("nan"),
        "p99": latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
    }


async def footprint(ctx: Context, people: int) -> dict[str, Any]:
    async with fresh_database(ctx, SQLITE) as (url, _schema):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.b6_footprint",
            "child",
            url,
            str(people),
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the footprint child exited with {process.returncode}")
    figures: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return figures


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _command() -> list[str]:
    script = Path(sys.executable).parent / "together-bot"
    if script.exists():
        return [str(script), "run"]
    found = shutil.which("together-bot")
    if found:
        return [found, "run"]
    return [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "run"]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback)
            return bool(response.status == 200)
    except OSError:
        return False


async def start_up(ctx: Context) -> tuple[float, float]:
    """Seconds from ``together-bot run`` to ``/healthz`` answering, and RSS (MB) then."""
    data = ctx.tmp / f"start-{os.getpid()}-{time.monotonic_ns()}"
    data.mkdir(parents=True)
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(data)),
        "DATA_DIR": str(data),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    url = f"http://127.0.0.1:{port}/healthz"
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *_command(),
        cwd=data,  # no .env of the checkout
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        while not await asyncio.to_thread(_answers, url):
            if process.returncode is not None:
                raise RuntimeError(f"together-bot run exited with {process.returncode}")
            if time.perf_counter() - start > START_TIMEOUT:
                raise TimeoutError("together-bot run did not answer /healthz")
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - start
        rss = _status("VmRSS", process.pid)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
    return seconds, rss


async def measure(ctx: Context) -> list[Result]:
    people = ctx.size(PEOPLE, 20)
    if ctx.quick:  # the smoke test: both at once, the figures mean nothing anyway
        got, first = await asyncio.gather(footprint(ctx, people), start_up(ctx))
        starts = [first]
    else:
        got = await footprint(ctx, people)
        starts = [await start_up(ctx) for _ in range(ctx.rounds)]
    refused = sum(got["refused"].values())
    reasons = ", ".join(f"{k} {v}" for k, v in {**got["refused"], **got["failed"]}.items())
    return [
        Result(
            "B6",
            f"RSS with {people:,} open conversations (people mid-flow)",
            SQLITE,
            {
                "RSS ready MB": got["ready"],
                "RSS open MB": got["open"],
                "KB per open conversation": 1024 * (got["open"] - got["ready"]) / people,
                "seconds to open them": got["opened_in"],
                "refusals while opening": got["open_refusals"],
            },
            note=f"a child process; each person sent /pledge ({CONCURRENCY} turns in flight)",
        ),
        Result(
            "B6",
            f"burst: {people:,} concurrent turns (every open person taps the pledge at once)",
            SQLITE,
            {
                "peak RSS MB": got["peak"],
                "answered": got["answered"],
                "refusals": refused,
                "failed": sum(got["failed"].values()),
                "last answer after s": got["burst_seconds"],
                "p50 s": got["p50"],
                "p99 s": got["p99"],
            },
            note="durable path; a refused turn (admission control) is tried again after its "
            f"Retry-After, so latency counts from the first try; {reasons or 'none refused'}; "
            "peak = VmHWM"
            + ("" if got["peak_reset"] else " (not reset: includes the earlier phases)"),
        ),
        Result(
            "B6",
            "start-up: `together-bot run` to /healthz answering (fresh data dir)",
            SQLITE,
            {
                "seconds": statistics.median(s for s, _ in starts),
                "RSS at ready MB": statistics.median(r for _, r in starts),
            },
            note=f"median of {len(starts)} starts; migrations from nothing, no platform tokens",
        ),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "child":
        print(json.dumps(asyncio.run(child(sys.argv[2], int(sys.argv[3])))))
    else:
        sys.exit("usage: python -m bench.b6_footprint child SQLITE_URL PEOPLE (run by bench.run)")
