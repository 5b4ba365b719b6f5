"""Retention: each rule deletes exactly what is past its period, in bounded batches, and
keeps the rest, the counts and the audit log. Time is moved by the job's ``now``."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from bot.app import Bot
from bot.config import Settings
from moderation.actors import Storyteller
from moderation.audit import verify_chain
from moderation.decisions import reject, withdraw
from moderation.reasons import ReasonCode
from storage import retention
from storage.db import Database
from storage.media import MediaStore
from storage.models import (
    ModerationEvent,
    ModerationItem,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ProcessedEvent,
    Story,
    StoryMedia,
    StoryRevision,
    StoryState,
    StoryStats,
    WebChatMessage,
    utcnow,
)
from tests import media_samples as samples
from tests.conftest import make_bot
from tests.moderation.test_erasure import _text_columns
from tests.moderation.test_support import MODERATOR, events_of, in_tx, submit_story

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
GONE_TEXT = "Our boat left Sfax at dawn; Zeynep held my hand."
KEPT_TEXT = "I crossed the Evros river in winter with my brother."


async def keep_file(bot: Bot, owner_key: str) -> str:
    """A real file in the media store: its name."""
    stored = await bot.deps.media.ingest(
        samples.jpeg_with_gps(), owner=MediaStore.owner_of(owner_key)
    )
    return stored.name


async def attach(db: Database, story_id: int, name: str) -> None:
    async with db.transaction() as session:
        session.add(
            StoryMedia(
                story_id=story_id, position=0, kind="photo", platform="webchat", ref=f"local:{name}"
            )
        )


async def set_item_time(db: Database, item_id: int, moment: datetime) -> None:
    """When the item's last moderation change happened (the period counts from it)."""
    async with db.transaction() as session:
        await session.execute(
            update(ModerationItem)
            .where(col(ModerationItem.id) == item_id)
            .values(updated_at=moment)
        )


async def story_row(db: Database, story_id: int) -> tuple[Story, list[str], int]:
    """The story, its revisions' texts, and how many files it has."""
    async with db.transaction() as session:
        story = (
            await session.execute(
                select(Story)
                .where(col(Story.id) == story_id)
                .execution_options(populate_existing=True)
            )
        ).scalar_one()
        texts = list(
            (
                await session.execute(
                    select(col(StoryRevision.text))
                    .where(col(StoryRevision.story_id) == story_id)
                    .order_by(col(StoryRevision.number))
                )
            )
            .scalars()
            .all()
        )
        media = (
            await session.execute(select(StoryMedia).where(col(StoryMedia.story_id) == story_id))
        ).all()
        return story, texts, len(media)


async def reject_story(db: Database, item: ModerationItem) -> None:
    assert item.id is not None
    item_id, version = item.id, item.version
    await in_tx(
        db,
        lambda s: reject(
            s, item_id=item_id, version=version, moderator=MODERATOR, reason=ReasonCode.SPAM
        ),
    )


def ids(item: ModerationItem, story: Story) -> tuple[int, int, int]:
    assert item.id is not None and story.id is not None and story.participant_id is not None
    return item.id, story.id, story.participant_id


