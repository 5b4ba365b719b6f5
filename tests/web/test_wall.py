"""The public story wall and its feeds: only published stories, as credited, at once."""

from __future__ import annotations

import httpx
import pytest

from bot.app import Bot
from bot.web import wall
from moderation import decisions
from tests.web.helpers import item_row, parse_rss, publish, tell


async def test_an_empty_wall_and_a_missing_story(client: httpx.AsyncClient) -> None:
    page = await client.get("/stories")
    assert page.status_code == 200 and "No stories are published yet." in page.text
    assert page.headers["cache-control"] == "no-cache"
    assert '<html lang="en" dir="ltr">' in page.text
    assert (await client.get("/stories/1")).status_code == 404
    assert (await client.get("/stories.json")).json() == {
        "stories": [],
        "locale": "en",
        "next": None,
    }
    rss = await client.get("/stories.rss")
    assert rss.status_code == 200 and rss.headers["content-type"].startswith("application/rss+xml")
    assert parse_rss(rss.content).get("version") == "2.0"


async def test_stories_waiting_for_review_are_not_shown(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "amina")
    story_id = (await item_row(bot, item_id)).story_id
    assert "Aleppo" not in (await client.get("/stories")).text
    assert (await client.get(f"/stories/{story_id}")).status_code == 404
    assert (await client.get("/stories.json")).json()["stories"] == []


async def test_newest_first_paginated_and_in_the_readers_language(
    bot: Bot, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    older = await tell(bot, "amina", text="The first story to be published.")
    await publish(bot, older)
    newer = await tell(bot, "omar", text="The second story to be published.")
    await publish(bot, newer)
    monkeypatch.setattr(wall, "PAGE_SIZE", 1)
    monkeypatch.setattr(wall, "FEED_SIZE", 1)

    first = (await client.get("/stories")).text
    assert "The second story" in first and "The first story" not in first
    assert 'href="/stories?page=2"' in first
    second = (await client.get("/stories?page=2")).text
    assert "The first story" in second and "The second story" not in second
    assert 'href="/stories"' in second

    feed = (await client.get("/stories.json")).json()
    assert [s["text"] for s in feed["stories"]] == ["The second story to be published."]
    assert feed["next"] == f"{bot.settings.resolved_public_url}/stories.json?page=2"

    japanese = await client.get("/stories?lang=ja")
    assert '<html lang="ja" dir="ltr">' in japanese.text
    assert "シリア" in japanese.text and "日本" in japanese.text  # Syria, Japan
    assert 'href="/stories?lang=ja&amp;page=2"' in japanese.text
    odd = (await client.get("/stories?lang=%3Cb%3E")).text
    assert "<b>" not in odd and 'href="/stories?lang=en&amp;page=2"' in odd
    by_header = await client.get("/stories.json", headers={"Accept-Language": "ja,en;q=0.5"})
    assert "シリア" in by_header.json()["stories"][0]["credit"]
    assert by_header.json()["locale"] == "ja"


async def test_erased_and_withdrawn_stories_disappear_at_once(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "amina")
    await publish(bot, item_id)
    story_id = (await item_row(bot, item_id)).story_id
    assert (await client.get(f"/stories/{story_id}")).status_code == 200
    async with bot.deps.db.transaction() as session:
        await decisions.erase(session, item_id=item_id)
    assert (await client.get(f"/stories/{story_id}")).status_code == 404
    for path in ("/stories", "/stories.json", "/stories.rss"):
        assert "Aleppo" not in (await client.get(path)).text


async def test_the_story_page_is_what_the_notice_links_to(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "amina")
    await publish(bot, item_id)
    story_id = (await item_row(bot, item_id)).story_id
    page = await client.get(f"/stories/{story_id}")
    assert page.status_code == 200
    assert f"Story #{story_id}" in page.text and "All stories" in page.text
    assert '<div class="story-text" lang="en" dir="ltr">' in page.text
