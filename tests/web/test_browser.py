"""The dashboard and the wall in a real browser (Playwright driving Debian's Chromium)."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import update

from bot.app import Bot
from bot.cli import add_moderator
from bot.review.login_links import create_login_link
from storage.models import ModerationItem, Story, StoryState
from tests.web.helpers import deliver, item_row, publish, tell

ARABIC = "غادرت حلب سنة ٢٠١٥ مع أمي وإخوتي.\n\nاليوم أدرس التمريض في أوساكا."


async def test_a_moderator_signs_in_with_a_link_and_approves(page_factory, bot: Bot) -> None:  # type: ignore[no-untyped-def]
    item_id = await tell(bot, "amina")
    await add_moderator(bot.deps.db, "ana", "moderator", ["memory:mod-ana"])
    path = urlsplit(await create_login_link(bot.deps, "ana")).path
    page = await page_factory()
    await page.goto(path)
    await page.get_by_role("button", name="Sign in as ana").click()
    await page.wait_for_url("**/moderation")
    await page.get_by_text("Signed in as ana").wait_for()
    # The card's link, opened from another site (a chat app; here localhost, another
    # site than 127.0.0.1): the SameSite=Strict cookie is withheld on that navigation,
    # and the page loads itself once more, from its own site, to get it.
    base_url = page.url.removesuffix("/moderation")
    item_url = f"{base_url}/moderation/items/{item_id}"
    await page.goto(base_url.replace("127.0.0.1", "localhost") + "/stories")
    await page.set_content(f'<a id="card" href="{item_url}">card</a>')
    loads: list[str] = []
    page.on("response", lambda response: loads.append(response.url))
    await page.click("#card")
    await page.locator(".story-text").first.wait_for()
    assert loads.count(item_url) == 2
    assert page.url == item_url
    await page.locator("form.action-approve button").click()
    outcome = page.locator("#outcome")
    await outcome.wait_for()
    assert "is approved and will be published" in await outcome.inner_text()
    await deliver(bot)
    assert (await item_row(bot, item_id)).state == StoryState.PUBLISHED
    await page.goto("/stories")
    await page.get_by_text("Today I study nursing in Osaka.").wait_for()


async def test_an_arabic_story_reads_right_to_left_on_the_wall(page_factory, bot: Bot) -> None:  # type: ignore[no-untyped-def]
    item_id = await tell(bot, "layla", text=ARABIC, credit="Anonymous", message="شكرا لكم")
    story_id = (await item_row(bot, item_id)).story_id
    async with bot.deps.db.transaction() as session:  # a story written in Arabic
        await session.execute(update(Story).where(Story.id == story_id).values(locale="ar"))  # type: ignore[arg-type]
        await session.execute(
            update(ModerationItem).where(ModerationItem.id == item_id).values(locale="ar")  # type: ignore[arg-type]
        )
    await publish(bot, item_id)
    page = await page_factory(locale="ar")
    await page.goto("/stories")
    text = page.locator(f"#story-{story_id} .story-text")
    await text.wait_for()
    assert await text.get_attribute("dir") == "rtl"
    assert await text.get_attribute("lang") == "ar"
    assert await text.evaluate("node => getComputedStyle(node).direction") == "rtl"
    message = page.locator(f"#story-{story_id} .community-message")
    assert await message.evaluate("node => getComputedStyle(node).direction") == "rtl"
    html_dir = await page.locator("html").get_attribute("dir")
    assert html_dir == ("rtl" if bot.deps.translator.supports("ar") else "ltr")
