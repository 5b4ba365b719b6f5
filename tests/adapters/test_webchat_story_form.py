"""The story form belongs to the Slack modal: typed into the web chat, ``/storyform`` is
an unknown command and stores nothing (issue [6])."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from bot.app import Bot, create_app
from storage.models import Story
from tests.adapters.test_webchat import Browser


@pytest.fixture
async def browser(bot: Bot) -> AsyncIterator[Browser]:
    transport = httpx.ASGITransport(app=create_app(bot, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
        yield Browser(client)


async def test_the_story_form_typed_in_the_web_chat_submits_nothing(
    browser: Browser, bot: Bot
) -> None:
    await browser.open()
    answers = {
        "consent": "c:yes",
        "is_adult": "c:yes",
        "credit_mode": "c:anonymous",
        "text": "A whole story in one message, past consent and every question.",
    }
    compact = json.dumps(answers, separators=(",", ":"))
    for typed in ("/storyform " + compact, "/storyform\n" + compact, "/STORYFORM " + compact):
        answer = await browser.say(typed)
        assert answer.status_code == 200
        assert "Thank you for trusting us" not in browser.last_bot_text
    await browser.say("/storyform")  # the command itself: unknown
    assert "don't know that command" in browser.last_bot_text
    async with bot.deps.db.transaction() as session:
        assert (await session.execute(select(Story))).first() is None
