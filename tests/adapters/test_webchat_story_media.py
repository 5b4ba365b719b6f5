"""A story read in the web chat shows its published photo, voice note and video inline,
from the wall's addresses, with the moderator's alt text; never a file the moderator did
not publish, and a file hidden since disappears from the transcript too."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.app import Bot, create_app
from bot.review.service import ActionRequest, ReviewAction
from moderation.actors import Moderator
from moderation.presentation import FileChoice
from moderation.states import Role
from tests import media_samples as samples
from tests.adapters.test_webchat import Browser
from tests.adapters.test_webchat_browser import page_factory, tap  # noqa: F401
from tests.web.helpers import item_row
from tests.web.test_wall_media import attach, path_of, published_story


@pytest.fixture
async def browser(bot: Bot) -> AsyncIterator[Browser]:
    transport = httpx.ASGITransport(app=create_app(bot, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as http:
        yield Browser(http)


def card_media(browser: Browser) -> list[dict[str, str]]:
    cards = [
        m
        for m in browser.messages.values()
        if m["from"] == "bot" and "I left Aleppo" in str(m["text"])
    ]
    assert cards, browser.all_text
    return list(cards[-1]["media"])  # type: ignore[call-overload]


async def test_a_story_card_shows_its_published_files_inline(browser: Browser, bot: Bot) -> None:
    item_id, story_id = await published_story(bot)
    hidden = await attach(bot, story_id, samples.jpeg_with_gps(width=40, height=40), publish=False)
    photo = await attach(
        bot,
        story_id,
        samples.jpeg_with_gps(width=800, height=400),
        alt="Amina's garden",
        position=1,
    )
    voice = await attach(bot, story_id, samples.ogg_opus_with_tags(), position=2, alt="A song")
    video = await attach(bot, story_id, samples.mp4_with_location(), position=3)

    await browser.open()
    await browser.tap("Read stories")
    shown = card_media(browser)
    assert shown == [
        {
            "kind": "photo",
            "url": path_of(photo),
            "thumb": path_of(photo, "thumb"),
            "alt": "Amina's garden",
        },
        {"kind": "voice", "url": path_of(voice), "alt": "A song"},
        {"kind": "video", "url": path_of(video), "alt": ""},
    ]
    assert path_of(hidden) not in str(browser.messages)
    # Every address answers, as on the wall: the photo's small copy, the voice note by ranges.
    thumb = await browser.client.get(path_of(photo, "thumb"))
    assert thumb.status_code == 200 and not samples.leaks(thumb.content)
    ranged = await browser.client.get(path_of(voice), headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and len(ranged.content) == 10
    assert (await browser.client.get(path_of(hidden))).status_code == 404
    # The files are in the chat: no link out to the wall for them.
    card = next(m for m in browser.messages.values() if m["media"])
    assert not [c for c in card["choices"] if "page" in str(c.get("label"))]  # type: ignore[attr-defined]

    # The moderator hides the photo: gone from the transcript as from the wall.
    item = await item_row(bot, item_id)
    outcome = await bot.review.act(
        Moderator(id="lea", role=Role.LEAD),
        ActionRequest(ReviewAction.MEDIA, item_id, item.version),
        file=FileChoice(photo.id or 0, publish=False, alt_text="Amina's garden"),
    )
    assert outcome.ok, outcome.message
    browser.messages.clear()
    await browser.history()
    assert [m["kind"] for m in card_media(browser)] == ["voice", "video"]


async def test_the_browser_shows_the_photo_with_its_alt_text_and_plays_the_voice_note(
    page_factory,  # type: ignore[no-untyped-def]  # noqa: F811
    bot: Bot,
) -> None:
    _item_id, story_id = await published_story(bot)
    photo = await attach(
        bot, story_id, samples.jpeg_with_gps(width=800, height=400), alt="Amina's garden"
    )
    voice = await attach(bot, story_id, samples.ogg_opus_with_tags(), position=1, alt="A song")
    page = await page_factory()
    await page.goto("/")
    await page.locator("#log").get_by_text("Welcome to TOGETHER").wait_for()
    await tap(page, "Read stories")
    image = page.locator('#log img.photo[alt="Amina\'s garden"]')
    await image.wait_for()
    assert (await image.get_attribute("src") or "").endswith(path_of(photo, "thumb"))
    # Loaded from the wall (a broken image would have been replaced by a link).
    await page.wait_for_function(
        "() => { const i = document.querySelector('#log img.photo'); "
        "return i && i.complete && i.naturalWidth > 0; }"
    )
    player = page.locator('#log audio.player[aria-label="A song"]')
    assert await player.get_attribute("controls") is not None
    assert (await player.get_attribute("src") or "").endswith(path_of(voice))
