"""B5 rate-limited delivery: the outbox against Telegram's limits, with a SIGKILL midway.

3,000 outbox messages to distinct private chats and 200 to one group (one in 16 of the
queue, interleaved) are stored before the bot starts. The bot (``python -m bench.serve``,
``bot.cli run`` in a process of its own, long polling a fake Bot API) delivers them
through its outbox dispatcher to a fake Bot API (bench/fake_api.py, in this process)
that enforces Telegram's sending limits as sliding windows, 30 messages in any second
overall, one a second per private chat, 20 a minute per group, all ``SCALE`` times
higher (every window ``SCALE`` times shorter: Telegram's minute in 6 s), answering
``429`` with ``retry_after`` over a limit. The bot's own limits are set ``SCALE`` times
higher too (``BENCH_LIMITS_SCALE``). When half the messages have been accepted the bot
is killed (SIGKILL) and started again on the same database.

Measured at the fake, by each message's identity (its text): delivered ÷ allowed rate
for the private chats (messages a second over the time they took, the restart's
downtime taken out, ÷ the overall limit) and for the group (the least time the group's
limit allows for 200 ÷ the time they took, downtime out); the ``429`` answers; lost
(never accepted) and duplicated (accepted more than once).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from bench.common import Context, Result
from bench.fake_api import BenchBotApi, SendingLimits
from bench.servers import TOKEN, HttpServer, bot_env, database_for_child, free_port
from bot.core.events import Outgoing
from storage import outbox
from storage.db import Database
from storage.migrate import upgrade

SCALE = 10
PRIVATE = 3000
GROUP = 200
GROUP_CHAT = "-1001000000001"
LEASE_SECONDS = 5  # OUTBOX_LEASE_SECONDS: what a killed run held on PostgreSQL waits this long
QUICK = {"private": 40, "group": 25}
QUICK_SCALE = 100  # the group's minute in 0.6 s


def text_of(number: int) -> str:
    return f"Bench message {number}: the TOGETHER campaign thanks you."


async def fill(url: str, private: int, group: int) -> int:
    """The database migrated and the messages queued; returns how many."""
    db = Database(url)
    try:
        await upgrade(db)
        total = private + group
        every = total // group if group else total + 1
        chat = 100_000
        async with db.transaction() as session:
            for number in range(total):
                if number % every == every - 1 and number // every < group:
                    chat_id = GROUP_CHAT
                else:
                    chat += 1
                    chat_id = str(chat)
                await outbox.enqueue(
                    session,
                    dedupe_key=f"bench-b5-{number}",
                    platform="telegram",
                    chat_id=chat_id,
                    payload={"message": Outgoing(text=text_of(number)).to_json()},
                )
    finally:
        await db.dispose()
    return total


def span(times: list[float], down: tuple[float, float]) -> float:
    """Seconds from the first to the last of ``times``, the bot's downtime taken out."""
    if len(times) < 2:
        return 0.0
    first, last = min(times), max(times)
    overlap = max(0.0, min(last, down[1]) - max(first, down[0]))
    return last - first - overlap


async def measure(ctx: Context) -> list[Result]:
    private = QUICK["private"] if ctx.quick else PRIVATE
    group = QUICK["group"] if ctx.quick else GROUP
    results = []
    for database in ctx.databases:
        async with database_for_child(ctx, database) as url:
            results.append(await one_run(ctx, database, url, private, group))
    return results


async def one_run(ctx: Context, database: str, url: str, private: int, group: int) -> Result:
    total = await fill(url, private, group)
    scale = QUICK_SCALE if ctx.quick else SCALE
    limits = SendingLimits(scale=scale)
    api = BenchBotApi(TOKEN, limits=limits)
    await api.start()
    try:
        port = free_port()
        bot = HttpServer(
            "b5-bot",
            ["-m", "bench.serve"],
            bot_env(
                ctx.tmp,
                url,
                port,
                api_base_url=api.base_url,
                BENCH_LIMITS_SCALE=str(scale),
                OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
            ),
            ctx.tmp,
            port=port,
        )
        killed_at: list[float] = []

        def kill_midway(accepted: int) -> None:
            if accepted >= total // 2 and not killed_at:
                killed_at.append(time.monotonic())
                bot.kill()

        api.after_accept = kill_midway
        within = 3 * allowed_group_seconds(group, scale) + 3 * total / (30 * scale) + 120
        try:
            # Not waited on: it may well be killed before it answers its first request.
            bot.spawn()
            await until_killed(bot, api, lambda: bool(killed_at), within)
            await bot.wait()
            respawned_at = time.monotonic()
            await bot.start()
            with contextlib.suppress(TimeoutError):  # what never arrives is lost, below
                await api.wait_until(lambda: len(api.distinct) >= total, within)
        finally:
            await bot.stop()
    finally:
        await api.close()
    resumed = min((at for at, _chat, _text in api.accepted if at > respawned_at), default=0.0)
    down = (killed_at[0], max(resumed, killed_at[0]))
    wanted = {text_of(n) for n in range(total)}
    private_times = [at for at, chat, text in api.accepted if chat != GROUP_CHAT and text in wanted]
    group_times = [at for at, chat, text in api.accepted if chat == GROUP_CHAT and text in wanted]
    private_seconds = span(private_times, down)
    group_seconds = span(group_times, down)
    private_rate = (private / private_seconds) if private_seconds else 0.0
    private_ratio = private_rate / (30 * scale)
    group_ratio = allowed_group_seconds(group, scale) / group_seconds if group_seconds else 0.0
    accepted = [text for _at, _chat, text in api.accepted if text in wanted]
    lost = len(wanted - set(accepted))
    duplicated = len(accepted) - len(set(accepted))
    return Result(
        bench="B5",
        name=f"outbox: {private} chats + {group} to a group, SIGKILL midway, limits x{scale:g}",
        database=database,
        values={
            "private msg/s": private_rate,
            "private ÷ allowed": private_ratio,
            "group ÷ allowed": group_ratio,
            "429s": api.too_many,
            "429s group": limits.refused["group"],
            "429s overall": limits.refused["overall"],
            "lost": lost,
            "duplicated": duplicated,
            "downtime s": down[1] - down[0],
        },
        ratio=min(private_ratio, group_ratio),
        ratio_of="delivered ÷ allowed rate (the lower of private chats and group)",
        note=(
            f"Telegram's limits x{scale:g} (30/s overall, 1/s a chat, 20/min a group, windows "
            f"{scale:g}x shorter), the bot's likewise; OUTBOX_LEASE_SECONDS="
            f"{LEASE_SECONDS}; killed after {total // 2} accepted"
        ),
    )


async def until_killed(
    bot: HttpServer, api: BenchBotApi, killed: Callable[[], bool], within: float
) -> None:
    """Wait for the kill; a bot that ends by itself first (it failed) raises at once."""

    async def ends() -> None:
        # A Popen child gives this loop no event to wait on; its exit is looked at.
        while bot.alive():  # noqa: ASYNC110
            await asyncio.sleep(0.2)

    kill = asyncio.create_task(api.wait_until(killed, within))
    ended = asyncio.create_task(ends())
    try:
        await asyncio.wait({kill, ended}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ended.cancel()
    if not kill.done():
        kill.cancel()
        raise RuntimeError(f"the bot ended before it was killed:\n{bot.tail()}")
    kill.result()


def allowed_group_seconds(group: int, scale: float) -> float:
    """The least time the group's limit allows between its first and last message: 20
    in a window, the next 20 a window later, and so on."""
    return ((group - 1) // 20) * 60.0 / scale
