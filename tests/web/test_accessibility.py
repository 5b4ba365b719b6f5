"""axe-core in a real browser: the story wall, a story's page and the web chat have no
serious or critical accessibility violations (left to right and right to left)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import Bot
from tests.web.test_wall_browser import two_stories
from tests.web.test_wall_kinds import FILM, WELCOME, published

SEVERE = {"serious", "critical"}


async def severe_violations(page: Any) -> list[str]:
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation.get("impact") in SEVERE
    ]


@pytest.mark.parametrize("locale", ["en-US", "ar"])
async def test_the_wall_and_a_story_page(page_factory: Any, bot: Bot, locale: str) -> None:
    first_id, _second_id = await two_stories(bot)
    # Every kind on the wall: its labels, the kind filter and the films link show.
    await published(bot, "kenji", "host_community", WELCOME)
    film = await published(bot, "rosa", "film", FILM)
    page = await page_factory(locale)
    await page.goto("/stories")
    await page.locator("article.story").first.wait_for()
    assert await page.locator(".story-kind").count() == 2
    assert await severe_violations(page) == []
    for story_id in (first_id, film):
        await page.goto(f"/stories/{story_id}")
        assert await severe_violations(page) == []


@pytest.mark.parametrize("locale", ["en-US", "ar"])
async def test_the_web_chat(page_factory: Any, bot: Bot, locale: str) -> None:
    page = await page_factory(locale)
    await page.goto("/")
    await page.locator("#log button[data-choice]").first.wait_for()
    assert await severe_violations(page) == []