async def test_rejected_and_withdrawn_stories_lose_their_text_after_the_period(
    bot: Bot, tmp_path: Path
) -> None:
    db = bot.deps.db
    rejected_item, rejected = await submit_story(db, text=GONE_TEXT)
    r_item, r_story, _r_person = ids(rejected_item, rejected)
    withdrawn_item, withdrawn = await submit_story(db, text=GONE_TEXT + " (2)")
    w_item, w_story, w_person = ids(withdrawn_item, withdrawn)
    pending_item, pending = await submit_story(db, text=KEPT_TEXT)
    _p_item, p_story, _ = ids(pending_item, pending)
    late_item, late = await submit_story(db, text=KEPT_TEXT + " (late)")
    l_item, l_story, _ = ids(late_item, late)

    await reject_story(db, rejected_item)
    await in_tx(db, lambda s: withdraw(s, item_id=w_item, storyteller=Storyteller(w_person)))
    await reject_story(db, late_item)
    t0 = utcnow()
    await set_item_time(db, l_item, t0 + 10 * DAY)  # rejected ten days after the others

    gone_photo = await keep_file(bot, "rejected-person")
    kept_photo = await keep_file(bot, "pending-person")
    await attach(db, r_story, gone_photo)
    await attach(db, p_story, kept_photo)
    async with db.transaction() as session:
        await session.execute(
            update(Story).where(col(Story.id) == r_story).values(title="Zeynep's crossing")
        )
        session.add(StoryStats(story_id=r_story, reads=7, thanks=2))
    audit_before = len(await events_of(db, r_item))

    purge = bot.scheduler.purge
    assert (await purge(t0 + 30 * DAY - MINUTE)).stories == 0
    done = await purge(t0 + 30 * DAY + MINUTE)
    assert done.stories == 2
    assert done.files == 1

    for story_id in (r_story, w_story):
        story, texts, files = await story_row(db, story_id)
        assert story.state == StoryState.ERASED.value
        assert texts and all(text == "" for text in texts)
        assert (story.title, story.credit_name, story.community_message) == (None, None, None)
        assert files == 0
    assert bot.deps.media.path(gone_photo) is None
    # What stays: the row's counts, and the audit log with one event more, by the system.
    async with db.transaction() as session:
        stats = await session.get(StoryStats, r_story)
        assert stats is not None and (stats.reads, stats.thanks) == (7, 2)
        assert await verify_chain(session)
    events = await events_of(db, r_item)
    assert len(events) == audit_before + 1
    last = events[-1]
    assert (last.from_state, last.to_state, last.actor, last.note) == (
        StoryState.REJECTED.value,
        StoryState.ERASED.value,
        "system",
        "retention",
    )
    # What is not past its period, or not rejected or withdrawn, keeps everything.
    for story_id, text in ((p_story, KEPT_TEXT), (l_story, KEPT_TEXT + " (late)")):
        story, texts, _files = await story_row(db, story_id)
        assert story.state != StoryState.ERASED.value
        assert texts == [text]
    assert bot.deps.media.path(kept_photo) is not None

    # Idempotent: a second run finds nothing; the late one goes at its own time.
    assert (await purge(t0 + 30 * DAY + 2 * MINUTE)).stories == 0
    assert (await purge(t0 + 40 * DAY + MINUTE)).stories == 1
    story, texts, _ = await story_row(db, l_story)
    assert story.state == StoryState.ERASED.value and texts == [""]
    story, texts, _ = await story_row(db, p_story)
    assert story.state == StoryState.PENDING_REVIEW.value and texts == [KEPT_TEXT]

    # Nothing of the erased stories left in any text or JSON column of any table.
    leaks = [
        (table, column)
        for table, column, value in await _text_columns(db)
        if value is not None and any(word in str(value) for word in ("Sfax", "Zeynep"))
    ]
    assert leaks == []
    if db.is_sqlite:  # nor in the file or its WAL
        stored = b"".join(
            path.read_bytes()
            for path in (tmp_path / "test.db", tmp_path / "test.db-wal")
            if path.exists()
        )
        assert b"Sfax" not in stored and b"Zeynep" not in stored
        assert b"Evros" in stored


async def test_a_file_an_erased_story_shares_stays_while_something_shows_it(bot: Bot) -> None:
    db = bot.deps.db
    item, story = await submit_story(db, text=GONE_TEXT)
    item_id, story_id, person = ids(item, story)
    shared = await keep_file(bot, "shared-person")
    await attach(db, story_id, shared)
    await in_tx(db, lambda s: withdraw(s, item_id=item_id, storyteller=Storyteller(person)))
    t0 = utcnow()
    # The web chat transcript shows the file too, in a message sent five days later.
    await say(db, person, t0 + 5 * DAY, {"text": "", "media": [{"ref": f"local:{shared}"}]})

    done = await bot.scheduler.purge(t0 + 31 * DAY)
    assert (done.stories, done.webchat_messages, done.files) == (1, 0, 0)
    assert bot.deps.media.path(shared) is not None
    done = await bot.scheduler.purge(t0 + 36 * DAY)  # the transcript is quiet now
    assert (done.stories, done.webchat_messages, done.files) == (0, 1, 1)
    assert bot.deps.media.path(shared) is None


