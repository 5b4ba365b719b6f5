"""Say thank you, in chat terms: a reader's message through screening and a moderator to
the storyteller's own chat, in their language, with nothing of the reader but a name."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.adapters.memory import MemoryChat, MemorySender
from bot.app import Bot
from bot.review.thanks import ThanksDesk, Verdict, phrase_text
from moderation.actors import Moderator
from moderation.states import Role
from moderation.thanks import DAILY_LIMIT
from storage.models import OutboxMessage, Participant, Thanks, ThanksState
from tests.web.helpers import deliver, item_row, publish, tell

ANA = Moderator(id="ana", role=Role.MODERATOR)
READER_NAME = "Kenji Tanaka-Platform"  # the name the reader's platform shows


async def published(bot: Bot, storyteller: str = "amina") -> int:
    """A story told in chat by ``storyteller`` and published; its id."""
    item_id = await tell(bot, storyteller)
    await publish(bot, item_id)
    return (await item_row(bot, item_id)).story_id


def reader(bot: Bot, user_id: str = "kenji") -> MemoryChat:
    return MemoryChat(bot.core, user_id=user_id, display_name=READER_NAME)


async def thank(chat: MemoryChat, story_id: int, *, signed: str | None = "Kenji") -> None:
    """The reader's path with the first ready phrase."""
    await chat.press(f"thank:{story_id}")
    await chat.tap("Thank you for sharing your story")
    if signed:
        await chat.send(signed)
    else:
        await chat.tap("Stay anonymous")
    await chat.tap("Send")


async def only_thanks(bot: Bot) -> Thanks:
    async with bot.deps.db.transaction() as session:
        return (await session.execute(select(Thanks))).scalar_one()


async def erase_my_data(chat: MemoryChat) -> None:
    await chat.send("/privacy")
    await chat.tap("Erase all my data")
    await chat.tap("Yes, erase everything")


async def pass_all(bot: Bot) -> None:
    desk = ThanksDesk(bot.deps)
    for pending in await desk.pending():
        outcome = await desk.decide(ANA, pending.thanks_id, Verdict.PASS)
        assert outcome.ok, outcome.message
    await deliver(bot)


async def test_a_thank_you_reaches_the_storyteller_in_their_language_with_only_a_name(
    bot: Bot, memory_sender: MemorySender
) -> None:
    story_id = await published(bot)
    storyteller = MemoryChat(bot.core, user_id="amina")
    await storyteller.press("lang:fr")  # the storyteller reads French from now on

    chat = reader(bot)
    await chat.press(f"thank:{story_id}")
    assert "✍️ Write my own" in chat.labels
    await chat.tap("Thank you for sharing your story")
    assert "first name" in chat.text and "🙈 Stay anonymous" in chat.labels
    await chat.send("Kenji")
    assert "“Thank you for sharing your story.”\n— Kenji" in chat.text
    assert "moderator" in chat.text
    await chat.tap("Send")
    assert "with a moderator" in chat.text

    before = len(memory_sender.sent["amina"])
    await deliver(bot)
    assert len(memory_sender.sent["amina"]) == before  # nothing before a moderator's click
    await pass_all(bot)

    [message] = memory_sender.sent["amina"][before:]
    assert message.locale == "fr"
    with bot.deps.translator.use("fr"):
        assert phrase_text("thank_you") in message.text
    assert "Kenji" in message.text
    assert "thanks:off" in [choice.id for choice in message.choices]
    thanks = await only_thanks(bot)
    assert thanks.state == ThanksState.DELIVERED
    async with bot.deps.db.transaction() as session:
        person = (
            await session.execute(select(Participant).where(Participant.external_id == "kenji"))  # type: ignore[arg-type]
        ).scalar_one()
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    # Nothing of the reader but the chosen name: not their platform name, id or key.
    to_storyteller = [r for r in rows if r.chat_id == "amina"]
    seen = json.dumps([m.to_json() for m in memory_sender.sent["amina"]]) + json.dumps(
        [r.payload for r in to_storyteller]
    )
    for secret in (READER_NAME, "Tanaka", person.identity_key, "kenji"):
        assert secret not in seen


async def test_own_words_too_long_come_back_to_be_shortened_and_anonymous_is_a_reader(
    bot: Bot, memory_sender: MemorySender
) -> None:
    story_id = await published(bot)
    chat = reader(bot)
    await chat.press(f"thank:{story_id}")
    await chat.tap("Write my own")
    long = "Your story made me cry. " * 13  # 311 characters, once trimmed
    await chat.send(long)
    assert "11 characters longer than the limit of 300" in chat.text
    assert long.strip() in chat.text  # kept, so they can shorten it
    await chat.send("Your story made me cry, and then smile. Welcome!")
    await chat.send("Kenji 2")
    assert "without numbers or links" in chat.text
    await chat.send("https://kenji.example")
    assert "without numbers or links" in chat.text
    await chat.tap("Stay anonymous")
    assert "— a reader" in chat.text
    await chat.tap("Send")
    await pass_all(bot)
    message = memory_sender.sent["amina"][-1]
    assert "Your story made me cry, and then smile. Welcome!" in message.text
    assert "— a reader" in message.text


