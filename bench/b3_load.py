"""B3 end to end: the pledge flow over real loopback HTTP at rising rates, open loop.

Three servers, each uvicorn in a process of its own on 127.0.0.1, under the same
generator (bench/loopback.py) in the same run:

- **our Telegram webhook**: the bot (``python -m bench.serve``, i.e. ``bot.cli run``) in
  webhook mode; updates as Telegram sends them (JSON, the secret header); its replies go
  to the fake Bot API (tests/fakes/telegram_api.py, a process of its own);
- **our web chat**: the same bot's JSON API; each person's session is opened first
  (``GET /``: the cookie and the CSRF token, not timed), then their messages are posted;
- **bare PTB**: a python-telegram-bot 22 ``ConversationHandler`` with the same four steps
  in memory, its webhook a minimal Starlette app calling ``process_update``
  (bench/ptb_webhook.py), sending to the same fake Bot API.

At each rate the three are loaded in turn (interleaved), each for the same number of
seconds, once the server has worked off the last load (requests the generator gave up on
are still handled; the web chat's sessions are opened in between, asked again while the
bot answers 503 busy): turns leave on schedule whether or not earlier ones were
answered, and a turn's latency counts from when it was due. A person's four steps are a
quarter of the run apart, so one person's turns never overlap unless the server is far
behind. Reported per rate: achieved turns/s (answered 2xx), p50, p99, errors (non-2xx,
timeouts); then for each server the highest rate held (p99 < 100 ms, no errors, >= 95 %
of the rate achieved), and ours ÷ PTB. ``sends/turn`` is the messages the fake Bot API
accepted per turn (5 for 4 turns in both bots when every step is answered): PTB's
conversation state is in memory and unordered, so a step that arrives while the person's
previous one is still being handled finds the old state and gets no answer; under
overload its figure drops below 1.25 (it did less of the work). The CPU used meanwhile
by the server, the fake Bot API and the generator (% of one core, from ``/proc``) says
which of them was short of it: the three share the machine. Each rate runs once (a ratio
of the highest rates held, not a median): the run must fit in the 15 minutes of ``make
bench``.

Our bot runs on SQLite (the done-when figure of issue 12). Its Telegram sending limits
are lifted here (``BENCH_LIMITS_SCALE``), as PTB keeps none: with Telegram's (30 messages
a second overall, one a second a chat) its replies would be paced, capping the webhook
near 24 turns/s whatever the core's speed.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.common import SQLITE, Context, Result
from bench.loopback import TIMEOUT, Answer, Load, Pool, fetch, open_loop, request
from bench.servers import (
    TOKEN,
    FakeBotApi,
    HttpServer,
    bot_env,
    clean_env,
    database_for_child,
    free_port,
)
from bot.adapters.telegram.webhook import SECRET_HEADER, webhook_path, webhook_secret
from tests.fakes.telegram_api import UpdateFactory

RATES = (50, 100, 200, 400)
QUICK_RATES = (20,)
SECONDS = 4.0
QUICK_SECONDS = 0.5
SETTLE_WITHIN = 30.0
WARM_UP = 40  # turns at the lowest rate before the measured ones, per server
P99_GOAL = 0.100
HELD_SHARE = 0.95
# Telegram's limits (30 messages a second overall, one a second a chat) would pace our
# webhook's replies and cap it near 24 turns/s; PTB keeps none unless told to.
LIMITS_OFF = 1000
PTB_SECRET = "bench-ptb-secret"  # noqa: S105 - bench/ptb_webhook.py's, a throwaway run's


def people_needed(rate: float, seconds: float) -> int:
    return max(1, math.ceil(rate * seconds / 4))


@dataclass
class Telegram:
    """Webhook deliveries of the pledge flow for one bot (ours or PTB's)."""

    name: str
    port: int
    path: str
    secret: str
    make: UpdateFactory = field(default_factory=UpdateFactory)
    next_user: int = 5_000_000

    async def turns(self, people: int) -> list[bytes]:
        users = list(range(self.next_user, self.next_user + people))
        self.next_user += people
        steps: list[Callable[[int], dict[str, object]]] = [
            lambda u: self.make.command(u, "pledge"),
            lambda u: self.make.callback(u, "c:pledge"),
            lambda u: self.make.command(u, "skip"),
            lambda u: self.make.command(u, "skip"),
        ]
        host = f"127.0.0.1:{self.port}"
        headers = {SECRET_HEADER: self.secret, "Content-Type": "application/json"}
        return [
            request(
                "POST", self.path, host=host, headers=headers, body=json.dumps(step(u)).encode()
            )
            for step in steps
            for u in users
        ]


_CSRF = re.compile(rb'<meta name="csrf-token" content="([0-9a-f]+)">')


@dataclass
class WebChat:
    """The web chat's JSON API: sessions opened first, then the four messages."""

    name: str
    port: int

    async def turns(self, people: int) -> list[bytes]:
        host = f"127.0.0.1:{self.port}"
        pool = Pool("127.0.0.1", self.port, 8)
        try:
            pages = await asyncio.gather(*(_first_visit(pool, host) for _ in range(people)))
        finally:
            pool.close()
        sessions = [_session(page) for page in pages]
        bodies = [{"text": "/pledge"}, {"choice": "c:pledge"}, {"text": "/skip"}, {"text": "/skip"}]
        return [
            request(
                "POST",
                "/api/chat/message",
                host=host,
                headers={
                    "Cookie": cookie,
                    "X-CSRF-Token": csrf,
                    "Content-Type": "application/json",
                    "Origin": f"http://{host}",
                },
                body=json.dumps({**body, "client_id": uuid.uuid4().hex}).encode(),
            )
            for body in bodies
            for cookie, csrf in sessions
        ]


async def _first_visit(pool: Pool, host: str) -> Answer:
    """The page, asked again after ``Retry-After`` while the bot says it is busy, and
    after a connection the server dropped (setting up, not measured)."""
    failure: Exception | None = None
    for _attempt in range(30):
        try:
            page = await pool.send(request("GET", "/", host=host))
        except (OSError, asyncio.IncompleteReadError) as exc:
            failure = exc
            await asyncio.sleep(0.2)
            continue
        if page.status != 503:
            return page
        await asyncio.sleep(float(page.headers.get("retry-after", ["1"])[0]))
    raise RuntimeError(f"the web chat page was not served: {failure!r}")


async def settle(port: int) -> None:
    """Wait until a server has worked off what the last load left it (requests the
    generator gave up on are still handled): its ``/healthz`` answers within 50 ms three
    times in a row."""
    probe = request("GET", "/healthz", host=f"127.0.0.1:{port}")
    quick = 0
    deadline = time.perf_counter() + SETTLE_WITHIN
    while quick < 3 and time.perf_counter() < deadline:
        began = time.perf_counter()
        answer = await fetch("127.0.0.1", port, probe)
        quick = quick + 1 if answer.status == 200 and time.perf_counter() - began < 0.05 else 0
        await asyncio.sleep(0.1)  # a busy server: nothing to wait on but its answers


def _session(page: Answer) -> tuple[str, str]:
    """The session cookie and CSRF token a first visit to the page gives."""
    if page.status != 200:
        raise RuntimeError(f"the web chat page answered {page.status}")
    cookie = next(c.split(";", 1)[0] for c in page.headers["set-cookie"] if "tb_session=" in c)
    found = _CSRF.search(page.body)
    if found is None:
        raise RuntimeError("no CSRF token on the web chat page")
    return cookie, found.group(1).decode()


Target = Telegram | WebChat


def _ms(load: Load, fraction: float) -> float:
    """A latency percentile in ms; the generator's timeout when nothing was answered."""
    return (load.percentile(fraction) if load.ok else TIMEOUT) * 1000


def held(loads: dict[float, Load]) -> float:
    """The highest rate answered in full with p99 under the goal (0 when none was)."""
    best = 0.0
    for rate, load in sorted(loads.items()):
        if load.errors == 0 and load.rate >= HELD_SHARE * rate and load.percentile(0.99) < P99_GOAL:
            best = rate
    return best


async def measure(ctx: Context) -> list[Result]:
    rates = QUICK_RATES if ctx.quick else RATES
    seconds = QUICK_SECONDS if ctx.quick else SECONDS
    api = FakeBotApi(ctx.tmp)
    await api.start()
    try:
        async with database_for_child(ctx, SQLITE) as url:
            ours = HttpServer(
                "bot",
                ["-m", "bench.serve"],
                bot_env(
                    ctx.tmp,
                    url,
                    (port := free_port()),
                    api_base_url=api.base_url,
                    TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}",
                    # The bare PTB bot keeps no sending limits: neither does ours here.
                    BENCH_LIMITS_SCALE=str(LIMITS_OFF),
                ),
                ctx.tmp,
                port=port,
            )
            ptb_port = free_port()
            ptb = HttpServer(
                "ptb",
                [
                    "-m",
                    "bench.ptb_webhook",
                    *("--port", str(ptb_port), "--token", TOKEN, "--api", api.base_url),
                ],
                clean_env(),
                ctx.tmp,
                port=ptb_port,
            )
            try:
                await asyncio.gather(ours.start(), ptb.start())
                return await run(ctx, api, ours, ptb, rates, seconds)
            finally:
                await asyncio.gather(ours.stop(), ptb.stop())
    finally:
        await api.stop()


