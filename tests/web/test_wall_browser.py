"""The wall in a real browser (Playwright driving Debian's Chromium), on a phone and on a
desktop: cards, the filter, the share buttons."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import Bot
from tests import media_samples as samples
from tests.web.helpers import item_row, publish, tell
from tests.web.test_wall_cards import ARABIC, story_of
from tests.web.test_wall_media import attach

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# Headless Chromium on Linux has no share sheet: a phone's, recording what it is given.
SHARE_SHEET = "navigator.share = async (data) => { window.sharedWith = data; };"


async def two_stories(bot: Bot) -> tuple[int, int]:
    first = await tell(bot, "amina")
    first_id = (await item_row(bot, first)).story_id
    await attach(bot, first_id, samples.jpeg_with_gps(width=900, height=600), alt="A bus")
    await publish(bot, first)
    second = await tell(bot, "layla", text=ARABIC, credit="Anonymous")
    await publish(bot, second)
    second_id = await story_of(bot, second, locale="ar", origin_country="AF")
    return first_id, second_id


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_the_wall_on_a_phone_and_a_desktop(
    page_factory: Any, bot: Bot, viewport: dict[str, int]
) -> None:
    first_id, second_id = await two_stories(bot)
    page = await page_factory()
    await page.set_viewport_size(viewport)
    phone = viewport is PHONE
    if phone:
        await page.add_init_script(SHARE_SHEET)
    else:
        await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.goto("/stories")

    cards = page.locator("article.story")
    assert await cards.count() == 2
    photo = page.locator(f"#story-{first_id} img")
    assert await photo.get_attribute("alt") == "A bus"
    assert await photo.get_attribute("loading") == "lazy"
    title = page.locator(f"#title-{second_id}")
    assert await title.get_attribute("dir") == "rtl"
    # Nothing wider than the screen.
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    card = page.locator(f"#story-{first_id}")
    url = await card.locator(".share").get_attribute("data-url")
    assert url and url.endswith(f"/stories/{first_id}")
    if phone:
        await card.get_by_role("button", name="Share this story").click()
        shared = await page.evaluate("window.sharedWith")
        assert shared["url"] == url
        assert shared["title"] == "I left Aleppo in 2015 with my mother and two brothers."
    else:
        await card.get_by_role("button", name="Copy the link").click()
        await card.get_by_text("Link copied.").wait_for()
        assert await page.evaluate("navigator.clipboard.readText()") == url

    # The filter: stories with a country.
    await page.get_by_label("Country").select_option("AF")
    await page.get_by_role("button", name="Show stories").click()
    await page.wait_for_url("**/stories?*country=AF*")
    assert await cards.count() == 1
    assert await page.locator(f"#story-{second_id}").count() == 1
    assert await page.get_by_label("Country").input_value() == "AF"
