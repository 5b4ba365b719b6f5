"""The story wall under a shared link: requests/s with the kept pages against building
every page, side by side in one run (a ratio, not a timed assertion).

    python -m bench.wall     # SQLite, and PostgreSQL when TEST_DATABASE_URL is reachable

Each database gets 60 published stories (a third with a published photo) and a pledge
count. Two apps serve the same bot: the wall as it runs (pages and feeds kept per version
of what they show) and the same wall keeping nothing. For the wall page (20 cards), the
JSON feed (50 stories) and one story's page: the median of 3 rounds of 100 sequential
requests, and of 100 requests at once (readers of a viral link arriving together).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from starlette.applications import Starlette

from bench.run import make
from bot.app import Bot
from bot.web.page_cache import PageCache
from bot.web.wall import StoryWall
from storage.media import MediaStore
from storage.models import StoryMedia
from tests import media_samples
from tests.web.helpers import item_row, publish, tell

ROUNDS = 3
REQUESTS = 100
STORIES = 60


async def published(bot: Bot) -> int:
    """Publish the stories; returns the id of one of them."""
    owner = MediaStore.owner_of("bench" * 5)
    story_id = 0
    for number in range(STORIES):
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


def client(bot: Bot, *, keep: bool) -> httpx.AsyncClient:
    wall = StoryWall(bot.deps, cache=PageCache() if keep else PageCache(max_entries=0))
    app = Starlette(routes=wall.routes())
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8080"
    )


async def rate(http: httpx.AsyncClient, path: str, *, together: bool) -> float:
    start = time.perf_counter()
    if together:
        answers = await asyncio.gather(*(http.get(path) for _ in range(REQUESTS)))
    else:
        answers = [await http.get(path) for _ in range(REQUESTS)]
    assert all(answer.status_code == 200 for answer in answers), path
    return REQUESTS / (time.perf_counter() - start)


async def measure(bot: Bot) -> list[tuple[str, str, float, float]]:
    story_id = await published(bot)
    rows = []
    async with client(bot, keep=False) as building, client(bot, keep=True) as keeping:
        for path in ("/stories", "/stories.json", f"/stories/{story_id}"):
            for together in (False, True):
                await keeping.get(path)  # the first reader builds it
                built = statistics.median(
                    [await rate(building, path, together=together) for _ in range(ROUNDS)]
                )
                kept = statistics.median(
                    [await rate(keeping, path, together=together) for _ in range(ROUNDS)]
                )
                name = path if not path[-1].isdigit() else "/stories/<id>"
                rows.append((name, "at once" if together else "one by one", built, kept))
    return rows


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        databases = {"sqlite": f"sqlite+aiosqlite:///{tmp}/bench.db"}
        pg_url = os.environ.get("TEST_DATABASE_URL", "")
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        conn = None
        if pg_url:
            import asyncpg

            conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
            await conn.execute(f"CREATE SCHEMA {schema}")
            databases["postgresql"] = pg_url
        print(
            f"{'database':<12}{'page':<16}{'requests':<12}"
            f"{'built/s':>9}{'kept/s':>9}{'kept/built':>12}"
        )
        try:
            for name, url in databases.items():
                data = Path(tmp) / name
                bot = await make(url, data, schema if name == "postgresql" else None)
                try:
                    for page, how, built, kept in await measure(bot):
                        print(
                            f"{name:<12}{page:<16}{how:<12}"
                            f"{built:>9.0f}{kept:>9.0f}{kept / built:>12.1f}"
                        )
                finally:
                    await bot.deps.db.dispose()
        finally:
            if conn is not None:
                await conn.execute(f"DROP SCHEMA {schema} CASCADE")
                await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
