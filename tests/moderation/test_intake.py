from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import col

from moderation.audit import GENESIS_HASH, verify_chain
from moderation.flags import ScreeningResult
from storage.db import Database
from storage.models import ModerationEvent, OutboxMessage, Story
from tests.moderation.test_support import CRISIS, PHONE, submit_story


async def test_a_clean_story_waits_for_review_with_two_events(db: Database) -> None:
    item, story = await submit_story(db, screening=ScreeningResult())
    assert (item.state, item.priority, item.version, item.flags) == ("PENDING_REVIEW", 0, 2, [])
    async with db.transaction() as session:
        events = (
            await session.scalars(select(ModerationEvent).order_by(col(ModerationEvent.id)))
        ).all()
        stored = await session.get(Story, story.id)
        notices = (await session.scalars(select(OutboxMessage))).all()
    assert [(e.from_state, e.to_state, e.actor, e.role) for e in events] == [
        (None, "RECEIVED", "system", "system"),
        ("RECEIVED", "PENDING_REVIEW", "system", "system"),
    ]
    assert events[0].prev_hash == GENESIS_HASH and events[1].prev_hash == events[0].hash
    assert stored is not None and stored.state == "PENDING_REVIEW"
    assert [n.payload for n in notices] == [
        {"notification": {"kind": "received", "story_id": story.id, "reason": None}}
    ]
    assert notices[0].chat_id.startswith("chat-")


async def test_flags_are_stored_with_offsets(db: Database) -> None:
    item, _ = await submit_story(db, screening=PHONE)
    assert item.flags == [flag.to_json() for flag in PHONE.flags]
    assert item.flags[0]["start"] == 54


async def test_crisis_goes_to_the_safety_queue_with_high_priority(db: Database) -> None:
    item, story = await submit_story(db, screening=CRISIS)
    assert (item.state, story.state) == ("SAFETY_REVIEW", "SAFETY_REVIEW")
    assert item.priority > 0
    async with db.transaction() as session:
        last = (
            await session.scalars(select(ModerationEvent).order_by(col(ModerationEvent.id).desc()))
        ).first()
    assert last is not None and last.flag_ids == ["f1"]


async def test_a_minor_goes_to_the_safety_queue_even_without_flags(db: Database) -> None:
    item, _ = await submit_story(db, screening=ScreeningResult(), is_adult=False)
    assert item.state == "SAFETY_REVIEW"


async def test_concurrent_intakes_keep_one_chain(postgres_db: Database) -> None:
    """PostgreSQL only: SQLite never has two writers at once, so there this could not race."""
    import asyncio

    db = postgres_db
    await asyncio.gather(*(submit_story(db) for _ in range(8)))
    async with db.transaction() as session:
        check = await verify_chain(session)
        count = (await session.execute(select(func.count()).select_from(ModerationEvent))).scalar()
    assert check.ok and check.checked == count == 16
