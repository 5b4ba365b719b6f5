"""/dashboard in a private chat: a one-time sign-in link for moderators only."""

from __future__ import annotations

from bot.adapters.memory import MemoryChat
from bot.app import Bot
from bot.review.login_links import LOGIN_PATH
from storage.dashboard_tokens import login_holder
from storage.models import ModeratorRecord


async def test_a_moderator_gets_a_working_one_time_link(bot: Bot) -> None:
    async with bot.deps.db.transaction() as session:
        session.add(ModeratorRecord(id="ana", role="moderator", accounts=["memory:ana-phone"]))
    chat = MemoryChat(bot.core, user_id="ana-phone")
    await chat.send("/dashboard")
    links = [c.url for m in chat.last for c in m.choices if c.url]
    assert "works once" in chat.text and len(links) == 1
    token = links[0].rsplit("/", 1)[1]
    assert links[0].startswith(f"{bot.settings.resolved_public_url}{LOGIN_PATH}/")
    assert await login_holder(bot.deps.db, token) == "ana"  # the dashboard's sign-in accepts it


async def test_others_are_told_kindly(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="someone")
    await chat.send("/dashboard")
    assert "only for the moderation team" in chat.text
    assert not [c for m in chat.last for c in m.choices if c.url]


async def test_configured_only_moderators_are_told_how_to_get_access(bot: Bot) -> None:
    bot.settings.moderators = {"ben": {"role": "lead", "accounts": ["memory:ben-phone"]}}
    chat = MemoryChat(bot.core, user_id="ben-phone")
    await chat.send("/dashboard")
    assert "together-bot moderators add" in chat.text
