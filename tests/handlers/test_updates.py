"""Milestone updates: asked once after the pledge, the answer stored; /updates on|off."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from bot.adapters.memory import MemoryChat
from bot.app import Bot
from storage import pledges
from storage.models import Participant

QUESTION = "May I tell you when the pledge reaches its next milestone?"


async def setting(bot: Bot, user_id: str) -> tuple[bool | None, bool]:
    """The person's answer, and whether it has a time."""
    async with bot.deps.db.transaction() as session:
        found = (
            await session.execute(
                select(Participant).where(col(Participant.external_id) == user_id)
            )
        ).scalar_one()
    return found.updates, found.updates_at is not None


async def pledge(chat: MemoryChat, start: str = "/pledge") -> None:
    await chat.send(start)
    await chat.tap("I take the pledge")
    await chat.send("/skip")
    await chat.send("/skip")
    assert "Thank you for standing with refugees" in chat.text


async def test_asked_once_after_the_first_pledge_and_yes_is_kept(bot: Bot) -> None:
    await pledges.ensure_campaign(bot.deps.db, "osaka", title={"en": "Osaka"})
    chat = MemoryChat(bot.core, user_id="yes")
    await pledge(chat)
    assert QUESTION in chat.text
    assert await setting(bot, "yes") == (None, False)  # asked, not answered yet
    await chat.tap("Yes, tell me")
    assert "I will tell you when the pledge reaches its next milestone" in chat.text
    assert await setting(bot, "yes") == (True, True)
    # A second campaign's pledge: not asked again.
    await pledge(chat, "/start pledge-osaka")
    assert QUESTION not in chat.text
    assert await setting(bot, "yes") == (True, True)


async def test_no_is_kept_and_never_asked_again(bot: Bot) -> None:
    await pledges.ensure_campaign(bot.deps.db, "osaka", title={"en": "Osaka"})
    chat = MemoryChat(bot.core, user_id="no")
    await pledge(chat)
    await chat.tap("No, thanks")
    assert "Milestone updates are off" in chat.text
    assert await setting(bot, "no") == (False, True)
    await pledge(chat, "/start pledge-osaka")
    assert QUESTION not in chat.text


async def test_a_question_left_unanswered_is_asked_at_the_next_pledge(bot: Bot) -> None:
    await pledges.ensure_campaign(bot.deps.db, "osaka", title={"en": "Osaka"})
    chat = MemoryChat(bot.core, user_id="later")
    await pledge(chat)
    assert QUESTION in chat.text
    await pledge(chat, "/start pledge-osaka")
    assert QUESTION in chat.text
    assert await setting(bot, "later") == (None, False)


async def test_a_repeated_pledge_does_not_ask(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="again")
    await pledge(chat)
    await chat.send("/pledge")
    await chat.tap("I take the pledge")
    assert "You already took the pledge" in chat.text
    assert QUESTION not in chat.text


async def test_updates_command_on_off_and_the_setting(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="cmd")
    await chat.send("/updates")
    assert "Milestone updates are off." in chat.text
    assert chat.labels == ["🔔 Turn on updates"]
    await chat.send("/updates on")
    assert "I will tell you when the pledge reaches its next milestone" in chat.text
    assert await setting(bot, "cmd") == (True, True)
    await chat.send("/updates")
    assert "Milestone updates are on" in chat.text
    await chat.tap("Turn off updates")
    assert "Milestone updates are off" in chat.text
    assert await setting(bot, "cmd") == (False, True)
    await chat.send("/updates ON")
    assert await setting(bot, "cmd") == (True, True)
    await chat.send("/updates off")
    assert await setting(bot, "cmd") == (False, True)
    # A person who answered "no" never hears the question after a pledge.
    await pledge(chat)
    assert QUESTION not in chat.text


async def test_updates_answers_in_the_persons_language(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="fr", locale_hint="fr")
    await chat.send("/updates off")
    # The catalogs are translated later: the words may still be English, the turn's
    # locale is the person's.
    assert chat.last and all(m.locale == "fr" for m in chat.last)


async def test_an_erasure_forgets_the_answer_and_a_new_pledge_asks_again(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="back")
    await pledge(chat)
    await chat.tap("Yes, tell me")
    assert await setting(bot, "back") == (True, True)
    await chat.send("/privacy")
    await chat.tap("Erase all my data")
    await chat.tap("Yes, erase everything")
    assert "Your data has been erased" in chat.text
    assert await setting(bot, "back") == (None, False)
    await pledge(chat)  # they come back: asked, never assumed
    assert QUESTION in chat.text
