"""A partner campaign's counter badge: its name and count in a small SVG with nothing
but text in it, every character of the name escaped, kept briefly; on both databases."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import httpx
import pytest

from bot.app import Bot, create_app
from bot.i18n.formatting import format_count
from storage.campaigns import add_campaign, disable_campaign
from storage.pledges import take_pledge

SVG = "{http://www.w3.org/2000/svg}"
NAME = 'Cafés <Lyon> & "Friends"'


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client_of(bot: Bot) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(bot, migrate=False))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080")


async def _pledges(bot: Bot, campaign_id: str, people: range) -> None:
    for person in people:
        async with bot.deps.db.transaction() as session:
            await take_pledge(
                session,
                bot.deps.db,
                campaign_id=campaign_id,
                identity_key=f"person-{person}",
                participant_id=None,
            )


async def _badge(bot: Bot, path: str, **headers: str) -> httpx.Response:
    async with client_of(bot) as http:
        return await http.get(path, headers=headers)


async def test_the_badge_shows_the_name_escaped_and_the_count(bot: Bot) -> None:
    await add_campaign(bot.deps.db, "cafes-lyon", title={"en": NAME})
    await _pledges(bot, "cafes-lyon", range(2))
    await _pledges(bot, bot.settings.default_campaign, range(5))  # another campaign's
    answer = await _badge(bot, "/campaigns/cafes-lyon/badge.svg")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/svg+xml"
    assert answer.headers["cache-control"] == "public, max-age=60"
    assert "&lt;Lyon&gt; &amp; &quot;Friends&quot;" in answer.text
    assert "<Lyon>" not in answer.text and '"Friends"' not in answer.text
    svg = ET.fromstring(answer.text)  # noqa: S314 - the app's own output, in a test
    assert svg.tag == f"{SVG}svg"
    assert svg.get("aria-label") == f"{NAME}: 2 pledges"
    assert svg.findtext(f"{SVG}title") == f"{NAME}: 2 pledges"
    assert [text.text for text in svg.iter(f"{SVG}text")] == [NAME, "2 pledges"]
    # Text and shapes only: nothing that runs, loads or links.
    assert {element.tag.removeprefix(SVG) for element in svg.iter()} == {
        "svg",
        "title",
        "rect",
        "g",
        "text",
    }
    assert not [name for e in svg.iter() for name in e.attrib if name.startswith("on")]


async def test_the_count_is_in_the_readers_digits(bot: Bot) -> None:
    await add_campaign(bot.deps.db, "cairo", title={"en": "Cairo", "ar": "القاهرة"})
    await _pledges(bot, "cairo", range(3))
    french = await _badge(bot, "/campaigns/cairo/badge.svg?lang=fr")
    assert "Cairo: 3 engagements" in french.text  # no French name: the default one
    arabic = await _badge(bot, "/campaigns/cairo/badge.svg", **{"accept-language": "ar-EG"})
    assert f"القاهرة: {format_count(3, 'ar')} " in arabic.text
    assert arabic.headers["vary"] == "Accept-Language"


async def test_the_count_is_kept_briefly(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(bot.deps.rarely, "_clock", clock)
    await add_campaign(bot.deps.db, "geneva", title={"en": "Geneva"})
    await _pledges(bot, "geneva", range(1))
    assert "Geneva: 1 pledge" in (await _badge(bot, "/campaigns/geneva/badge.svg")).text
    await _pledges(bot, "geneva", range(1, 3))
    clock.now += 29
    assert "Geneva: 1 pledge" in (await _badge(bot, "/campaigns/geneva/badge.svg")).text
    clock.now += 1
    assert "Geneva: 3 pledges" in (await _badge(bot, "/campaigns/geneva/badge.svg")).text


async def test_a_disabled_campaign_keeps_its_count(bot: Bot) -> None:
    await add_campaign(bot.deps.db, "closed", title={"en": "Closed"})
    await _pledges(bot, "closed", range(4))
    assert await disable_campaign(bot.deps.db, "closed")
    assert "Closed: 4 pledges" in (await _badge(bot, "/campaigns/closed/badge.svg")).text


@pytest.mark.parametrize("campaign_id", ["nowhere", "Cafes", "a" * 49, "x%3Cy"])
async def test_no_badge_for_an_unknown_campaign(bot: Bot, campaign_id: str) -> None:
    answer = await _badge(bot, f"/campaigns/{campaign_id}/badge.svg")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/plain")
