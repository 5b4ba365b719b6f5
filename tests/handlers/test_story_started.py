"""When a person last began a story: the Stats page's first funnel step. A fresh start
moves it, resuming a parked draft does not, an erasure forgets it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.adapters.memory import MemoryChat
from bot.app import Bot
from storage.models import Participant


async def started_at(bot: Bot, user: str) -> datetime | None:
    async with bot.deps.db.transaction() as session:
        participant = (
            await session.execute(select(Participant).where(Participant.external_id == user))
        ).scalar_one()
        return participant.story_started_at


async def test_a_fresh_start_is_recorded_a_resumed_draft_is_not(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="amina")
    await chat.send("/pledge")
    assert await started_at(bot, "amina") is None  # a pledge is not a story
    await chat.send("/story")
    first = await started_at(bot, "amina")
    assert first is not None
    await chat.tap("My own migration story")
    await chat.send("/pledge")  # the story is parked
    await chat.send("/story")  # and resumed where it was
    assert "Do you agree" in chat.text
    assert await started_at(bot, "amina") == first

    await chat.send("/cancel")
    await chat.send("/story")  # begun again
    again = await started_at(bot, "amina")
    assert again is not None and again > first


async def test_an_erasure_forgets_it(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="omar")
    await chat.send("/story")
    assert await started_at(bot, "omar") is not None
    await chat.send("/privacy")
    await chat.tap("Erase all my data")
    await chat.tap("Yes, erase everything")
    assert "Your data has been erased" in chat.text
    assert await started_at(bot, "omar") is None
