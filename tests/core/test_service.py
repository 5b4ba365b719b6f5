"""The path of one update: dedupe, resume after restart, per-conversation ordering."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from bot.adapters.memory import MemoryChat
from bot.app import Bot
from bot.config import Settings
from storage.db import Database
from storage.models import Pledge, ProcessedEvent
from tests.conftest import make_bot
from tests.handlers.test_story_flow import to_the_story_step


async def test_same_event_three_times_has_one_effect(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="dup")
    await chat.send("/pledge")
    replies = [await chat.press("c:pledge", key="update-777") for _ in range(3)]
    assert replies[0] and replies[1] == [] and replies[2] == []
    together = await asyncio.gather(*(chat.press("c:pledge", key="update-778") for _ in range(3)))
    assert sum(1 for r in together if r) <= 1
    async with bot.deps.db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(Pledge))).scalar_one() == 1
        keys = (await session.execute(select(ProcessedEvent.key))).scalars().all()
    assert keys.count("update-777") == 1


async def test_resume_after_restart(settings: Settings, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'restart.db'}"
    first_db = Database(url)
    await first_db.create_all()
    first = await make_bot(settings, first_db)
    chat = MemoryChat(first.core, user_id="resumer")
    await chat.send("/story")
    await chat.tap("My own migration story")
    await chat.tap("I agree")
    await chat.tap("Yes, I am 18")
    await chat.tap("Anonymous")
    await chat.send("Eritrea")
    await first_db.dispose()

    second_db = Database(url)  # a new process on the same database
    second = await make_bot(settings, second_db)
    again = MemoryChat(second.core, user_id="resumer")
    await again.send("/start")
    assert "📖 Continue your story" in again.labels
    await again.tap("Continue your story")
    assert "Welcome back" in again.text and "live now" in again.text
    await again.send("Italy")
    assert "tell your story" in again.text
    await second_db.dispose()


async def test_story_is_parked_while_pledging(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="parker")
    await chat.send("/story")
    await chat.tap("My own migration story")
    await chat.tap("I agree")
    await chat.tap("Yes, I am 18")
    await chat.send("/pledge")
    await chat.tap("I take the pledge")
    await chat.send("/skip")
    await chat.send("/skip")
    assert "taken the pledge" in chat.text
    await chat.send("/story")
    assert "Welcome back" in chat.text and "how should we credit you" in chat.text


async def test_events_of_one_conversation_run_in_order(postgres_bot: Bot) -> None:
    """Eight messages of one person at once are taken in the order they came (the
    conversation's lock). PostgreSQL only: SQLite's writer lock already admits the turns
    one by one in that order, so there this passes even without the conversation's lock."""
    chat = MemoryChat(postgres_bot.core, user_id="order")
    await to_the_story_step(chat)
    parts = [f"part {i}." for i in range(8)]
    await asyncio.gather(*(chat.send(p) for p in parts))
    await chat.tap("I'm done")
    await chat.send("/skip")
    assert " ".join(parts).replace(". ", ".\n\n") in chat.text


async def test_unknown_command_and_language_switch(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="lang")
    await chat.send("/frobnicate")
    assert "don't know that command" in chat.text
    await chat.send("/language")
    assert "日本語" in chat.labels and "English" in chat.labels
