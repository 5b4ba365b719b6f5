from __future__ import annotations

import asyncio
import itertools

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from moderation.audit import GENESIS_HASH, POSTGRES_APPEND_ONLY_DDL, append_event, verify_chain
from moderation.states import Action, Role
from storage.db import Database
from storage.models import ModerationEvent, StoryState
from tests.moderation.test_support import submit_story


async def _chain(db: Database) -> list[ModerationEvent]:
    for _ in range(3):
        await submit_story(db)
    async with db.transaction() as session:
        return list(
            (await session.scalars(select(ModerationEvent).order_by(col(ModerationEvent.id)))).all()
        )


async def test_the_chain_verifies(db: Database) -> None:
    events = await _chain(db)
    assert events[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    async with db.transaction() as session:
        check = await verify_chain(session)
    assert check.ok and bool(check) and check.checked == 6 and check.first_bad_id is None


async def test_an_empty_log_verifies(db: Database) -> None:
    async with db.transaction() as session:
        assert await verify_chain(session)


@pytest.mark.parametrize(
    "field, value",
    [("note", "nothing to see"), ("actor", "someone-else"), ("to_state", "APPROVED")],
)
async def test_tampering_with_one_event_is_detected(db: Database, field: str, value: str) -> None:
    events = await _chain(db)
    target = events[3]
    async with db.transaction() as session:
        await session.execute(
            update(ModerationEvent)
            .where(col(ModerationEvent.id) == target.id)
            .values({field: value})
            .execution_options(synchronize_session=False)
        )
    async with db.transaction() as session:
        check = await verify_chain(session)
    assert not check and check.first_bad_id == target.id


async def test_removing_an_event_is_detected(db: Database) -> None:
    events = await _chain(db)
    async with db.transaction() as session:
        await session.execute(
            delete(ModerationEvent)
            .where(col(ModerationEvent.id) == events[2].id)
            .execution_options(synchronize_session=False)
        )
    async with db.transaction() as session:
        check = await verify_chain(session)
    assert check.first_bad_id == events[3].id


async def test_concurrent_appends_never_fork_the_chain(postgres_db: Database) -> None:
    """Ten transactions, all open, append at once: each reads the last hash only after
    the one before committed (the advisory lock). PostgreSQL only: SQLite never has two
    writers at once, so there this could not race."""
    db = postgres_db
    item, _ = await submit_story(db)
    assert item.id is not None
    barrier = asyncio.Barrier(10)

    async def one(n: int) -> None:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))  # its connection and transaction live
            await barrier.wait()
            await append_event(
                session,
                item_id=item.id or 0,
                from_state=StoryState.PENDING_REVIEW,
                to_state=StoryState.PENDING_REVIEW,
                actor=f"mod-{n}",
                role=Role.MODERATOR,
                action=Action.CLAIM,
            )

    await asyncio.gather(*(one(n) for n in range(10)))
    async with db.transaction() as session:
        check = await verify_chain(session)
        prevs = (
            await session.execute(select(func.count(func.distinct(col(ModerationEvent.prev_hash)))))
        ).scalar()
    assert check.ok and check.checked == 12 and prevs == 12


async def test_the_postgres_trigger_makes_the_log_append_only(db: Database) -> None:
    if not db.is_postgres:
        pytest.skip("the append-only trigger is PostgreSQL's")
    await _chain(db)
    async with db.transaction() as session:
        for statement in POSTGRES_APPEND_ONLY_DDL:
            await session.execute(text(statement))
    for change in (update(ModerationEvent).values(note="x"), delete(ModerationEvent)):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.transaction() as session:
                await session.execute(change.execution_options(synchronize_session=False))
    await submit_story(db)  # appending still works
    async with db.transaction() as session:
        assert await verify_chain(session)
