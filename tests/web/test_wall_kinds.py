"""The wall by kind of story: labels on host-community stories and films, the filter by
kind (kept in paging links and the page cache), the films link, a film's link as a plain
link, and the kind in both feeds."""

from __future__ import annotations

import html

import httpx
import pytest
from markupsafe import escape

from bot.app import Bot
from bot.web import wall
from tests.web.helpers import parse_rss, publish, tell
from tests.web.test_wall_cards import story_of

FILM = "Two Rivers\n\nTwo sisters learn to swim.\n\nhttps://vimeo.com/76979871"
WELCOME = "Our village opened the old school for newcomers.\n\nWe cook together on Fridays."


async def published(bot: Bot, user: str, kind: str = "migrant", text: str | None = None) -> int:
    """A published story of ``kind``; returns its story id."""
    item_id = await tell(bot, user, **({"text": text} if text else {}))
    story_id = await story_of(bot, item_id, kind=kind)
    await publish(bot, item_id)
    return story_id


def card(page: str, story_id: int) -> str:
    start = page.index(f'id="story-{story_id}"')
    return page[start : page.index("</article>", start)]


async def test_host_community_stories_and_films_carry_a_label(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    migrant = await published(bot, "amina")
    host = await published(bot, "kenji", "host_community", WELCOME)
    film = await published(bot, "rosa", "film", FILM)
    page = (await client.get("/stories")).text
    assert 'class="story-kind"' not in card(page, migrant)
    assert '<p class="story-kind">Welcoming newcomers</p>' in card(page, host)
    assert '<p class="story-kind">Short film</p>' in card(page, film)
    assert '<p class="story-kind">Short film</p>' in (await client.get(f"/stories/{film}")).text
    # The film's title is its first line; its link a plain one that opens elsewhere.
    film_card = card(page, film)
    assert f'<a href="/stories/{film}">Two Rivers</a>' in film_card
    assert (
        '<a href="https://vimeo.com/76979871" rel="noopener nofollow ugc" target="_blank"'
    ) in film_card
    assert "<iframe" not in page and "player.vimeo.com" not in page


async def test_the_filter_by_kind_and_an_unknown_kind(bot: Bot, client: httpx.AsyncClient) -> None:
    migrant = await published(bot, "amina")
    film = await published(bot, "rosa", "film", FILM)
    films = (await client.get("/stories?kind=film")).text
    assert f'id="story-{film}"' in films and f'id="story-{migrant}"' not in films
    assert '<option value="film" selected>Short films</option>' in films
    mine = (await client.get("/stories?kind=migrant")).text
    assert f'id="story-{migrant}"' in mine and f'id="story-{film}"' not in mine
    for unknown in ("poem", "FILM", "", "film' OR 1=1"):
        answer = await client.get("/stories", params={"kind": unknown})
        assert answer.status_code == 200
        assert f'id="story-{film}"' in answer.text and f'id="story-{migrant}"' in answer.text
    none = (await client.get("/stories?kind=host_community")).text
    assert "No published story matches this choice yet." in none


async def test_the_kind_is_kept_in_paging_links(
    bot: Bot, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wall, "PAGE_SIZE", 1)
    await published(bot, "rosa", "film", FILM)
    await published(bot, "sara", "film", FILM)
    page = (await client.get("/stories?kind=film")).text
    assert 'href="/stories?kind=film&amp;page=2" rel="next"' in page
    feed = (await client.get("/stories.json?kind=film")).json()
    assert all(story["tags"] == ["film"] for story in feed["stories"])


async def test_the_films_link_only_with_a_published_film(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    await published(bot, "amina")
    page = (await client.get("/stories")).text
    assert "Short films" not in page and 'name="kind"' not in page
    await published(bot, "rosa", "film", FILM)
    page = (await client.get("/stories")).text
    assert '<p class="films-link"><a href="/stories?kind=film">Short films</a></p>' in page
    assert 'name="kind"' in page
    arabic = (await client.get("/stories?lang=ar")).text
    assert 'href="/stories?lang=ar&amp;kind=film"' in arabic


async def test_each_kind_is_its_own_page_in_the_cache(bot: Bot, client: httpx.AsyncClient) -> None:
    migrant = await published(bot, "amina")
    film = await published(bot, "rosa", "film", FILM)
    # Read each twice: a kept page of one kind is never served for another.
    for _ in range(2):
        every = (await client.get("/stories")).text
        films = (await client.get("/stories?kind=film")).text
        mine = (await client.get("/stories?kind=migrant")).text
        assert f'id="story-{migrant}"' in every and f'id="story-{film}"' in every
        assert f'id="story-{migrant}"' not in films
        assert f'id="story-{film}"' not in mine
        rss = (await client.get("/stories.rss?kind=film")).text
        assert "Aleppo" not in rss


async def test_the_feeds_carry_the_kind(bot: Bot, client: httpx.AsyncClient) -> None:
    migrant = await published(bot, "amina")
    film = await published(bot, "rosa", "film", FILM)
    feed = (await client.get("/stories.json")).json()
    tags = {story["id"]: story["tags"] for story in feed["stories"]}
    assert tags == {migrant: ["migrant"], film: ["film"]}
    rss = parse_rss((await client.get("/stories.rss")).content)
    categories = [item.findtext("category") for item in rss.iter("item")]
    assert sorted(categories) == ["film", "migrant"]  # type: ignore[type-var]


async def test_a_hostile_film_title_and_link_stay_text(bot: Bot, client: httpx.AsyncClient) -> None:
    title = "<script>alert(1)</script> Rivers"
    link = 'https://vimeo.com/1"><script>alert(2)</script>'
    film = await published(bot, "rosa", "film", f"{title}\n\nAbout it.\n\n{link}")
    for path in ("/stories", f"/stories/{film}"):
        page = (await client.get(path)).text
        assert "<script>alert" not in page
        assert html.escape(title) in page
        assert f'href="{escape(link)}"' in page
    # Anything but a known film host over https is text, never a link.
    other = await published(bot, "sara", "film", "Rivers\n\nAbout it.\n\njavascript:alert(3)")
    page = card((await client.get("/stories")).text, other)
    assert 'class="film-link"' not in page and "javascript:alert(3)" in page
