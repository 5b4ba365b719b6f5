"""The wall and its feeds are built once per version of what they show and kept: every
change a reader must see (publication, take-down, withdrawal, erasure, a moderator's
choice of files or title) reaches the next reader at once, on every replica."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from bot.app import Bot
from bot.web import wall
from bot.web.page_cache import PageCache
from moderation import decisions
from moderation.actors import Moderator, Storyteller
from moderation.reasons import ReasonCode
from moderation.states import Role
from storage import pledges
from storage.models import Story
from tests import media_samples as samples
from tests.web.helpers import Dashboard, item_row, publish, tell
from tests.web.test_wall_media import attach, path_of

PATHS = ("/stories", "/stories.json", "/stories.rss", "/stories?lang=ja")


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the wall read its stories from the database."""
    counted: list[int] = []
    real = wall.published_stories

    async def counting(*args: Any, **kwargs: Any) -> Any:
        counted.append(1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(wall, "published_stories", counting)
    return counted


async def bodies(client: httpx.AsyncClient, *extra: str) -> dict[str, str]:
    return {path: (await client.get(path)).text for path in (*PATHS, *extra)}


async def test_a_page_is_built_once_per_version(
    bot: Bot, client: httpx.AsyncClient, builds: list[int]
) -> None:
    item_id = await tell(bot, "amina")
    await publish(bot, item_id)
    story_id = (await item_row(bot, item_id)).story_id
    for _ in range(5):
        await bodies(client, f"/stories/{story_id}")
    assert len(builds) == len(PATHS) + 1  # one build per page, however many readers

    # A pledge changes the count on the kept page, not the page.
    async with bot.deps.db.transaction() as session:
        await pledges.take_pledge(
            session,
            bot.deps.db,
            campaign_id=bot.settings.default_campaign,
            identity_key="k1",
            participant_id=None,
        )
    assert "1 person has taken the pledge." in (await client.get("/stories")).text
    assert len(builds) == len(PATHS) + 1

    # A new publication is a new version: every page is built again, once.
    await publish(bot, await tell(bot, "omar", text="A second story."))
    for _ in range(3):
        seen = await bodies(client)
        assert all("A second story." in body for body in seen.values())
    assert len(builds) == 2 * len(PATHS) + 1


async def test_readers_arriving_at_once_wait_for_one_build(
    bot: Bot, client: httpx.AsyncClient, builds: list[int]
) -> None:
    await publish(bot, await tell(bot, "amina"))
    answers = await asyncio.gather(*(client.get("/stories") for _ in range(20)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert len(builds) == 1


Change = Callable[[Bot, int, int], Awaitable[None]]


async def _withdraw(bot: Bot, item_id: int, story_id: int) -> None:
    async with bot.deps.db.transaction() as session:
        story = await session.get(Story, story_id)
        assert story is not None and story.participant_id is not None
        await decisions.withdraw(
            session, item_id=item_id, storyteller=Storyteller(story.participant_id)
        )


async def _take_down(bot: Bot, item_id: int, story_id: int) -> None:
    version = (await item_row(bot, item_id)).version
    async with bot.deps.db.transaction() as session:
        await decisions.unpublish(
            session,
            item_id=item_id,
            version=version,
            moderator=Moderator(id="lea", role=Role.LEAD),
            reason=ReasonCode.PERSONAL_DATA,
        )


async def _erase(bot: Bot, item_id: int, story_id: int) -> None:
    async with bot.deps.db.transaction() as session:
        await decisions.erase(session, item_id=item_id)


@pytest.mark.parametrize("change", [_withdraw, _take_down, _erase])
async def test_a_story_leaving_the_wall_leaves_every_kept_page(
    bot: Bot, client: httpx.AsyncClient, change: Change
) -> None:
    item_id = await tell(bot, "amina")
    await publish(bot, item_id)
    story_id = (await item_row(bot, item_id)).story_id
    before = await bodies(client, f"/stories/{story_id}")
    assert all("Aleppo" in body for body in before.values())
    await change(bot, item_id, story_id)
    after = await bodies(client, f"/stories/{story_id}")
    assert all("Aleppo" not in body for body in after.values()), change.__name__
    assert (await client.get(f"/stories/{story_id}")).status_code == 404


async def test_a_moderators_choice_reaches_another_replica_at_once(
    bot: Bot, client: httpx.AsyncClient, new_client: Any
) -> None:
    item_id = await tell(bot, "amina")
    story_id = (await item_row(bot, item_id)).story_id
    photo = await attach(bot, story_id, samples.jpeg_with_gps(), alt="A bus")
    await publish(bot, item_id)
    thumb = path_of(photo, "thumb")
    async with new_client() as replica:  # another app: its own kept pages
        for reader in (client, replica):
            seen = await bodies(reader, f"/stories/{story_id}")
            assert thumb in seen["/stories"] and thumb in seen["/stories.json"]
            assert "From Aleppo to Osaka" not in seen["/stories"]
        browser = Dashboard(client)
        await browser.sign_in(bot, "ana")
        await browser.act(item_id, "media", media=str(photo.id), alt_text="A bus")
        await browser.act(item_id, "title", text="From Aleppo to Osaka")
        for reader in (client, replica):
            seen = await bodies(reader, f"/stories/{story_id}")
            assert all(thumb not in body for body in seen.values())
            assert "From Aleppo to Osaka" in seen["/stories"]
            assert "From Aleppo to Osaka" in seen[f"/stories/{story_id}"]


async def test_the_cache_keeps_the_newest_pages_it_was_given() -> None:
    built: list[str] = []

    def builder(value: str) -> Callable[[], Awaitable[str]]:
        async def build() -> str:
            built.append(value)
            return value

        return build

    cache: PageCache[str] = PageCache(max_entries=2)
    assert await cache.get("a", 1, builder("a1")) == "a1"
    assert await cache.get("a", 1, builder("again")) == "a1"
    assert await cache.get("a", 2, builder("a2")) == "a2"
    assert await cache.get("b", 1, builder("b1")) == "b1"
    assert await cache.get("c", 1, builder("c1")) == "c1"  # "a" was used longest ago
    assert len(cache) == 2
    assert await cache.get("a", 2, builder("a2 again")) == "a2 again"
    # An older build finishing late never replaces a newer page.
    assert await cache.get("a", 1, builder("a1 late")) == "a1 late"
    assert await cache.get("a", 2, builder("unused")) == "a2 again"
    off: PageCache[str] = PageCache(max_entries=0)
    assert await off.get("a", 1, builder("x")) == "x"
    assert await off.get("a", 1, builder("y")) == "y" and len(off) == 0
