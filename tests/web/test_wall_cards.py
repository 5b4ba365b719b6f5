"""The wall's cards: titles, filters by language and country, the live pledge count,
share buttons under the strict CSP, and link previews (Open Graph, Twitter cards)."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
from sqlalchemy import update

from bot.app import Bot
from storage import pledges
from storage.models import ModerationItem, Story
from tests.web.helpers import item_row, parse_rss, publish, tell

ARABIC = "هل تعرف كيف وصلت؟ غادرت حلب سنة ٢٠١٥.\n\nاليوم أدرس التمريض."


async def story_of(bot: Bot, item_id: int, **values: Any) -> int:
    """The item's story id, after setting ``values`` on the story (its locale on the
    item too, as intake would have)."""
    story_id = (await item_row(bot, item_id)).story_id
    async with bot.deps.db.transaction() as session:
        if values:
            await session.execute(update(Story).where(Story.id == story_id).values(**values))  # type: ignore[arg-type]
        if "locale" in values:
            await session.execute(
                update(ModerationItem)
                .where(ModerationItem.id == item_id)  # type: ignore[arg-type]
                .values(locale=values["locale"])
            )
    return story_id


def meta(page: str, key: str) -> str | None:
    """The content of the ``<meta property|name="key">`` of a page."""
    match = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)">', page)
    return match.group(1) if match else None


async def test_a_card_has_a_title_credit_countries_and_share_buttons(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "amina")
    await publish(bot, item_id)
    story_id = await story_of(bot, item_id)
    page = await client.get("/stories")
    assert page.status_code == 200
    card = page.text[page.text.index(f'id="story-{story_id}"') :]
    assert (
        f'<h2 class="story-title" id="title-{story_id}" lang="en" dir="ltr">'
        f'<a href="/stories/{story_id}">I left Aleppo in 2015 with my mother and two '
        "brothers.</a></h2>"
    ) in card
    assert "— Amina, from Syria, living in Japan" in card
    assert "Thank you for welcoming us." in card
    url = f"{bot.settings.resolved_public_url}/stories/{story_id}"
    assert f'data-url="{url}"' in card
    assert 'class="share-copy" hidden>Copy the link</button>' in card
    assert 'class="share-native" hidden>Share this story</button>' in card

    # The buttons' script is our own file: the CSP allows no inline or foreign script.
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert '<script src="/static/wall.js" defer></script>' in page.text
    assert "<script>" not in page.text
    script = await client.get("/static/wall.js")
    assert script.status_code == 200 and "navigator.share" in script.text
    assert not re.search(r"https?://", script.text)  # nothing from another site

    # Countries in the page's language.
    japanese = (await client.get("/stories?lang=ja")).text
    assert "シリア" in japanese and "日本" in japanese


async def test_the_moderators_title_and_a_first_sentence_in_arabic(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    titled = await tell(bot, "amina")
    await publish(bot, titled)
    titled_id = await story_of(bot, titled, title="From Aleppo to Osaka")
    arabic = await tell(bot, "layla", text=ARABIC, credit="Anonymous")
    await publish(bot, arabic)
    arabic_id = await story_of(bot, arabic, locale="ar")

    page = (await client.get("/stories")).text
    assert f'<a href="/stories/{titled_id}">From Aleppo to Osaka</a>' in page
    assert (
        f'<h2 class="story-title" id="title-{arabic_id}" lang="ar" dir="rtl">'
        f'<a href="/stories/{arabic_id}">هل تعرف كيف وصلت؟</a>'
    ) in page
    feed = (await client.get("/stories.json")).json()["stories"]
    assert {s["id"]: s["title"] for s in feed} == {
        titled_id: "From Aleppo to Osaka",
        arabic_id: "هل تعرف كيف وصلت؟",
    }
    rss = parse_rss((await client.get("/stories.rss")).content)
    assert [i.findtext("title") for i in rss.iter("item")] == [
        "هل تعرف كيف وصلت؟",
        "From Aleppo to Osaka",
    ]


async def test_filters_by_language_and_country(bot: Bot, client: httpx.AsyncClient) -> None:
    syria = await tell(bot, "amina", text="The story from Syria.")
    await publish(bot, syria)
    syria_id = await story_of(bot, syria)
    afghan = await tell(bot, "layla", text=ARABIC)
    await publish(bot, afghan)
    afghan_id = await story_of(bot, afghan, locale="ar", origin_country="AF")

    def shown(body: str) -> set[int]:
        return {int(n) for n in re.findall(r'<article class="story" id="story-(\d+)"', body)}

    everything = (await client.get("/stories")).text
    assert shown(everything) == {syria_id, afghan_id}
    # The filters offer the languages and countries published stories have, by name.
    assert '<option value="ar" lang="ar">العربية</option>' in everything
    assert '<option value="AF">Afghanistan</option>' in everything
    assert '<option value="DE">' not in everything

    assert shown((await client.get("/stories?language=ar")).text) == {afghan_id}
    assert shown((await client.get("/stories?country=af")).text) == {afghan_id}
    assert shown((await client.get("/stories?country=JP")).text) == {syria_id, afghan_id}
    assert shown((await client.get("/stories?country=SY&language=en")).text) == {syria_id}
    chosen = (await client.get("/stories?country=AF")).text
    assert '<option value="AF" selected>Afghanistan</option>' in chosen
    # Nothing matches: said kindly, with the way back.
    none = await client.get("/stories?country=DE")
    assert none.status_code == 200 and shown(none.text) == set()
    assert "No published story matches this choice yet." in none.text
    # Unknown values are no error: every story.
    for query in ("language=xx", "country=Atlantis", "language=%3Cb%3E", "country="):
        answer = await client.get(f"/stories?{query}")
        assert answer.status_code == 200 and shown(answer.text) == {syria_id, afghan_id}, query

    feed = (await client.get("/stories.json?language=ar")).json()["stories"]
    assert [s["id"] for s in feed] == [afghan_id]
    rss = parse_rss((await client.get("/stories.rss?country=SY")).content)
    assert [i.findtext("link") for i in rss.iter("item")] == [
        f"{bot.settings.resolved_public_url}/stories/{syria_id}"
    ]


async def test_paging_keeps_the_filters(
    bot: Bot, client: httpx.AsyncClient, monkeypatch: Any
) -> None:
    from bot.web import wall

    for user in ("a", "b", "c"):
        await publish(bot, await tell(bot, user, text=f"Story of {user}."))
    monkeypatch.setattr(wall, "PAGE_SIZE", 1)
    first = (await client.get("/stories?lang=ja&country=SY")).text
    assert 'href="/stories?lang=ja&amp;country=SY&amp;page=2"' in first
    second = (await client.get("/stories?lang=ja&country=SY&page=2")).text
    assert 'href="/stories?lang=ja&amp;country=SY"' in second
    assert '<input type="hidden" name="lang" value="ja">' in second


async def test_the_live_pledge_count_and_the_way_to_pledge(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    page = (await client.get("/stories")).text
    assert '<span class="pledge-count">0 people have taken the pledge.</span>' in page
    assert '<a class="pledge-link" href="/?start=pledge">Take the pledge</a>' in page
    async with bot.deps.db.transaction() as session:
        await pledges.take_pledge(
            session,
            bot.deps.db,
            campaign_id=bot.settings.default_campaign,
            identity_key="k1",
            participant_id=None,
        )
    page = (await client.get("/stories")).text
    assert '<span class="pledge-count">1 person has taken the pledge.</span>' in page
    missing = await client.get("/stories/999")
    assert missing.status_code == 404 and "1 person has taken the pledge." in missing.text
    assert "This story is not published." in missing.text


async def test_a_shared_link_previews_with_its_title_and_opening_words(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "amina", text="I left Aleppo in 2015. " + "We walked. " * 40)
    await publish(bot, item_id)
    story_id = await story_of(bot, item_id)
    page = (await client.get(f"/stories/{story_id}")).text
    url = f"{bot.settings.resolved_public_url}/stories/{story_id}"
    assert meta(page, "og:title") == "I left Aleppo in 2015."
    assert meta(page, "twitter:title") == "I left Aleppo in 2015."
    description = meta(page, "og:description") or ""
    assert description.startswith("I left Aleppo in 2015. We walked.")
    assert description.endswith("…") and len(description) <= 200
    assert meta(page, "twitter:description") == description
    assert meta(page, "og:url") == url
    assert f'<link rel="canonical" href="{url}">' in page
    assert meta(page, "og:type") == "article"
    # No photo published: no image, and the small card.
    assert meta(page, "og:image") is None and meta(page, "twitter:image") is None
    assert meta(page, "twitter:card") == "summary"
    assert f'<h1 class="story-title" id="title-{story_id}"' in page
    assert "<title>I left Aleppo in 2015. · TOGETHER — stories</title>" in page


async def test_a_right_to_left_page(bot: Bot, client: httpx.AsyncClient) -> None:
    await publish(bot, await tell(bot, "amina"))
    page = (await client.get("/stories?lang=ar")).text
    expected = "rtl" if bot.deps.translator.supports("ar") else "ltr"
    assert f'<html lang="{"ar" if expected == "rtl" else "en"}" dir="{expected}">' in page
    # The English story keeps its own direction inside the right-to-left page.
    assert '<div class="story-text" lang="en" dir="ltr">' in page


async def test_a_title_with_markup_is_escaped_everywhere(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "amina")
    await publish(bot, item_id)
    title = '"><script>alert(1)</script><img src=x onerror=alert(2)> & co'
    story_id = await story_of(bot, item_id, title=title)
    escaped = (
        "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; &amp; co"
    )
    for path in ("/stories", f"/stories/{story_id}"):
        page = (await client.get(path)).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert escaped in page, path
    story_page = (await client.get(f"/stories/{story_id}")).text
    assert meta(story_page, "og:title") == escaped
    rss = await client.get("/stories.rss")
    assert "<script>" not in rss.text
    assert parse_rss(rss.content).findtext("channel/item/title") == html.escape(title, quote=False)
    assert (await client.get("/stories.json")).json()["stories"][0]["title"] == title
