from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, String, select
from sqlalchemy.types import TypeEngine
from sqlmodel import SQLModel, col

from moderation.audit import verify_chain
from moderation.claims import claim
from moderation.decisions import approve, erase, needs_changes, redact
from moderation.flags import ScreeningResult
from moderation.storyteller import erase_stories
from storage.db import Database
from storage.models import ModerationEvent, Story, StoryMedia, StoryState
from tests.moderation.test_support import LEAD, MODERATOR, in_tx, item_row, submit_story

SECRETS = ("Aleppo", "Izmir", "555 123", "Amal Haddad", "Welcome others", "media-file-ref")


async def _no_flags(text: str, *, locale: str, is_adult: bool) -> ScreeningResult:
    return ScreeningResult()


def _is_text(kind: TypeEngine[Any]) -> bool:
    # SQLModel's str columns are AutoString, a decorator around String.
    return isinstance(kind, String | JSON) or isinstance(getattr(kind, "impl", None), String)


async def _text_columns(db: Database) -> list[tuple[str, str, Any]]:
    """Every value of every string or JSON column of every table."""
    found = []
    async with db.transaction() as session:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.columns if _is_text(c.type)]
            if not columns:
                continue
            for row in (await session.execute(select(*columns))).all():
                for column, value in zip(columns, row, strict=True):
                    found.append((table.name, column.name, value))
    return found


def _leaks(values: list[tuple[str, str, Any]]) -> list[tuple[str, str]]:
    return [
        (table, column)
        for table, column, value in values
        for secret in SECRETS
        if value is not None
        and secret in (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    ]


async def test_erasure_leaves_no_story_text_in_any_table(db: Database) -> None:
    item, story = await submit_story(db)
    assert item.id is not None and story.id is not None and story.participant_id is not None
    item_id, story_id, participant_id = item.id, story.id, story.participant_id
    async with db.transaction() as session:
        session.add(
            StoryMedia(
                story_id=story_id,
                position=0,
                kind="photo",
                platform="telegram",
                ref="media-file-ref",
            )
        )
        # A title a moderator gave it, quoting the story: erased with the rest.
        stored = await session.get(Story, story_id)
        assert stored is not None
        stored.title = "Walking from Aleppo"
    redacted = await in_tx(
        db,
        lambda s: redact(
            s,
            item_id=item_id,
            version=item.version,
            moderator=MODERATOR,
            screen=_no_flags,
            text="I left Aleppo and walked to Izmir.",
        ),
    )
    await in_tx(
        db,
        lambda s: needs_changes(
            s,
            item_id=item_id,
            version=redacted.decision.version,
            moderator=MODERATOR,
            reason="Could you leave out Izmir?",
        ),
    )
    before = await _text_columns(db)
    scanned = {(table, column) for table, column, _ in before}
    assert {
        ("story_revision", "text"),
        ("moderation_event", "note"),
        ("outbox", "payload"),
    } <= scanned
    assert {
        ("story", "credit_name"),
        ("story", "title"),
        ("story_media", "ref"),
    } <= scanned
    assert _leaks(before)  # the scan does see the story before erasure
    events_before = len(await _text_columns(db))

    erased = await in_tx(db, lambda s: erase_stories(s, participant_id=participant_id))

    assert erased == 1
    assert _leaks(await _text_columns(db)) == []
    assert (await item_row(db, item_id)).state == StoryState.ERASED.value
    async with db.transaction() as session:
        events = (await session.scalars(select(ModerationEvent))).all()
        assert await verify_chain(session)
    assert events[-1].to_state == "ERASED" and events[-1].actor == f"participant:{participant_id}"
    assert len(events) == 5 and events_before > 0


async def test_a_lead_erases_despite_a_claim_and_retention_erases_as_system(db: Database) -> None:
    first, _ = await submit_story(db)
    second, _ = await submit_story(db)
    assert first.id is not None and second.id is not None
    first_id, second_id = first.id, second.id
    await in_tx(db, lambda s: claim(s, item_id=first_id, moderator=MODERATOR))
    done = await in_tx(
        db, lambda s: erase(s, item_id=first_id, actor=LEAD, note="request by email")
    )
    assert done.to_state is StoryState.ERASED
    approved = await in_tx(
        db, lambda s: approve(s, item_id=second_id, version=second.version, moderator=MODERATOR)
    )
    assert approved.to_state is StoryState.APPROVED
    await in_tx(db, lambda s: erase(s, item_id=second_id))
    async with db.transaction() as session:
        publications = (
            (
                await session.execute(
                    select(col(ModerationEvent.actor)).where(
                        col(ModerationEvent.to_state) == "ERASED"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert sorted(publications) == ["lead-dana", "system"]
