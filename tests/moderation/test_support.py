"""Builders shared by the moderation tests (imported by the other test modules)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from moderation.actors import Moderator
from moderation.flags import Flag, FlagAction, FlagKind, ScreeningResult
from moderation.intake import receive_story
from moderation.revisions import content_hash
from moderation.states import Role
from storage.db import Database
from storage.models import (
    ModerationEvent,
    ModerationItem,
    OutboxMessage,
    Participant,
    Story,
    StoryRevision,
    StoryState,
)
from tests.races import Rendezvous, on_statement

T = TypeVar("T")

STORY_TEXT = "I left Aleppo in 2015 and walked to Izmir. Call me on +90 555 123 4567."
_numbers = itertools.count(1)

CRISIS = ScreeningResult(flags=(Flag("f1", FlagKind.CRISIS, FlagAction.SAFETY, 0, 6, "self_harm"),))
PHONE = ScreeningResult(flags=(Flag("f1", FlagKind.PHONE, FlagAction.HOLD, 54, 71),))


async def submit_story(
    db: Database,
    *,
    text: str = STORY_TEXT,
    screening: ScreeningResult = PHONE,
    identity_key: str = "storyteller-key",
    is_adult: bool = True,
) -> tuple[ModerationItem, Story]:
    """A storyteller's submission, through intake, as the story flow will do it."""
    n = next(_numbers)
    async with db.transaction() as session:
        person = Participant(
            platform="telegram",
            external_id=f"user-{n}",
            chat_id=f"chat-{n}",
            identity_key=identity_key,
            display_name="amal_tg",  # the participant row is the privacy handler's to erase
        )
        session.add(person)
        await session.flush()
        story = Story(
            participant_id=person.id,
            locale="en",
            credit_mode="full_name",
            credit_name="Amal Haddad",
            community_message="Welcome others as you would be welcomed.",
            is_adult=is_adult,
            consent_version="1",
        )
        session.add(story)
        await session.flush()
        assert story.id is not None
        revision = StoryRevision(
            story_id=story.id,
            number=1,
            text=text,
            content_hash=content_hash(text),
            author="storyteller",
        )
        session.add(revision)
        await session.flush()
        item = await receive_story(session, story=story, revision=revision, screening=screening)
    return item, story


async def test_submit_story_builds_a_pending_item(db: Database) -> None:
    item, story = await submit_story(db)
    assert item.state == story.state == "PENDING_REVIEW"


MODERATOR = Moderator(id="mod-ana", role=Role.MODERATOR, identity_keys=frozenset({"ana-key"}))
MODERATOR_2 = Moderator(id="mod-ben", role=Role.MODERATOR)
SAFETY = Moderator(id="safe-chloe", role=Role.SAFETY_MODERATOR)
LEAD = Moderator(id="lead-dana", role=Role.LEAD)
BY_ROLE = {m.role: m for m in (MODERATOR_2, SAFETY, LEAD)}


def item_id(item: ModerationItem) -> int:
    assert item.id is not None
    return item.id


async def in_tx(db: Database, call: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async with db.transaction() as session:
        return await call(session)


async def race(db: Database, *calls: Callable[[AsyncSession], Awaitable[Any]]) -> list[Any]:
    """Run calls in concurrent transactions that really overlap on PostgreSQL.

    There each transaction is held after its first statement (its first read) until all
    of them have run theirs, so every one reads what the others read before any writes.
    SQLite admits one writer at a time: there the calls run one after another (in the
    order the writer lock admits them), which proves the loser's answer, not the race.
    """

    async def run(call: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        async with db.transaction() as session:
            return await call(session)

    if not db.is_postgres:
        return await asyncio.gather(*(run(call) for call in calls), return_exceptions=True)
    together = Rendezvous(len(calls), first_per_connection=True)
    with on_statement(db, together):
        results = await asyncio.gather(*(run(call) for call in calls), return_exceptions=True)
    assert together.met.is_set(), results
    return results


async def force_state(db: Database, item_id: int, state: StoryState) -> int:
    """Put an item in a state directly (tests only). Returns its version."""
    async with db.transaction() as session:
        item = await session.get(ModerationItem, item_id)
        assert item is not None
        item.state = state.value
        story = await session.get(Story, item.story_id)
        assert story is not None
        story.state = state.value
        await session.flush()
        return item.version


async def item_row(db: Database, item_id: int) -> ModerationItem:
    async with db.transaction() as session:
        item = (
            await session.execute(
                select(ModerationItem)
                .where(col(ModerationItem.id) == item_id)
                .execution_options(populate_existing=True)
            )
        ).scalar_one()
        return item


async def events_of(db: Database, item_id: int) -> list[ModerationEvent]:
    async with db.transaction() as session:
        return list(
            (
                await session.scalars(
                    select(ModerationEvent)
                    .where(col(ModerationEvent.item_id) == item_id)
                    .order_by(col(ModerationEvent.id))
                )
            ).all()
        )


async def outbox_keys(db: Database) -> list[str]:
    async with db.transaction() as session:
        return sorted((await session.scalars(select(col(OutboxMessage.dedupe_key)))).all())
