"""B1 durable dialog: our whole core against a bare python-telegram-bot 22
``ConversationHandler`` with the same four steps, in memory, in this process, on SQLite.

Each person takes the pledge: ``/pledge``, the button tap, two skips (``bench.common
.pledge``; PTB's twin is ``bench.ptb``). Measured interleaved, the median of
``ctx.rounds`` rounds, new people every round:

- ours, replies returned (``core.handle``: the web chat's path), one person after another;
- ours, durable replies (``core.accept``: replies stored in the turn's transaction, sent
  after the commit to a sender that does nothing, marked sent: Telegram's and Slack's path);
- ours, all the round's people at once (concurrent turns);
- PTB bare (replies built, not sent), PTB sending to an in-process Bot API, and PTB with a
  naive synchronous sqlite3 write of the state every step.

Then, per turn kind, the statements SQLAlchemy sends (``before_cursor_execute``), the
transactions, and the thread-to-loop hand-offs (``call_soon_threadsafe``), and the cost of
a redelivered event against a new one.
"""

from __future__ import annotations

import itertools
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from bench import ptb
from bench.common import (
    SQLITE,
    Context,
    DurableChat,
    HandOffs,
    Result,
    StatementCounter,
    Timer,
    bot_on,
    median_rounds_many,
    pledge,
)
from bot.adapters.memory import MemoryChat
from bot.app import Bot

KINDS = ("/pledge", "tap", "skip (name)", "skip (country, completes)")
STEPS: tuple[Callable[[MemoryChat], Awaitable[object]], ...] = (
    lambda chat: chat.send("/pledge"),
    lambda chat: chat.press("c:pledge"),
    lambda chat: chat.send("/skip"),
    lambda chat: chat.send("/skip"),
)
_ptb_users = itertools.count(10_000)


async def ours(bot: Bot, chat: type[MemoryChat], people: int) -> dict[str, float]:
    tag = uuid.uuid4().hex[:8]
    turns = 0
    with Timer() as t:
        for i in range(people):
            turns += await pledge(chat(bot.core, user_id=f"{tag}-{i}"))
    return {"turns/s": turns / t.wall, "cpu ms/turn": 1000 * t.cpu / turns}


async def ours_concurrent(bot: Bot, people: int) -> dict[str, float]:
    import asyncio

    tag = uuid.uuid4().hex[:8]
    with Timer() as t:
        done = await asyncio.gather(
            *(pledge(MemoryChat(bot.core, user_id=f"{tag}-c{i}")) for i in range(people))
        )
    turns = sum(done)
    return {"turns/s": turns / t.wall, "cpu ms/turn": 1000 * t.cpu / turns}


async def theirs(
    app: Any, conversation: ptb.PledgeConversation, people: int, *, parse: bool = True
) -> dict[str, float]:
    """PTB's updates/s: each parsed from Telegram's JSON in the loop (``parse``), or
    parsed before the clock starts."""
    before = conversation.total
    if parse:
        updates = [d for _ in range(people) for d in ptb.pledge_json(next(_ptb_users))]
        with Timer() as t:
            for data in updates:
                await app.process_update(Update.de_json(data, app.bot))
    else:
        parsed = [u for _ in range(people) for u in ptb.pledge_updates(app, next(_ptb_users))]
        with Timer() as t:
            for update in parsed:
                await app.process_update(update)
    assert conversation.total - before == people, "PTB's conversation did not complete"
    turns = 4 * people
    return {"turns/s": turns / t.wall, "cpu ms/turn": 1000 * t.cpu / turns}


async def per_kind(bot: Bot, chat: type[MemoryChat], people: int) -> dict[str, float]:
    """Median statements, transactions and hand-offs of each turn kind of the flow."""
    seen: dict[str, list[int]] = {}
    tag = uuid.uuid4().hex[:8]
    with StatementCounter(bot.deps.db) as statements, HandOffs() as handoffs:
        for i in range(people):
            person = chat(bot.core, user_id=f"{tag}-k{i}")
            for kind, step in zip(KINDS, STEPS, strict=True):
                statements.take()
                statements.take_transactions()
                handoffs.take()
                await step(person)
                seen.setdefault(f"{kind}: statements", []).append(statements.take())
                seen.setdefault(f"{kind}: transactions", []).append(statements.take_transactions())
                seen.setdefault(f"{kind}: hand-offs", []).append(handoffs.take())
    return {key: statistics.median(values) for key, values in seen.items()}


async def duplicate_cost(bot: Bot, events: int) -> float:
    """Seconds of a new event divided by seconds of its redelivery (higher: cheaper dup)."""
    chat = MemoryChat(bot.core, user_id=f"dup-{uuid.uuid4().hex[:8]}")
    new_times, dup_times = [], []
    for i in range(events):
        key = f"dup-{uuid.uuid4().hex[:8]}-{i}"
        t0 = time.perf_counter()
        await chat.send("/menu", key=key)
        t1 = time.perf_counter()
        await chat.send("/menu", key=key)
        t2 = time.perf_counter()
        new_times.append(t1 - t0)
        dup_times.append(t2 - t1)
    return statistics.median(new_times) / statistics.median(dup_times)


