"""Draft expiry: told once, erased with its files after DRAFT_EXPIRY_DAYS, never over a
newer turn, and nothing else touched. Time is moved by the job's ``now``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.adapters.memory import MemoryChat, MemorySender
from bot.app import Bot
from bot.config import Settings
from bot.core.events import MediaKind, Outgoing
from bot.i18n.formatting import format_day
from bot.scheduler import DraftExpiry
from storage import drafts
from storage.db import Database
from storage.media import MediaStore
from storage.models import Conversation, OutboxMessage, Participant, utcnow
from tests import media_samples as samples
from tests.conftest import make_bot
from tests.handlers.test_story_flow import to_the_story_step
from tests.races import on_statement

DAY = timedelta(days=1)
NOTHING = DraftExpiry(notified=0, erased=0)


async def keep_photo(bot: Bot, user_id: str) -> str:
    """A real file in the media store, as the person's upload would be: its name."""
    owner = MediaStore.owner_of(bot.deps.hasher.key("memory", user_id))
    stored = await bot.deps.media.ingest(samples.jpeg_with_gps(), owner=owner)
    return stored.name


async def draft_with_photo(bot: Bot, chat: MemoryChat) -> str:
    """A story draft with a part of text and a stored photo; the photo's name."""
    await to_the_story_step(chat)
    await chat.send("We left at night.")
    name = await keep_photo(bot, chat.user_id)
    await chat.attach(MediaKind.PHOTO, f"local:{name}")
    assert "characters so far" in chat.text
    return name


async def conversation_of(bot: Bot, user_id: str) -> Conversation:
    async with bot.deps.db.transaction() as session:
        return (
            await session.execute(
                select(Conversation)
                .join(Participant, Participant.id == Conversation.participant_id)  # type: ignore[arg-type]
                .where(Participant.external_id == user_id)
            )
        ).scalar_one()


async def delivered(bot: Bot, sender: MemorySender, user_id: str) -> list[Outgoing]:
    await bot.dispatcher.run_once()
    return sender.sent[user_id]


async def test_an_idle_draft_is_announced_once_then_erased_with_its_files(
    bot: Bot, memory_sender: MemorySender
) -> None:
    chat = MemoryChat(bot.core, user_id="nadia")
    photo = await draft_with_photo(bot, chat)
    old_button = next(c.id for m in chat.last for c in m.choices if "done" in c.label)
    t0 = utcnow()
    expire = bot.scheduler.expire_drafts

    assert await expire(t0) == NOTHING
    assert await expire(t0 + 28 * DAY - timedelta(hours=1)) == NOTHING  # not yet told
    assert await expire(t0 + 28 * DAY) == DraftExpiry(notified=1, erased=0)
    assert await expire(t0 + 28 * DAY + timedelta(hours=1)) == NOTHING  # told once
    [notice] = await delivered(bot, memory_sender, "nadia")
    assert "I will delete it on " + format_day(t0 + 30 * DAY, "en") in notice.text
    assert [c.id for c in notice.choices] == ["menu:story"]

    # Erased at the end of the day it named, never before.
    assert await expire(t0 + 30 * DAY) == NOTHING
    assert await expire(t0 + 31 * DAY) == DraftExpiry(notified=0, erased=1)
    assert await expire(t0 + 32 * DAY) == NOTHING
    conversation = await conversation_of(bot, "nadia")
    assert (conversation.flow, conversation.step, conversation.draft) == (None, None, {})
    assert bot.deps.media.path(photo) is None
    assert await delivered(bot, memory_sender, "nadia") == [notice]  # told once only

    # Coming back: a button of the erased draft is stale; the notice's starts afresh.
    await chat.press(old_button)
    assert "That button is no longer active" in chat.text
    assert "📖 Share your story" in chat.labels
    chat.last = [notice]
    await chat.tap("Continue your story")
    assert "your own migration story" in chat.text and "Welcome back" not in chat.text


async def test_writing_again_keeps_the_draft_and_brings_a_new_notice_later(
    bot: Bot, memory_sender: MemorySender
) -> None:
    chat = MemoryChat(bot.core, user_id="omar")
    photo = await draft_with_photo(bot, chat)
    t0 = utcnow()
    assert (await bot.scheduler.expire_drafts(t0 + 28 * DAY)).notified == 1
    await chat.send("And then we arrived.")  # the draft is theirs again
    # Past the day the first notice named: nothing is erased, and the person is told
    # anew (the job's clock runs ahead of their new message by as much).
    assert await bot.scheduler.expire_drafts(t0 + 31 * DAY) == DraftExpiry(notified=1, erased=0)
    conversation = await conversation_of(bot, "omar")
    assert conversation.flow == "story"
    assert [p["text"] for p in conversation.draft["parts"]] == [
        "We left at night.",
        "And then we arrived.",
    ]
    assert bot.deps.media.path(photo) is not None
    assert len(await delivered(bot, memory_sender, "omar")) == 2


async def test_a_person_writing_while_the_job_erases_keeps_their_draft(
    postgres_bot: Bot,
) -> None:
    bot = postgres_bot
    chat = MemoryChat(bot.core, user_id="leila")
    photo = await draft_with_photo(bot, chat)
    t0 = utcnow()
    assert (await bot.scheduler.expire_drafts(t0 + 28 * DAY)).notified == 1
    fired: list[str] = []

    def write_meanwhile(_conn: Any, sql: str) -> Any:
        # Right after the job has read the idle drafts, before it writes anything.
        if fired or "FROM conversation JOIN participant" not in sql:
            return None
        fired.append(sql)
        return chat.send("Wait, I am still here.")

    with on_statement(bot.deps.db, write_meanwhile):
        result = await bot.scheduler.expire_drafts(t0 + 31 * DAY)
    assert fired and result == NOTHING
    conversation = await conversation_of(bot, "leila")
    assert conversation.flow == "story"
    assert conversation.draft["parts"][-1]["text"] == "Wait, I am still here."
    assert bot.deps.media.path(photo) is not None