async def run(
    ctx: Context,
    api: FakeBotApi,
    ours: HttpServer,
    ptb: HttpServer,
    rates: tuple[int, ...],
    seconds: float,
) -> list[Result]:
    secret = webhook_secret(TOKEN)
    targets: list[tuple[Target, str | None]] = [
        (Telegram("our Telegram webhook", ours.port, webhook_path(TOKEN, secret), secret), SQLITE),
        (WebChat("our web chat", ours.port), SQLITE),
        (Telegram("bare PTB webhook", ptb.port, "/telegram", PTB_SECRET), None),
    ]
    loads: dict[str, dict[float, Load]] = {target.name: {} for target, _db in targets}
    sends: dict[str, dict[float, float]] = {target.name: {} for target, _db in targets}
    for target, _db in targets:
        warm_up = await target.turns(WARM_UP // 4 if not ctx.quick else 1)
        await open_loop("127.0.0.1", target.port, warm_up, rates[0])
    cpu: dict[str, dict[float, dict[str, float]]] = {target.name: {} for target, _db in targets}
    for rate in rates:
        for target, _db in targets:
            server = ptb if target.port == ptb.port else ours
            await settle(target.port)
            turns = await target.turns(people_needed(rate, seconds))
            await settle(target.port)
            before = await api.counts()
            used = (server.cpu_seconds(), api.cpu_seconds(), time.process_time())
            load = await open_loop("127.0.0.1", target.port, turns, rate)
            now = (server.cpu_seconds(), api.cpu_seconds(), time.process_time())
            after = await api.counts()
            loads[target.name][rate] = load
            sends[target.name][rate] = (after["accepted"] - before["accepted"]) / len(turns)
            share = [
                100 * (b - a) / load.seconds if load.seconds else 0.0
                for a, b in zip(used, now, strict=True)
            ]
            cpu[target.name][rate] = {
                "server CPU %": share[0],
                "fake API CPU %": share[1],
                "generator CPU %": share[2],
            }
    results = []
    for target, database in targets:
        for level, load in loads[target.name].items():
            statuses = ", ".join(f"{k}: {v}" for k, v in sorted(load.statuses.items()))
            results.append(
                Result(
                    bench="B3",
                    name=f"{target.name} at {level:g} turns/s",
                    database=database,
                    values={
                        "offered/s": level,
                        "achieved/s": load.rate,
                        "p50 ms": _ms(load, 0.5),
                        "p99 ms": _ms(load, 0.99),
                        "errors": load.errors,
                        "sends/turn": sends[target.name][level],
                        **cpu[target.name][level],
                    },
                    note=f"{load.offered} turns in {seconds:g} s; answers {statuses}",
                )
            )
    best = {name: held(by_rate) for name, by_rate in loads.items()}
    ptb_best = best["bare PTB webhook"]
    for target, database in targets:
        top = best[target.name]
        ours_side = database is not None
        results.append(
            Result(
                bench="B3",
                name=f"{target.name}: highest rate held",
                database=database,
                values={"held turns/s": top},
                ratio=(top / ptb_best) if ours_side and ptb_best else None,
                ratio_of="held turns/s ÷ bare PTB's held turns/s" if ours_side else "",
                note=(
                    f"held: p99 < {P99_GOAL * 1000:.0f} ms, no errors, >= {HELD_SHARE:.0%} of "
                    f"the rate answered; rates tried {', '.join(f'{r:g}' for r in rates)}"
                    + (
                        " (PTB held the highest tried: the ratio is an upper bound)"
                        if ours_side and ptb_best == max(rates)
                        else ""
                    )
                ),
            )
        )
    return results