async def dialog(ctx: Context, database: str, bench: str) -> list[Result]:
    """The whole comparison on ``database``, as ``bench``'s rows."""
    people = ctx.size(60, 2)
    ptb_people = ctx.size(1000, 10)
    conversations = {
        mode: ptb.PledgeConversation(mode, ctx.tmp / f"ptb-{uuid.uuid4().hex[:8]}.db")
        for mode in ptb.MODES
    }
    apps = {mode: await ptb.application(c) for mode, c in conversations.items()}
    try:
        async with bot_on(ctx, database) as bot:
            await ours(bot, MemoryChat, ctx.size(10, 1))  # warm up: imports, caches
            for mode in ptb.MODES:
                await theirs(apps[mode], conversations[mode], ctx.size(50, 1))
            got = await median_rounds_many(
                ctx.rounds,
                {
                    "ours": lambda: ours(bot, MemoryChat, people),
                    "ptb bare": lambda: theirs(apps["bare"], conversations["bare"], ptb_people),
                    "ours durable": lambda: ours(bot, DurableChat, people),
                    "ptb sent": lambda: theirs(apps["sent"], conversations["sent"], ptb_people),
                    "ours concurrent": lambda: ours_concurrent(bot, people),
                    "ptb sqlite": lambda: theirs(
                        apps["sqlite"], conversations["sqlite"], ptb_people
                    ),
                    "ptb pre-parsed": lambda: theirs(
                        apps["bare"], conversations["bare"], ptb_people, parse=False
                    ),
                },
            )
            kinds_plain = await per_kind(bot, MemoryChat, ctx.size(5, 1))
            kinds_durable = await per_kind(bot, DurableChat, ctx.size(5, 1))
            dup = await duplicate_cost(bot, ctx.size(50, 2))
    finally:
        for app in apps.values():
            await app.shutdown()
        for conversation in conversations.values():
            conversation.close()

    ours_tps = got["ours"]["turns/s"]
    durable_tps = got["ours durable"]["turns/s"]
    bare = got["ptb bare"]["turns/s"]
    sizes = f"{people} people × 4 turns (ours), {ptb_people} × 4 updates (PTB) per round"
    return [
        Result(
            bench,
            "pledge flow: ours (replies returned) vs bare PTB ConversationHandler",
            database,
            {
                "ours turns/s": ours_tps,
                "PTB updates/s": bare,
                "ours CPU ms/turn": got["ours"]["cpu ms/turn"],
                "PTB CPU ms/update": got["ptb bare"]["cpu ms/turn"],
            },
            ours_tps / bare,
            "ours turns/s ÷ bare PTB updates/s",
            f"{sizes}; PTB parses each update (Update.de_json) and its handlers build their "
            "replies and send nothing (the issue's baseline); ours parse nothing",
        ),
        Result(
            bench,
            "pledge flow: ours vs PTB's dispatch alone (updates parsed beforehand)",
            database,
            {
                "PTB pre-parsed updates/s": got["ptb pre-parsed"]["turns/s"],
                "PTB pre-parsed CPU ms/update": got["ptb pre-parsed"]["cpu ms/turn"],
            },
            ours_tps / got["ptb pre-parsed"]["turns/s"],
            "ours turns/s ÷ pre-parsed PTB updates/s",
            "the strictest yardstick: the ConversationHandler and nothing else",
        ),
        Result(
            bench,
            "pledge flow: ours with durable replies vs bare PTB",
            database,
            {
                "durable turns/s": durable_tps,
                "CPU ms/turn": got["ours durable"]["cpu ms/turn"],
                "durable ÷ returned": durable_tps / ours_tps,
            },
            durable_tps / bare,
            "ours durable turns/s ÷ bare PTB updates/s",
            "replies stored in the turn's transaction, sent after it to a null sender, marked sent",
        ),
        Result(
            bench,
            "pledge flow: ours vs PTB sending its replies (in-process Bot API)",
            database,
            {
                "PTB sent updates/s": got["ptb sent"]["turns/s"],
                "PTB sent CPU ms/update": got["ptb sent"]["cpu ms/turn"],
            },
            ours_tps / got["ptb sent"]["turns/s"],
            "ours turns/s ÷ PTB-sending updates/s",
            "PTB serialises each reply and parses the answer of a local fake request",
        ),
        Result(
            bench,
            "pledge flow: ours durable vs PTB with a sync sqlite3 write per step",
            database,
            {
                "PTB+sqlite3 updates/s": got["ptb sqlite"]["turns/s"],
                "PTB+sqlite3 CPU ms/update": got["ptb sqlite"]["cpu ms/turn"],
            },
            durable_tps / got["ptb sqlite"]["turns/s"],
            "ours durable turns/s ÷ PTB+sqlite3 updates/s",
            "INSERT OR REPLACE of the state and a commit per update (WAL, synchronous=NORMAL)",
        ),
        Result(
            bench,
            f"pledge flow: ours, {people} people at once",
            database,
            {
                "concurrent turns/s": got["ours concurrent"]["turns/s"],
                "CPU ms/turn": got["ours concurrent"]["cpu ms/turn"],
            },
            got["ours concurrent"]["turns/s"] / ours_tps,
            "concurrent turns/s ÷ sequential turns/s",
        ),
        Result(
            bench,
            "per turn kind, replies returned",
            database,
            kinds_plain,
            note="statements the driver ran (sqlite3's trace; on PostgreSQL asyncpg's query "
            "logger and SQLAlchemy's), BEGIN/COMMIT apart; transactions = COMMITs and "
            "ROLLBACKs; hand-offs = call_soon_threadsafe (a driver thread → the loop)",
        ),
        Result(bench, "per turn kind, durable replies", database, kinds_durable),
        Result(
            bench,
            "a redelivered event against a new one (/menu)",
            database,
            {},
            dup,
            "median seconds of a new event ÷ of its redelivery",
        ),
    ]


async def measure(ctx: Context) -> list[Result]:
    return await dialog(ctx, SQLITE, "B1")
