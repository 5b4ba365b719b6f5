"""Scheduled work: draft reminders once, milestone sweeps and counter repair."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.adapters.memory import MemoryChat, MemorySender
from bot.app import Bot
from storage import pledges
from storage.models import Conversation, Milestone, PledgeCounter, utcnow


async def test_an_abandoned_draft_gets_one_kind_reminder(
    bot: Bot, memory_sender: MemorySender
) -> None:
    chat = MemoryChat(bot.core, user_id="walker")
    await chat.send("/story")
    await chat.tap("My own migration story")
    await chat.tap("I agree")
    assert await bot.scheduler.remind_drafts() == 0  # too recent
    async with bot.deps.db.transaction() as session:
        await session.execute(
            update(Conversation).values(last_activity_at=utcnow() - timedelta(hours=30))
        )
    assert await bot.scheduler.remind_drafts() == 1
    assert await bot.scheduler.remind_drafts() == 0  # once
    await bot.dispatcher.run_once()
    reminder = memory_sender.sent["walker"][-1]
    assert "waiting for you" in reminder.text
    chat.last = [reminder]
    await chat.tap("Continue your story")
    assert "Welcome back" in chat.text and "18 or older" in chat.text


async def test_sweep_repairs_drift_and_fires_each_milestone_once(bot: Bot) -> None:
    for i in range(3):
        chat = MemoryChat(bot.core, user_id=f"s{i}")
        await chat.send("/pledge")
        await chat.press("c:pledge")
    async with bot.deps.db.transaction() as session:
        await session.execute(
            bot.deps.db.insert(Milestone)
            .values(campaign_id="together", threshold=3)
            .on_conflict_do_nothing()
        )
        # Injected drift: the counter says 40 more than there are pledges.
        await session.execute(update(PledgeCounter).values(count=PledgeCounter.count + 40))
    await bot.scheduler.sweep_pledges()
    async with bot.deps.db.transaction() as session:
        assert await pledges.pledge_total(session, "together") == 3
        milestone = await session.get(Milestone, ("together", 3))
    assert milestone is not None and milestone.reached_at is not None
    assert await pledges.reach_milestones(bot.deps.db, "together") == []