async def test_pledges_and_conversations_without_a_story_draft_are_left_alone(
    bot: Bot, memory_sender: MemorySender
) -> None:
    pledging = MemoryChat(bot.core, user_id="pledging")
    await pledging.send("/pledge")  # the pledge question open, never answered
    done = MemoryChat(bot.core, user_id="done")
    await done.send("/pledge")
    await done.press("c:pledge")
    await done.send("/cancel")
    idle = MemoryChat(bot.core, user_id="idle")
    await idle.send("/start")
    before = {u: await conversation_of(bot, u) for u in ("pledging", "done", "idle")}
    assert before["pledging"].flow == "pledge"
    assert await bot.scheduler.expire_drafts(utcnow() + 400 * DAY) == NOTHING
    for user_id, conversation in before.items():
        after = await conversation_of(bot, user_id)
        assert (after.version, after.flow, after.draft) == (
            conversation.version,
            conversation.flow,
            conversation.draft,
        )
    async with bot.deps.db.transaction() as session:
        keys = (await session.execute(select(OutboxMessage.dedupe_key))).scalars().all()
    assert not [key for key in keys if key.startswith("draft-expiry:")]


async def test_a_story_parked_by_a_finished_pledge_expires_too(
    bot: Bot, memory_sender: MemorySender
) -> None:
    chat = MemoryChat(bot.core, user_id="parked")
    photo = await draft_with_photo(bot, chat)
    await chat.send("/pledge")  # parks the story
    await chat.send("/cancel")  # leaves the pledge: the story stays parked
    await chat.send("/start")
    assert "📖 Continue your story" in chat.labels
    t0 = utcnow()
    assert (await bot.scheduler.expire_drafts(t0 + 28 * DAY)).notified == 1
    assert (await bot.scheduler.expire_drafts(t0 + 31 * DAY)).erased == 1
    conversation = await conversation_of(bot, "parked")
    assert (conversation.flow, conversation.draft) == (None, {})
    assert bot.deps.media.path(photo) is None
    await chat.send("/start")
    assert "📖 Share your story" in chat.labels


async def test_expiry_days_are_obeyed_and_an_unreachable_person_is_not_told(
    settings: Settings, db: Database
) -> None:
    bot = await make_bot(settings.model_copy(update={"draft_expiry_days": 3}), db)
    told = MemoryChat(bot.core, user_id="told")
    await to_the_story_step(told)
    gone = MemoryChat(bot.core, user_id="gone")
    photo = await draft_with_photo(bot, gone)
    await bot.core.set_reachable("memory", "gone", False)
    t0 = utcnow()
    # Three days: told 1.5 days before (half the period, shorter than two days).
    assert await bot.scheduler.expire_drafts(t0 + DAY) == NOTHING
    assert await bot.scheduler.expire_drafts(t0 + 1.5 * DAY) == DraftExpiry(notified=1, erased=0)
    # Nobody to tell: erased when its time is up, not a moment before.
    assert await bot.scheduler.expire_drafts(t0 + 3 * DAY - timedelta(hours=1)) == NOTHING
    assert await bot.scheduler.expire_drafts(t0 + 3 * DAY) == DraftExpiry(notified=0, erased=1)
    assert bot.deps.media.path(photo) is None
    assert (await conversation_of(bot, "told")).flow == "story"
    assert await bot.scheduler.expire_drafts(t0 + 5 * DAY) == DraftExpiry(notified=0, erased=1)
    assert (await conversation_of(bot, "told")).flow is None


async def test_a_late_run_names_a_later_day_and_keeps_to_it(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="late")
    await to_the_story_step(chat)
    t0 = utcnow()
    # The bot was away: the draft is already past its time when it is first seen.
    assert (await bot.scheduler.expire_drafts(t0 + 40 * DAY)).notified == 1
    assert await bot.scheduler.expire_drafts(t0 + 41 * DAY) == NOTHING
    assert (await bot.scheduler.expire_drafts(t0 + 43 * DAY)).erased == 1


async def test_files_a_submitted_story_still_shows_are_kept(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="twice")
    photo = await draft_with_photo(bot, chat)
    await chat.tap("I'm done")
    await chat.send("/skip")
    await chat.tap("Submit my story")
    assert "Thank you for trusting us" in chat.text
    # The same file in a new draft (a platform file sent again is the same stored file).
    await to_the_story_step(chat)
    await chat.send("Another part of my life.")
    await chat.attach(MediaKind.PHOTO, f"local:{photo}")
    extra = await keep_photo(bot, "twice")
    await chat.attach(MediaKind.PHOTO, f"local:{extra}")
    assert "characters so far" in chat.text
    t0 = utcnow()
    await bot.scheduler.expire_drafts(t0 + 28 * DAY)
    assert (await bot.scheduler.expire_drafts(t0 + 31 * DAY)).erased == 1
    assert bot.deps.media.path(photo) is not None  # the submitted story's photo
    assert bot.deps.media.path(extra) is None


async def test_a_stale_conversation_is_never_written_over(bot: Bot) -> None:
    """The erasure's own guard, on both databases: a version that moved wins."""
    chat = MemoryChat(bot.core, user_id="stale")
    await to_the_story_step(chat)
    loaded = await conversation_of(bot, "stale")
    await chat.send("A new part.")
    async with bot.deps.db.transaction() as session:
        assert not await drafts.erase_draft(session, loaded, keep={}, now=utcnow())
    assert (await conversation_of(bot, "stale")).draft["parts"][0]["text"] == "A new part."
