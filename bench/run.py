"""Benchmarks, side by side in one run, reported as ratios (not timed assertions).

    make bench            # SQLite, and PostgreSQL when TEST_DATABASE_URL is reachable

What it measures, each as the median of several rounds:
- turns/s of the whole bot (dedupe, lock, state write, router, flow) for the pledge
  flow, sequential and concurrent, on SQLite and PostgreSQL;
- the cost of a redelivered (duplicate) event relative to a new one;
- the cost of durable replies: the same turns with their replies stored in the turn's
  transaction, sent (to a sender that does nothing) and marked sent, as Telegram and
  Slack do, against replies only returned (as the web chat, whose transcript is its
  own store).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.adapters.memory import MemoryChat
from bot.app import Bot, build_bot
from bot.config import Settings
from bot.core.events import Inbound, Outgoing
from bot.handlers.pledge import DEFAULT_MILESTONES
from storage.db import Database
from storage.pledges import ensure_campaign

ROUNDS = 3
USERS = 60


async def make(url: str, data: Path, schema: str | None = None) -> Bot:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data,
        identity_secret="bench-identity-secret-0123456789",  # type: ignore[arg-type]
        session_secret="bench-session-secret-0123456789",  # type: ignore[arg-type]
    )
    db = Database(url, pg_schema=schema)
    await db.create_all()
    bot = build_bot(settings, db=db)
    await ensure_campaign(db, settings.default_campaign, milestones=DEFAULT_MILESTONES)
    return bot


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


async def pledge(chat: MemoryChat) -> int:
    await chat.send("/pledge")
    await chat.press("c:pledge")
    await chat.send("/skip")
    await chat.send("/skip")
    return 4


async def sequential(bot: Bot, tag: str, chat: type[MemoryChat] = MemoryChat) -> float:
    start = time.perf_counter()
    turns = 0
    for i in range(USERS):
        turns += await pledge(chat(bot.core, user_id=f"{tag}-s{i}"))
    return turns / (time.perf_counter() - start)


async def durable_sequential(bot: Bot, tag: str) -> float:
    return await sequential(bot, tag, DurableChat)


async def concurrent(bot: Bot, tag: str) -> float:
    start = time.perf_counter()
    done = await asyncio.gather(
        *(pledge(MemoryChat(bot.core, user_id=f"{tag}-c{i}")) for i in range(USERS))
    )
    return sum(done) / (time.perf_counter() - start)


async def duplicate_cost(bot: Bot, tag: str) -> float:
    """Seconds of a new event divided by seconds of its redelivery (higher = cheaper dup)."""
    chat = MemoryChat(bot.core, user_id=f"{tag}-dup")
    new_times, dup_times = [], []
    for i in range(USERS):
        key = f"{tag}-{i}"
        t0 = time.perf_counter()
        await chat.send("/menu", key=key)
        t1 = time.perf_counter()
        await chat.send("/menu", key=key)
        t2 = time.perf_counter()
        new_times.append(t1 - t0)
        dup_times.append(t2 - t1)
    return statistics.median(new_times) / statistics.median(dup_times)


async def median(measure: Callable[[Bot, str], Awaitable[float]], bot: Bot) -> float:
    return statistics.median([await measure(bot, uuid.uuid4().hex[:6]) for _ in range(ROUNDS)])


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bots = {"sqlite": await make(f"sqlite+aiosqlite:///{tmp}/bench.db", Path(tmp))}
        pg_url = os.environ.get("TEST_DATABASE_URL", "")
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        if pg_url:
            import asyncpg

            conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
            await conn.execute(f"CREATE SCHEMA {schema}")
            bots["postgresql"] = await make(pg_url, Path(tmp), schema)
        rows = []
        try:
            for name, bot in bots.items():
                rows.append(
                    (
                        name,
                        await median(sequential, bot),
                        await median(concurrent, bot),
                        await median(duplicate_cost, bot),
                        await median(durable_sequential, bot),
                    )
                )
        finally:
            for bot in bots.values():
                await bot.deps.db.dispose()
            if pg_url:
                await conn.execute(f"DROP SCHEMA {schema} CASCADE")
                await conn.close()
    base = rows[0][1]
    print(
        f"{'database':<12}{'seq turns/s':>14}{'conc turns/s':>14}{'conc/seq':>10}"
        f"{'vs sqlite seq':>15}{'new/dup':>9}{'durable seq':>13}{'durable/plain':>15}"
    )
    for name, seq, conc, dup, durable in rows:
        print(
            f"{name:<12}{seq:>14.0f}{conc:>14.0f}{conc / seq:>10.2f}{seq / base:>15.2f}"
            f"{dup:>9.1f}{durable:>13.0f}{durable / seq:>15.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
