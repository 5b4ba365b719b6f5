"""A button answers only the question it was shown with, on every path (both databases).

Pressed again (a retry after a lost reply, a double tap, an old message), it is stale:
explained, and the current question is asked again; nothing moves on.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.adapters.memory import MemoryChat
from bot.app import Bot
from bot.core.dialog import split_token
from storage.models import Conversation, Pledge


async def step_of(bot: Bot) -> str | None:
    async with bot.deps.db.transaction() as session:
        return (await session.execute(select(Conversation.step))).scalar_one()


def button(chat: MemoryChat, label: str) -> str:
    """The id of a button in the latest replies, as the platform would send it back."""
    for message in chat.last:
        for choice in message.choices:
            if label.casefold() in choice.label.casefold():
                return choice.id
    raise AssertionError(f"no button {label!r} in {chat.labels}")


async def test_skip_pressed_twice_skips_one_question(bot: Bot) -> None:
    """The bug: a retried Skip on the origin question also skipped the next one."""
    chat = MemoryChat(bot.core, user_id="skip-twice")
    await chat.send("/story")
    await chat.tap("My own migration story")
    await chat.tap("I agree")
    await chat.tap("Yes, I am 18")
    await chat.tap("Anonymous")
    assert "come from" in chat.text
    skip = button(chat, "Skip")
    await chat.press(skip)
    assert "live now" in chat.text
    before = await step_of(bot)
    await chat.press(skip)  # the same button again
    assert "earlier question" in chat.text
    assert "live now" in chat.text  # asked again, not skipped
    assert await step_of(bot) == before


async def test_back_and_cancel_from_an_old_message_are_stale(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="old-nav")
    await chat.send("/story")
    await chat.tap("My own migration story")
    await chat.tap("I agree")
    cancel_at_adult = button(chat, "Cancel")
    back_at_adult = button(chat, "Back")
    await chat.tap("Yes, I am 18")
    await chat.press(back_at_adult)
    assert "earlier question" in chat.text and "how should we credit you" in chat.text
    await chat.press(cancel_at_adult)
    assert "earlier question" in chat.text and "how should we credit you" in chat.text
    await chat.tap("Cancel")  # the current one works
    assert "not sent" in chat.text


async def test_a_pledge_tap_retried_counts_once_and_is_stale(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="pledge-twice")
    await chat.send("/pledge")
    take = button(chat, "I take the pledge")
    await chat.press(take)
    assert "Your pledge is counted" in chat.text
    await chat.press(take)
    assert "earlier question" in chat.text
    async with bot.deps.db.transaction() as session:
        assert len((await session.execute(select(Pledge))).scalars().all()) == 1


async def test_every_button_of_a_turn_carries_when_it_was_shown(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="stamps")
    await chat.send("/start")
    first = {split_token(c)[1] for c in chat.choice_ids}
    await chat.tap("Share your story")
    second = {split_token(c)[1] for c in chat.choice_ids}
    assert len(first) == len(second) == 1 and None not in first | second
    assert first != second
    assert all(len(c.encode()) <= 64 for c in chat.choice_ids)  # Telegram's callback limit


def test_split_token_only_takes_a_trailing_number() -> None:
    assert split_token("nav:skip@12") == ("nav:skip", 12)
    assert split_token("nav:skip") == ("nav:skip", None)
    assert split_token("mail@example") == ("mail@example", None)
    assert split_token("@12") == ("@12", None)
