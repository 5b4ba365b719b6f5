"""The partner campaigns' list and header in a real browser (Playwright driving Debian's
Chromium), on a phone, right to left: the list renders, a name stays text, a link opens
the campaign's own view; axe-core finds nothing serious."""

from __future__ import annotations

from typing import Any

from bot.app import Bot
from storage.campaigns import add_campaign
from tests.web.test_accessibility import severe_violations
from tests.web.test_wall_browser import PHONE
from tests.web.test_wall_campaigns import pledges

EVIL = "<img src=x onerror=window.pwned=1> & co"


async def test_the_partner_campaigns_list_on_a_phone(page_factory: Any, bot: Bot) -> None:
    await add_campaign(bot.deps.db, "cafes-lyon", title={"en": "Cafés Lyon", "ar": "مقاهي ليون"})
    await pledges(bot, "cafes-lyon", 3)
    await add_campaign(bot.deps.db, "evil", title={"en": EVIL})
    await pledges(bot, "evil", 1)
    page = await page_factory()
    await page.set_viewport_size(PHONE)
    await page.goto("/stories?lang=ar")

    block = page.get_by_role("complementary", name="حملات الشركاء")
    await block.wait_for()
    links = block.get_by_role("link")
    assert await links.count() == 2
    assert await links.nth(0).inner_text() == "مقاهي ليون"  # the largest first
    assert await links.nth(1).inner_text() == EVIL  # text, never markup
    assert await page.evaluate("window.pwned === undefined")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    await links.nth(0).click()
    await page.wait_for_url("**/stories?campaign=cafes-lyon*")
    header = page.locator(".site-header .pledge")
    assert await header.locator(".pledge-campaign").inner_text() == "مقاهي ليون"
    assert await header.locator(".pledge-link").get_attribute("href") == (
        "/?start=pledge-cafes-lyon"
    )
    assert await block.get_by_role("link", name="مقاهي ليون").get_attribute("aria-current") == (
        "page"
    )
    assert await severe_violations(page) == []  # axe-core: the header and the list