async def add_processed(db: Database, count: int, at: datetime, prefix: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            db.insert(ProcessedEvent),
            [
                {"platform": "telegram", "key": f"{prefix}{i}", "created_at": at}
                for i in range(count)
            ],
        )


async def count(db: Database, table: Any, *where: Any) -> int:
    async with db.transaction() as session:
        return len((await session.execute(select(table).where(*where))).all())


async def test_processed_event_keys_go_after_their_period_in_bounded_batches(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = bot.deps.db
    t0 = utcnow()
    monkeypatch.setattr(retention, "BATCH", 4)
    await add_processed(db, 10, t0 - 15 * DAY, "old-")
    await add_processed(db, 3, t0 - 13 * DAY, "young-")
    batches: list[int] = []
    purge_batch = retention.purge_processed_events

    async def recorded(*args: Any, **kwargs: Any) -> int:
        deleted = await purge_batch(*args, **kwargs)
        batches.append(deleted)
        return deleted

    monkeypatch.setattr(retention, "purge_processed_events", recorded)
    done = await bot.scheduler.purge(t0)
    assert done.processed_events == 10
    assert batches == [4, 4, 2]  # never more than a batch in one transaction
    left = await count(db, ProcessedEvent)
    assert left == 3
    assert await count(db, ProcessedEvent, col(ProcessedEvent.key).startswith("old-")) == 0


def outbox_row(key: str, status: OutboxStatus, sent_at: datetime | None, at: datetime) -> Any:
    return OutboxMessage(
        dedupe_key=key,
        platform="telegram",
        chat_id="1",
        payload={"message": {"text": "hello"}},
        status=status.value,
        sent_at=sent_at,
        created_at=at,
        next_attempt_at=at,
    )


async def test_sent_outbox_rows_go_after_their_period_and_the_others_stay(bot: Bot) -> None:
    db = bot.deps.db
    t0 = utcnow()
    async with db.transaction() as session:
        session.add(outbox_row("sent-old", OutboxStatus.SENT, t0 - 7 * DAY - MINUTE, t0 - 30 * DAY))
        session.add(outbox_row("sent-young", OutboxStatus.SENT, t0 - 6 * DAY, t0 - 30 * DAY))
        session.add(outbox_row("pending-old", OutboxStatus.PENDING, None, t0 - 30 * DAY))
        session.add(outbox_row("dead-old", OutboxStatus.DEAD, None, t0 - 30 * DAY))
        # Never to be sent (erased, no longer wanted): gone after the period too.
        session.add(outbox_row("cancelled-old", OutboxStatus.CANCELLED, None, t0 - 8 * DAY))
        session.add(outbox_row("cancelled-young", OutboxStatus.CANCELLED, None, t0 - 6 * DAY))
    done = await bot.scheduler.purge(t0)
    assert done.outbox == 2
    async with db.transaction() as session:
        keys = set((await session.execute(select(col(OutboxMessage.dedupe_key)))).scalars())
    assert keys == {"sent-young", "pending-old", "dead-old", "cancelled-young"}


async def web_person(db: Database, name: str) -> int:
    async with db.transaction() as session:
        person = Participant(
            platform="webchat", external_id=name, chat_id=name, identity_key=f"{name}-key"
        )
        session.add(person)
        await session.flush()
        assert person.id is not None
        return person.id


async def say(db: Database, person: int, at: datetime, payload: dict[str, Any]) -> None:
    async with db.transaction() as session:
        session.add(
            WebChatMessage(participant_id=person, sender="user", payload=payload, created_at=at)
        )


async def test_quiet_web_chat_transcripts_go_with_the_files_only_they_show(bot: Bot) -> None:
    db = bot.deps.db
    t0 = utcnow()
    quiet, active = await web_person(db, "quiet"), await web_person(db, "active")
    only_here = await keep_file(bot, "quiet-key")
    in_a_story = await keep_file(bot, "quiet-key-2")
    _item, story = await submit_story(db, text=KEPT_TEXT)
    assert story.id is not None
    await attach(db, story.id, in_a_story)
    await say(db, quiet, t0 - 40 * DAY, {"text": "hello", "media": []})
    await say(
        db,
        quiet,
        t0 - 30 * DAY - MINUTE,
        {"text": "", "media": [{"ref": f"local:{only_here}"}, {"ref": f"local:{in_a_story}"}]},
    )
    await say(db, active, t0 - 40 * DAY, {"text": "hi", "media": []})
    await say(db, active, t0 - 29 * DAY, {"text": "still here", "media": []})

    done = await bot.scheduler.purge(t0)
    assert (done.webchat_messages, done.files) == (2, 1)
    assert await count(db, WebChatMessage, col(WebChatMessage.participant_id) == quiet) == 0
    # A session with a recent message keeps its whole transcript, the old part too.
    assert await count(db, WebChatMessage, col(WebChatMessage.participant_id) == active) == 2
    assert bot.deps.media.path(only_here) is None
    assert bot.deps.media.path(in_a_story) is not None
    assert (await bot.scheduler.purge(t0)).webchat_messages == 0


async def test_each_period_is_a_setting(settings: Settings, db: Database) -> None:
    bot = await make_bot(
        settings.model_copy(
            update={
                "retention_story_days": 3,
                "retention_processed_event_days": 2,
                "retention_outbox_days": 5,
                "retention_webchat_days": 4,
            }
        ),
        db,
    )
    t0 = utcnow()
    item, story = await submit_story(db, text=GONE_TEXT)
    item_id, _story_id, _ = ids(item, story)
    await reject_story(db, item)
    await add_processed(db, 1, t0 - 2 * DAY - MINUTE, "old-")
    await add_processed(db, 1, t0 - 2 * DAY + MINUTE, "young-")
    async with db.transaction() as session:
        session.add(outbox_row("sent-old", OutboxStatus.SENT, t0 - 5 * DAY - MINUTE, t0))
        session.add(outbox_row("sent-young", OutboxStatus.SENT, t0 - 5 * DAY + MINUTE, t0))
    person = await web_person(db, "someone")
    await say(db, person, t0 - 4 * DAY - MINUTE, {"text": "hello", "media": []})
    await set_item_time(db, item_id, t0 - 3 * DAY - MINUTE)

    done = await bot.scheduler.purge(t0)
    assert (done.stories, done.processed_events, done.outbox, done.webchat_messages) == (
        1,
        1,
        1,
        1,
    )


def test_outbox_retention_outlasts_a_draft_expiry_notice() -> None:
    # The notice's sent row is the record that it was sent until the draft is erased.
    with pytest.raises(ValueError, match="retention_outbox_days"):
        Settings(_env_file=None, retention_outbox_days=3)  # type: ignore[call-arg]


async def test_audit_events_of_an_erased_story_are_never_purged(bot: Bot) -> None:
    db = bot.deps.db
    item, story = await submit_story(db, text=GONE_TEXT)
    item_id, _, _ = ids(item, story)
    await reject_story(db, item)
    t0 = utcnow()
    await bot.scheduler.purge(t0 + 31 * DAY)
    events = await count(db, ModerationEvent, col(ModerationEvent.item_id) == item_id)
    await bot.scheduler.purge(t0 + 3650 * DAY)  # years later: still every event
    assert await count(db, ModerationEvent, col(ModerationEvent.item_id) == item_id) == events
    assert await count(db, Story, col(Story.id) == story.id) == 1
