"""The dashboard's queue read model: paging, filters, search and need-to-know."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from bot.review.queue import queue_languages, queue_page
from moderation.states import Role
from storage.db import Database
from storage.models import ModerationItem, StoryState, utcnow
from tests.moderation.test_support import CRISIS, force_state, item_id, submit_story


async def _set(db: Database, item: int, **values: Any) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(ModerationItem)
            .where(col(ModerationItem.id) == item)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


async def _ids(
    db: Database, reader: Role = Role.MODERATOR, **filters: Any
) -> tuple[list[int], bool]:
    async with db.transaction() as session:
        page = await queue_page(session, reader=reader, **filters)
    return [entry.item.id or 0 for entry in page.entries], page.more


async def test_waiting_items_come_oldest_first_a_page_at_a_time(db: Database) -> None:
    items = [item_id((await submit_story(db))[0]) for _ in range(3)]
    first = dict(state=StoryState.PENDING_REVIEW, page_size=2)
    assert await _ids(db, **first) == (items[:2], True)
    assert await _ids(db, **first, page=2) == (items[2:], False)
    # Higher priority first, however new.
    await _set(db, items[2], priority=1)
    assert await _ids(db, state=StoryState.PENDING_REVIEW) == ([items[2], *items[:2]], False)


async def test_decided_items_come_newest_first(db: Database) -> None:
    items = [item_id((await submit_story(db))[0]) for _ in range(2)]
    for n, item in enumerate(items):
        await force_state(db, item, StoryState.REJECTED)
        await _set(db, item, updated_at=utcnow() + timedelta(minutes=n))
    assert await _ids(db, state=StoryState.REJECTED) == (items[::-1], False)
    assert await _ids(db, state=StoryState.PENDING_REVIEW) == ([], False)


async def test_a_search_by_number_or_words_in_any_state(db: Database) -> None:
    sure, _ = await submit_story(db, text="I was 100% sure we would make it.")
    other, story = await submit_story(db, text="We crossed the sea at night.")
    await force_state(db, item_id(other), StoryState.PUBLISHED)
    assert await _ids(db, state=None, query=f"#{story.id}") == ([item_id(other)], False)
    assert await _ids(db, state=None, query="crossed the SEA") == ([item_id(other)], False)
    # LIKE's wildcards are searched as the characters they are.
    assert await _ids(db, state=None, query="%") == ([item_id(sure)], False)
    assert await _ids(db, state=None, query="crossed_the") == ([], False)


async def test_a_language_filter_and_the_languages_on_offer(db: Database) -> None:
    english, _ = await submit_story(db)
    arabic, _ = await submit_story(db)
    await _set(db, item_id(arabic), locale="ar")
    assert await _ids(db, state=StoryState.PENDING_REVIEW, language="ar") == (
        [item_id(arabic)],
        False,
    )
    async with db.transaction() as session:
        assert await queue_languages(session, reader=Role.MODERATOR) == ["ar", "en"]
    assert item_id(english) not in (await _ids(db, state=None, language="ar"))[0]


async def test_the_safety_teams_stories_are_theirs_alone(db: Database) -> None:
    crisis, story = await submit_story(db, screening=CRISIS)
    await _set(db, item_id(crisis), locale="fa")
    plain = Role.MODERATOR
    for filters in ({"state": StoryState.SAFETY_REVIEW}, {"state": None, "query": str(story.id)}):
        assert await _ids(db, plain, **filters) == ([], False)
        assert await _ids(db, Role.SAFETY_MODERATOR, **filters) == ([item_id(crisis)], False)
    async with db.transaction() as session:
        assert await queue_languages(session, reader=plain) == []
        assert await queue_languages(session, reader=Role.LEAD) == ["fa"]
