"""B7 the story wall under a viral link: 500 readers at once over real loopback HTTP.

Each database gets 30 published stories (a third with a published photo) and a pledge
count, written before the bot starts. Two servers then serve that database, each the bot
under uvicorn in a process of its own (``python -m bench.serve``): the wall as it runs
(pages kept per version of what they show) and the same wall building every page for
every reader (``BENCH_WALL=built``). For the wall (``/stories``, 20 cards) and one
story's page, 500 readers on connections of their own each reload as soon as their page
arrived (closed loop), until the requests are shared out; requests/s and p99, the median
of the rounds, kept and built interleaved; the ratio is kept ÷ built requests/s.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.common import Context, Result, median_rounds_many, settings_for
from bench.loopback import closed_loop, request
from bench.servers import HttpServer, bot_env, database_for_child, free_port
from bot.app import Bot, build_bot
from bot.handlers.pledge import DEFAULT_MILESTONES
from storage.db import Database
from storage.media import MediaStore
from storage.migrate import upgrade
from storage.models import StoryMedia
from storage.pledges import ensure_campaign
from tests import media_samples
from tests.web.helpers import item_row, publish, tell

STORIES = 30
READERS = 500
REQUESTS = 500  # each reader one page: the link's readers arriving together
QUICK = {"stories": 3, "readers": 10, "requests": 20}
# A reader who waited this long has given up (counted as an error, not a latency).
PATIENCE = 30.0


async def published(bot: Bot, stories: int) -> int:
    """Publish the stories (a third with a photo); returns the id of the last."""
    owner = MediaStore.owner_of("bench" * 5)
    story_id = 0
    for number in range(stories):
        item_id = await tell(bot, f"teller-{number}", text=f"Story number {number}. " * 20)
        story_id = (await item_row(bot, item_id)).story_id
        if number % 3 == 0:
            photo = await bot.deps.media.ingest(
                media_samples.jpeg_with_gps(width=1200, height=800), owner=owner
            )
            async with bot.deps.db.transaction() as session:
                session.add(
                    StoryMedia(
                        story_id=story_id,
                        position=0,
                        kind=photo.kind.value,
                        platform="bench",
                        ref=f"local:{photo.name}",
                        mime=photo.mime,
                        size=photo.size,
                        publish=True,
                        alt_text="A photo",
                    )
                )
        await publish(bot, item_id)
    return story_id


async def seed(ctx: Context, url: str, stories: int) -> tuple[int, Path]:
    """Migrate and fill the database as the bot would; returns a story id and the data
    directory the servers must share (the photos live there)."""
    data = ctx.tmp / f"wall-{uuid.uuid4().hex[:8]}"
    data.mkdir(parents=True)
    db = Database(url)
    try:
        await upgrade(db)
        settings = settings_for(data)
        await ensure_campaign(db, settings.default_campaign, milestones=DEFAULT_MILESTONES)
        bot = build_bot(settings, db=db)
        story_id = await published(bot, stories)
    finally:
        await db.dispose()
    return story_id, data


async def measure(ctx: Context) -> list[Result]:
    stories = QUICK["stories"] if ctx.quick else STORIES
    readers = QUICK["readers"] if ctx.quick else READERS
    total = QUICK["requests"] if ctx.quick else REQUESTS
    results = []
    for database in ctx.databases:
        async with database_for_child(ctx, database) as url:
            story_id, data = await seed(ctx, url, stories)
            servers = {}
            for how in ("kept", "built"):
                port = free_port()
                env = bot_env(ctx.tmp, url, port, data=data)
                if how == "built":
                    env["BENCH_WALL"] = "built"
                servers[how] = HttpServer(
                    f"wall-{how}", ["-m", "bench.serve"], env, ctx.tmp, port=port
                )
            try:
                await asyncio.gather(*(server.start() for server in servers.values()))
                for page, path in (
                    ("/stories", "/stories"),
                    ("/stories/<id>", f"/stories/{story_id}"),
                ):
                    results.append(
                        await one_page(ctx, database, page, path, servers, readers, total)
                    )
            finally:
                for server in servers.values():
                    await server.stop()
    return results


async def one_page(
    ctx: Context,
    database: str,
    page: str,
    path: str,
    servers: dict[str, HttpServer],
    readers: int,
    total: int,
) -> Result:
    def measuring(server: HttpServer) -> Callable[[], Awaitable[dict[str, float]]]:
        raw = request("GET", path, host=f"127.0.0.1:{server.port}")

        async def once() -> dict[str, float]:
            load = await closed_loop(
                "127.0.0.1", server.port, [raw] * total, readers, patience=PATIENCE
            )
            p99 = load.percentile(0.99) if load.ok else PATIENCE
            return {"requests/s": load.rate, "p99 ms": p99 * 1000, "errors": load.errors}

        return once

    for server in servers.values():  # the first reader builds the kept page
        await closed_loop(
            "127.0.0.1", server.port, [request("GET", path, host=f"127.0.0.1:{server.port}")], 1
        )
    medians = await median_rounds_many(
        ctx.rounds, {how: measuring(server) for how, server in servers.items()}
    )
    kept, built = medians["kept"], medians["built"]
    return Result(
        bench="B7",
        name=f"wall {page}, {readers} readers at once",
        database=database,
        values={
            "kept req/s": kept["requests/s"],
            "kept p99 ms": kept["p99 ms"],
            "built req/s": built["requests/s"],
            "built p99 ms": built["p99 ms"],
            "errors": kept["errors"] + built["errors"],
        },
        ratio=kept["requests/s"] / built["requests/s"],
        ratio_of="kept req/s ÷ built req/s",
        note=(
            f"{total} requests over {readers} connections, median of {ctx.rounds} rounds; "
            f"errors: non-2xx or no answer within {PATIENCE:g} s"
        ),
    )