async def test_a_flagged_thank_you_is_held_and_never_passes_by_itself(
    bot: Bot, memory_sender: MemorySender
) -> None:
    story_id = await published(bot)
    chat = reader(bot)
    await chat.press(f"thank:{story_id}")
    await chat.send("Thank you! Call me on +44 7700 900123 or see https://kenji.example")
    await chat.tap("Stay anonymous")
    await chat.tap("Send")
    before = len(memory_sender.sent["amina"])
    await deliver(bot)
    thanks = await only_thanks(bot)
    assert thanks.state == ThanksState.PENDING
    assert {"phone", "link"} <= {flag["kind"] for flag in thanks.flags}
    assert len(memory_sender.sent["amina"]) == before

    outcome = await ThanksDesk(bot.deps).decide(ANA, thanks.id or 0, Verdict.REJECT)
    assert outcome.ok and "rejected" in outcome.message
    await deliver(bot)
    assert len(memory_sender.sent["amina"]) == before
    assert (await only_thanks(bot)).state == ThanksState.REJECTED


async def test_the_storyteller_turns_thanks_off_and_readers_are_told_kindly(
    bot: Bot, memory_sender: MemorySender
) -> None:
    story_id = await published(bot)
    storyteller = MemoryChat(bot.core, user_id="amina")
    await storyteller.send("/mystories")
    await storyteller.tap("Turn off thanks from readers")
    assert "off" in storyteller.text
    assert "🔔 Turn on thanks from readers" in storyteller.labels

    chat = reader(bot)
    await chat.press(f"thank:{story_id}")
    assert "not receiving messages right now" in chat.text
    assert "Send" not in chat.labels

    await storyteller.tap("Turn on thanks from readers")
    await thank(chat, story_id)
    # Turned off again (the button on a thank-you does it too) before it was passed.
    await storyteller.press("thanks:off")
    before = len(memory_sender.sent["amina"])
    await pass_all(bot)
    assert len(memory_sender.sent["amina"]) == before
    assert (await only_thanks(bot)).state != ThanksState.DELIVERED


async def test_one_per_story_and_a_daily_limit_per_reader(bot: Bot) -> None:
    story_ids = [await published(bot, f"teller-{n}") for n in range(DAILY_LIMIT + 1)]
    chat = reader(bot)
    await thank(chat, story_ids[0])
    await chat.press(f"thank:{story_ids[0]}")
    assert "already sent a thank-you for this story" in chat.text
    for story_id in story_ids[1:DAILY_LIMIT]:
        await thank(chat, story_id, signed=None)
        assert "with a moderator" in chat.text
    await chat.press(f"thank:{story_ids[-1]}")
    assert "as many thank-you messages as we allow in one day" in chat.text
    await chat.send("/menu")

    storyteller = MemoryChat(bot.core, user_id="teller-0")
    await storyteller.press(f"thank:{story_ids[0]}")
    assert "your own story" in storyteller.text


async def test_unknown_or_unpublished_stories_cannot_be_thanked(bot: Bot) -> None:
    item_id = await tell(bot, "amina")  # waiting for review
    story_id = (await item_row(bot, item_id)).story_id
    chat = reader(bot)
    await chat.press(f"thank:{story_id}")
    assert "not available any more" in chat.text
    await chat.press("thank:999999")
    assert "not available any more" in chat.text
    await chat.press("thank:nope")
    assert "no longer active" in chat.text


async def test_a_reader_who_erases_their_data_takes_back_what_is_waiting(bot: Bot) -> None:
    story_id = await published(bot)
    chat = reader(bot)
    await thank(chat, story_id)
    await erase_my_data(chat)
    async with bot.deps.db.transaction() as session:
        assert (await session.execute(select(Thanks))).first() is None


async def test_a_storyteller_who_erases_their_data_takes_their_thanks_with_them(
    bot: Bot,
) -> None:
    story_id = await published(bot)
    await thank(reader(bot), story_id)
    await pass_all(bot)
    await erase_my_data(MemoryChat(bot.core, user_id="amina"))
    async with bot.deps.db.transaction() as session:
        assert (await session.execute(select(Thanks))).first() is None


async def test_the_story_card_offers_thanks_and_shows_how_many_reached_the_storyteller(
    bot: Bot,
) -> None:
    await published(bot)
    chat = reader(bot)
    await chat.send("/stories")
    assert "💛 Say thank you" in chat.labels and "Thanked" not in chat.text
    await chat.tap("Say thank you")
    await chat.tap("You are welcome here")
    await chat.tap("Stay anonymous")
    await chat.tap("Send")
    await pass_all(bot)

    other = reader(bot, "yuki")
    await other.send("/stories")
    assert "💛 Thanked by 1 reader" in other.text
    storyteller = MemoryChat(bot.core, user_id="amina")
    await storyteller.press("thanks:off")
    third = reader(bot, "sami")
    await third.send("/stories")
    assert "Say thank you" not in " ".join(third.labels)
    assert "💛 Thanked by 1 reader" in third.text


async def test_a_reader_whose_words_read_as_a_crisis_is_sent_help_at_once(bot: Bot) -> None:
    story_id = await published(bot)
    chat = reader(bot)
    await chat.press(f"thank:{story_id}")
    await chat.send("I want to kill myself, but your story gave me hope.")
    await chat.tap("Stay anonymous")
    await chat.tap("Send")
    assert "with a moderator" in chat.text
    assert "You are not alone" in chat.text
    assert (await only_thanks(bot)).state == ThanksState.PENDING
