"""B4 pledge storm: 10,000 pledge attempts from 5,000 people at once, on each database.

Every attempt is a supporter's pledge through the whole core, as real turns on the
durable path Telegram uses (``core.accept``: replies stored, sent to a null sender,
marked sent): ``/pledge``, then the tap on "I take the pledge". Each person makes two
attempts, one after the other (they come back through a shared link): the first is
counted, the second is told they already pledged. All people run at once, at most
``CONCURRENCY`` attempts in flight. Afterwards the counter's total and the confirmed rows
must both be exactly the number of people (checked: a wrong total fails the run).

The yardstick, in the same run on the same database: plain INSERTs of similar rows (a
pledge's columns, its unique key), one per transaction, through the driver the bot uses
(SQLite: the bot's own writer connection, its pragmas; PostgreSQL: asyncpg, a pool as
large as the bot's), with the same number in flight; measured before and after the storm,
the mean of the two. The ratio is pledge attempts/s ÷ INSERTs/s.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import func, select
from sqlmodel import col

from bench.common import (
    SQLITE,
    Admitted,
    Context,
    DurableChat,
    Result,
    Timer,
    bot_at,
    fresh_database,
)
from bot.app import Bot
from storage import pledges
from storage.models import Pledge, PledgeState

CONCURRENCY = 200
PG_POOL = 30  # the bot's: pool_size 10 + max_overflow 20 (storage.db)
COUNTED = "Your pledge is counted"
ALREADY = "You already took the pledge"
RAW_TABLE = "bench_raw_pledge"
RAW_COLUMNS = (
    "campaign_id VARCHAR(64) NOT NULL, identity_key VARCHAR(64) NOT NULL, "
    "participant_id INTEGER, state VARCHAR(16) NOT NULL, referral VARCHAR(64), "
    "created_at TIMESTAMP NOT NULL, UNIQUE (campaign_id, identity_key)"
)


async def storm(bot: Bot, people: int, attempts_each: int, concurrency: int) -> dict[str, float]:
    tag = uuid.uuid4().hex[:8]
    gate = asyncio.Semaphore(concurrency)
    outcomes = {"new": 0, "already": 0, "other": 0}
    admitted = Admitted()  # a turn refused by admission control: again after Retry-After

    async def person(number: int) -> None:
        chat = DurableChat(bot.core, user_id=f"{tag}-{number}")
        for _ in range(attempts_each):
            async with gate:
                await admitted(lambda: chat.send("/pledge"))
                text = "\n".join(m.text for m in await admitted(lambda: chat.press("c:pledge")))
            outcomes["new" if COUNTED in text else "already" if ALREADY in text else "other"] += 1

    with Timer() as t:
        await asyncio.gather(*(person(n) for n in range(people)))
    attempts = people * attempts_each
    campaign = bot.deps.settings.default_campaign
    async with bot.deps.db.transaction() as session:
        total = await pledges.pledge_total(session, campaign)
        rows = (
            await session.execute(
                select(func.count())
                .select_from(Pledge)
                .where(
                    col(Pledge.campaign_id) == campaign,
                    col(Pledge.state) == PledgeState.CONFIRMED.value,
                )
            )
        ).scalar_one()
    if total != people or rows != people:
        raise AssertionError(
            f"pledge storm: counter total {total} and {rows} confirmed rows, "
            f"expected exactly {people}"
        )
    return {
        "people": people,
        "attempts": attempts,
        "total": total,
        "counted replies": outcomes["new"],
        "already replies": outcomes["already"],
        "other replies": outcomes["other"],
        "refusals (retried)": admitted.refusals,
        "attempts/s": attempts / t.wall,
        "turns/s": 2 * attempts / t.wall,
        "CPU ms/attempt": 1000 * t.cpu / attempts,
        "seconds": t.wall,
    }


def _raw_row(tag: str, number: int) -> tuple[object, ...]:
    return ("raw", f"{tag}{number:056d}", number, "confirmed", None, datetime.now(UTC))


async def raw_sqlite(bot: Bot, rows: int, concurrency: int) -> float:
    """INSERTs/s through the bot's own SQLite writer connection, one per transaction."""
    tag = uuid.uuid4().hex[:8]
    gate = asyncio.Semaphore(concurrency)
    writer = asyncio.Lock()  # one connection: one transaction at a time, as the bot's
    sql = f"INSERT INTO {RAW_TABLE} VALUES (?, ?, ?, ?, ?, ?)"  # noqa: S608 (a constant)
    async with bot.deps.db.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None

        async def run(statement: str, parameters: tuple[object, ...] | None = None) -> None:
            cursor = await driver.execute(statement, parameters)
            await cursor.close()

        await run(f"CREATE TABLE IF NOT EXISTS {RAW_TABLE} ({RAW_COLUMNS})")

        async def insert(number: int) -> None:
            async with gate, writer:
                await run("BEGIN IMMEDIATE")
                await run(sql, _raw_row(tag, number))
                await run("COMMIT")

        with Timer() as t:
            await asyncio.gather(*(insert(n) for n in range(rows)))
    return rows / t.wall


async def raw_postgres(url: str, schema: str | None, rows: int, concurrency: int) -> float:
    """INSERTs/s through asyncpg (autocommit: one transaction each), a pool as the bot's."""
    import asyncpg

    tag = uuid.uuid4().hex[:8]
    gate = asyncio.Semaphore(concurrency)
    settings = {"search_path": schema} if schema else {}
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=PG_POOL, server_settings=settings)
    sql = f"INSERT INTO {RAW_TABLE} VALUES ($1, $2, $3, $4, $5, $6)"  # noqa: S608 (a constant)
    try:
        await pool.execute(f"CREATE TABLE IF NOT EXISTS {RAW_TABLE} ({RAW_COLUMNS})")

        async def insert(number: int) -> None:
            row = _raw_row(tag, number)
            async with gate:
                await pool.execute(sql, *row[:-1], row[-1].replace(tzinfo=None))  # type: ignore[attr-defined]

        with Timer() as t:
            await asyncio.gather(*(insert(n) for n in range(rows)))
    finally:
        await pool.close()
    return rows / t.wall


async def measure(ctx: Context) -> list[Result]:
    people = ctx.size(5_000, 10)
    attempts_each = 2
    concurrency = ctx.size(CONCURRENCY, 5)
    raw_rows = ctx.size(10_000, 20)
    results = []
    raw: Callable[[], Awaitable[float]]
    for database in ctx.databases:
        async with fresh_database(ctx, database) as (url, schema), bot_at(ctx, url, schema) as bot:
            if database == SQLITE:
                raw = partial(raw_sqlite, bot, raw_rows, concurrency)
            else:
                raw = partial(raw_postgres, url, schema, raw_rows, concurrency)
            raw_before = await raw()
            got = await storm(bot, people, attempts_each, concurrency)
            raw_after = await raw()
        inserts = (raw_before + raw_after) / 2
        got["raw INSERTs/s"] = inserts
        got["new pledges/s"] = people / got["seconds"]
        results.append(
            Result(
                "B4",
                f"pledge storm: {people * attempts_each:,} attempts from {people:,} people, "
                f"{concurrency} in flight",
                database,
                got,
                got["attempts/s"] / inserts,
                "pledge attempts/s ÷ raw INSERTs/s (one per transaction, same driver)",
                f"total exactly {people:,} (checked); an attempt = /pledge + the tap, "
                "durable replies; raw INSERTs: mean of before and after the storm "
                f"({raw_before:,.0f} and {raw_after:,.0f}/s)",
            )
        )
    return results
