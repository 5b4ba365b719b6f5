"""The web chat in a real browser (Playwright driving Debian's Chromium)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import Bot, create_app
from storage import pledges
from storage.models import Story
from tests.browser import CHROMIUM_ARGS, require_chromium, serve


@pytest.fixture
async def page_factory(bot: Bot):  # type: ignore[no-untyped-def]
    chromium = require_chromium()
    from playwright.async_api import async_playwright

    async with serve(create_app(bot, migrate=False)) as base_url, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        errors: list[str] = []

        async def new_page(locale: str = "en-US", timezone_id: str = "UTC"):  # type: ignore[no-untyped-def]
            context = await browser.new_context(
                locale=locale,
                timezone_id=timezone_id,
                base_url=base_url,
                extra_http_headers={"Accept-Language": locale},
            )
            page = await context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "console",
                lambda msg: errors.append(msg.text) if msg.type == "error" else None,
            )
            return page

        try:
            yield new_page
        finally:
            await browser.close()
        assert errors == []


async def tap(page, label: str) -> None:  # type: ignore[no-untyped-def]
    button = page.locator("button[data-choice]:not([disabled])", has_text=label).last
    await button.click()


async def say(page, text: str) -> None:  # type: ignore[no-untyped-def]
    await page.fill("#input", text)
    await page.click("#send")


async def test_a_person_takes_the_pledge_in_the_browser(page_factory, bot: Bot) -> None:  # type: ignore[no-untyped-def]
    page = await page_factory()
    await page.goto("/")
    log = page.locator("#log")
    await log.get_by_text("Welcome to TOGETHER").wait_for()
    await tap(page, "Take the pledge")
    await tap(page, "I take the pledge")
    await log.get_by_text("Your pledge is counted").wait_for()
    await say(page, "Mariko")
    await log.get_by_text("Where are you pledging from?").wait_for()
    await say(page, "Japan")
    await log.get_by_text("1 person has taken the pledge.").wait_for()
    share = page.locator("a[data-choice]").last
    assert (await share.get_attribute("href") or "").endswith("/?start=pledge")
    async with bot.deps.db.transaction() as session:
        assert await pledges.pledge_total(session, "together") == 1


async def tell_until_the_preview(page, origin: str, residence: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """An anonymous story told in English in the web chat, up to its preview."""
    await page.goto("/?start=story")
    log = page.locator("#log")
    await tap(page, "My own migration story")
    await tap(page, "I agree")
    await tap(page, "Yes, I am 18")
    await tap(page, "Anonymous")
    await log.get_by_text("Which country do you come from?").wait_for()
    await say(page, origin)
    await log.get_by_text("live now").last.wait_for()
    await say(page, residence)
    await log.get_by_text("tell your story").wait_for()
    await say(page, text)
    await log.get_by_text("characters so far").wait_for()
    await tap(page, "I'm done")
    await tap(page, "Skip")
    await log.get_by_text("Here is your story").wait_for()


async def test_a_person_tells_a_story_in_the_browser(page_factory, bot: Bot) -> None:  # type: ignore[no-untyped-def]
    page = await page_factory()
    text = "We left Kharkiv in March.\nMy daughter started school in Kraków."
    await tell_until_the_preview(page, "Ukraine", "Poland", text)
    log = page.locator("#log")
    await tap(page, "Submit my story")
    await log.get_by_text("Thank you for trusting us").wait_for()
    async with bot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
    assert story.state == "PENDING_REVIEW"
    assert (story.origin_country, story.current_country) == ("UA", "PL")


async def test_the_arabic_web_chat_reads_right_to_left(page_factory) -> None:  # type: ignore[no-untyped-def]
    page = await page_factory(locale="ar-EG")
    await page.goto("/")
    await page.locator("#log .msg[data-from='bot']").first.wait_for()
    assert await page.get_attribute("html", "dir") == "rtl"
    assert await page.get_attribute("html", "lang") == "ar"
    # The layout is mirrored: the log and the composer run right to left (the text box
    # itself is dir="auto", so what a person types keeps its own direction).
    for selector in ("#log", "#composer"):
        direction = await page.eval_on_selector(selector, "el => getComputedStyle(el).direction")
        assert direction == "rtl"
    log = page.locator("#log")
    welcome = await log.locator(".msg[data-from='bot']").first.inner_text()
    assert "TOGETHER" in welcome and any("\u0600" <= ch <= "\u06ff" for ch in welcome)
    # A person who picks English from the menu gets a left-to-right page without a reload.
    await tap(page, "اللغة")
    await tap(page, "English")
    await log.get_by_text("From now on I will write to you in English.").wait_for()
    await page.wait_for_function("document.documentElement.dir === 'ltr'")


async def test_erasing_everything_empties_the_page_at_once(page_factory) -> None:  # type: ignore[no-untyped-def]
    page = await page_factory()
    await page.goto("/")
    log = page.locator("#log")
    await log.get_by_text("Welcome to TOGETHER").wait_for()
    await say(page, "my secret words")
    await log.get_by_text("my secret words").wait_for()
    await say(page, "/privacy")
    await tap(page, "Erase all my data")
    await tap(page, "Yes, erase everything")
    await log.get_by_text("Your data has been erased").wait_for()
    # At once, without a reload: nothing of the old conversation is left on the page.
    assert await log.get_by_text("my secret words").count() == 0
    assert await log.get_by_text("Welcome to TOGETHER").count() == 0
    empty_bubbles = "els => els.filter(e => !e.textContent.trim() && !e.children.length).length"
    assert await page.eval_on_selector_all("#log .bubble", empty_bubbles) == 0
    await page.reload()
    await log.get_by_text("Your data has been erased").wait_for()
    assert await log.locator(".msg").count() == 1  # no empty bubble of the erasing tap
    assert await page.eval_on_selector_all("#log .bubble", empty_bubbles) == 0
