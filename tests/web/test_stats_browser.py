"""The Stats page in a real browser (Playwright driving Debian's Chromium): the charts
render with their tables beside them, with no script error, nothing fetched elsewhere and
no serious accessibility violation."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from bot.app import Bot
from bot.cli import add_moderator
from bot.review.login_links import create_login_link
from tests.web.test_accessibility import severe_violations
from tests.web.test_stats import seed


@pytest.mark.parametrize("locale", ["en", "ar"])
async def test_charts_render_in_chromium_with_the_table_beside_them(  # type: ignore[no-untyped-def]
    page_factory, bot: Bot, locale: str
) -> None:
    bot.deps.settings.moderation_locale = locale  # the dashboard reads it per request
    rtl = locale == "ar"
    await seed(bot)
    await add_moderator(bot.deps.db, "lea", "lead", [])
    path = urlsplit(await create_login_link(bot.deps, "lea")).path
    page = await page_factory()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await page.goto(path)
    await page.locator("main button[type=submit]").click()  # "Sign in as lea"
    await page.wait_for_url("**/moderation")
    await page.locator('header a[href="/moderation/stats"]').click()
    await page.wait_for_url("**/moderation/stats")
    base = page.url.removesuffix("/moderation/stats")

    pairs = page.locator(".chart-pair")
    assert await pairs.count() == 6
    for index in range(6):
        pair = pairs.nth(index)
        chart = pair.locator("svg.chart")
        table = pair.locator("table")
        assert await chart.is_visible() and await table.is_visible()
        box = await chart.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 20
        assert await chart.get_attribute("role") == "img"
        # Its accessible name is the chart's title, and the table's caption says the same.
        title = await chart.locator("title").first.text_content()
        assert title and title == await table.locator("caption").text_content()
        # Beside it (wide screen): after it in the reading direction, on the same row.
        table_box = await table.bounding_box()
        assert table_box is not None and table_box["y"] < box["y"] + box["height"]
        if rtl:
            assert table_box["x"] + table_box["width"] <= box["x"]
        else:
            assert table_box["x"] >= box["x"] + box["width"]
    bars = page.locator("#chart-funnel rect.bar")
    assert await bars.count() == 5
    widths = [(await bars.nth(i).bounding_box() or {"width": 0})["width"] for i in range(5)]
    assert widths[0] == widths[1] == widths[2] > widths[3] == widths[4] > 0  # 2, 2, 2, 1, 1

    assert await severe_violations(page) == []  # axe-core: nothing serious or critical

    # The period selector is a plain GET form.
    await page.select_option("select[name=days]", "7")
    await page.locator("#stats-filters button").click()
    await page.wait_for_url("**/moderation/stats?*days=7*")
    assert await page.locator("#chart-pledges circle").count() == 7 * 2  # two campaigns

    assert requested and all(url.startswith(base) for url in requested), requested
