"""A story told in chat, published, taken down and erased leaves no text anywhere."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from bot.adapters.memory import MemoryChat
from bot.app import Bot, create_app
from bot.review.service import ActionRequest, ReviewAction
from storage.models import ModerationItem, Story, StoryState
from tests.handlers.test_story_flow import tell_story
from tests.moderation.test_erasure import _text_columns

SECRETS = ("Aleppo", "nursing in Osaka", "Amina", "Thank you for welcoming us")


async def test_published_unpublished_erased_story_leaves_no_text(bot: Bot) -> None:
    bot.settings.moderators = {"lea": {"role": "lead", "accounts": ["memory:lea"]}}
    chat = MemoryChat(bot.core, user_id="amina")
    await tell_story(chat)
    await chat.tap("Submit")
    async with bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalar_one()
    assert item.id is not None
    approved = await bot.review.act_from(
        "memory", "lea", ActionRequest(ReviewAction.APPROVE, item.id, item.version)
    )
    assert approved.ok
    while await bot.dispatcher.run_once():
        pass
    app = create_app(bot, migrate=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as web:
        assert "nursing in Osaka" in (await web.get("/stories.json")).text
        async with bot.deps.db.transaction() as session:
            version = (await session.get(ModerationItem, item.id)).version  # type: ignore[union-attr]
        down = await bot.review.act_from(
            "memory",
            "lea",
            ActionRequest(ReviewAction.UNPUBLISH, item.id, version, "personal_data"),
        )
        assert down.ok
        assert "nursing in Osaka" not in (await web.get("/stories.json")).text
        assert "nursing in Osaka" not in (await web.get("/stories.rss")).text

    await chat.send("/privacy")
    await chat.tap("Erase all my data")
    await chat.tap("Yes, erase everything")
    assert "erased" in chat.text
    while await bot.dispatcher.run_once():
        pass

    async with bot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
    assert story.state == StoryState.ERASED
    leaks = [
        (table, column)
        for table, column, value in await _text_columns(bot.deps.db)
        for secret in SECRETS
        if value is not None and secret in str(value)
    ]
    assert leaks == []
