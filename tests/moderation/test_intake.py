from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from moderation import intake
from moderation.audit import GENESIS_HASH, verify_chain
from moderation.errors import NotAllowed, Refusal
from moderation.flags import ScreeningResult
from moderation.intake import PRIORITY_SAFETY, StoryFields, Submitted
from moderation.revisions import content_hash, screened_text
from storage.db import Database
from storage.models import (
    ModerationEvent,
    ModerationItem,
    OutboxMessage,
    Participant,
    Story,
    StoryMedia,
    StoryRevision,
    StoryState,
)
from tests.moderation.test_support import CRISIS, PHONE, force_state, submit_story


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


# -- submit_story and revise_story: the one way a storyteller's text is stored ----------


@dataclass(frozen=True)
class File:
    """A file as a chat describes it (the bot's ``MediaRef`` has these fields)."""

    kind: str
    ref: str
    mime: str | None = None
    size: int | None = None
    duration: int | None = None


class FixedScreener:
    """Screening stand-in: a fixed result, and what it was asked to read."""

    def __init__(self, result: ScreeningResult | None = None) -> None:
        self.result = result or ScreeningResult()
        self.calls: list[tuple[str, str, bool, str | None]] = []

    async def screen(
        self,
        text: str,
        *,
        locale: str,
        is_adult: bool = True,
        region_hint: str | None = None,
    ) -> ScreeningResult:
        self.calls.append((text, locale, is_adult, region_hint))
        return self.result


FIELDS = StoryFields(
    credit_mode="first_name",
    credit_name="Amal",
    origin_country="SY",
    current_country="DE",
    community_message="Thank you for the welcome.",
    is_adult=True,
    consent_version="3",
)
TEXT = "I left Aleppo in 2015 and walked to Izmir."


async def _participant(db: Database, name: str) -> int:
    async with db.transaction() as session:
        person = Participant(
            platform="telegram", external_id=name, chat_id=f"chat-{name}", identity_key=name
        )
        session.add(person)
        await session.flush()
        assert person.id is not None
        return person.id


async def _submit(
    db: Database,
    participant_id: int,
    *,
    fields: StoryFields = FIELDS,
    screener: FixedScreener | None = None,
) -> Submitted:
    async with db.transaction() as session:
        return await intake.submit_story(
            session,
            participant_id=participant_id,
            locale="ar",
            fields=fields,
            text=TEXT,
            media=[
                File("photo", "local:a", "image/jpeg", 1200),
                File("voice", "v-1", None, 90, 42),
            ],
            platform="telegram",
            screener=screener or FixedScreener(),
        )


async def _rows(db: Database, model: Any, story_id: int | None) -> list[Any]:
    async with db.transaction() as session:
        return list(
            (
                await session.scalars(
                    select(model).where(col(model.story_id) == story_id).order_by(col(model.id))
                )
            ).all()
        )


async def test_submit_story_stores_the_story_its_text_and_files_and_queues_it(
    db: Database,
) -> None:
    person = await _participant(db, "amal")
    screener = FixedScreener()
    done = await _submit(db, person, screener=screener)

    story_id = done.story.id
    async with db.transaction() as session:
        story = await session.get(Story, story_id)
        item = await session.get(ModerationItem, done.item.id)
    assert story is not None and item is not None
    assert (story.participant_id, story.locale, story.credit_mode, story.credit_name) == (
        person,
        "ar",
        "first_name",
        "Amal",
    )
    assert (story.origin_country, story.current_country, story.consent_version) == (
        "SY",
        "DE",
        "3",
    )
    assert story.community_message == "Thank you for the welcome." and story.is_adult
    assert story.guardian_consent_at is None
    [revision] = await _rows(db, StoryRevision, story_id)
    assert (revision.number, revision.text, revision.author) == (1, TEXT, "storyteller")
    assert revision.content_hash == content_hash(TEXT)
    files = await _rows(db, StoryMedia, story_id)
    assert [(f.position, f.kind, f.platform, f.ref, f.mime, f.size, f.duration) for f in files] == [
        (0, "photo", "telegram", "local:a", "image/jpeg", 1200, None),
        (1, "voice", "telegram", "v-1", None, 90, 42),
    ]
    assert (item.state, story.state, item.priority) == ("PENDING_REVIEW", "PENDING_REVIEW", 0)
    assert item.revision_id == revision.id == done.revision.id
    assert screener.calls == [(screened_text(TEXT, "Thank you for the welcome."), "ar", True, "DE")]


async def test_submit_story_of_a_minor_goes_to_the_safety_queue(db: Database) -> None:
    person = await _participant(db, "sami")
    minor = replace(FIELDS, is_adult=False, credit_mode="anonymous", credit_name=None)
    screener = FixedScreener()
    done = await _submit(db, person, fields=minor, screener=screener)
    assert (done.item.state, done.item.priority) == ("SAFETY_REVIEW", PRIORITY_SAFETY)
    assert screener.calls[0][2] is False  # the screener is told the age too


async def test_a_guardians_confirmation_is_kept_with_the_time_and_the_plain_version(
    db: Database,
) -> None:
    person = await _participant(db, "teacher")
    shared = replace(FIELDS, is_adult=False, credit_mode="anonymous", credit_name=None)
    done = await _submit(db, person, fields=replace(shared, guardian_consent=True))
    async with db.transaction() as session:
        story = await session.get(Story, done.item.story_id)
    assert story is not None
    assert story.consent_version == FIELDS.consent_version
    assert story.guardian_consent_at is not None


async def test_submit_story_routes_a_crisis_to_the_safety_queue(db: Database) -> None:
    person = await _participant(db, "rana")
    done = await _submit(db, person, screener=FixedScreener(CRISIS))
    assert done.item.state == "SAFETY_REVIEW" and done.screening.crisis
    assert done.item.flags == [flag.to_json() for flag in CRISIS.flags]


async def _ask_for_changes(db: Database, story_id: int | None) -> None:
    async with db.transaction() as session:
        item_id = (
            await session.execute(
                select(col(ModerationItem.id)).where(col(ModerationItem.story_id) == story_id)
            )
        ).scalar_one()
    await force_state(db, item_id, StoryState.NEEDS_CHANGES)


async def _revise(db: Database, story_id: int, participant_id: int, text: str) -> Submitted:
    async with db.transaction() as session:
        return await intake.revise_story(
            session,
            story_id=story_id,
            participant_id=participant_id,
            text=text,
            screener=FixedScreener(),
        )


async def test_revise_story_adds_the_next_revision_and_requeues_the_story(db: Database) -> None:
    person = await _participant(db, "amal")
    done = await _submit(db, person)
    assert done.story.id is not None
    await _ask_for_changes(db, done.story.id)
    new_text = "I left Aleppo in 2015."

    revised = await _revise(db, done.story.id, person, new_text)

    first, second = await _rows(db, StoryRevision, done.story.id)
    assert first.text == TEXT
    assert (second.number, second.text, second.author) == (2, new_text, "storyteller")
    assert second.content_hash == content_hash(new_text)
    assert (revised.item.state, revised.item.revision_id) == ("PENDING_REVIEW", second.id)
    assert revised.story.state == "PENDING_REVIEW"
    assert len(await _rows(db, StoryMedia, done.story.id)) == 2  # the files stay


async def test_revise_story_refuses_a_story_not_waiting_for_changes(db: Database) -> None:
    person = await _participant(db, "amal")
    done = await _submit(db, person)
    assert done.story.id is not None
    with pytest.raises(NotAllowed) as caught:
        await _revise(db, done.story.id, person, "Another text.")
    assert caught.value.refusal is Refusal.INVALID_TRANSITION
    assert len(await _rows(db, StoryRevision, done.story.id)) == 1


async def test_revise_story_refuses_someone_elses_story(db: Database) -> None:
    owner, other = await _participant(db, "amal"), await _participant(db, "omar")
    done = await _submit(db, owner)
    assert done.story.id is not None
    await _ask_for_changes(db, done.story.id)
    with pytest.raises(NotAllowed) as caught:
        await _revise(db, done.story.id, other, "Another text.")
    assert caught.value.refusal is Refusal.NOT_OWNER
    assert len(await _rows(db, StoryRevision, done.story.id)) == 1


async def test_revise_story_refuses_a_story_that_is_not_there(db: Database) -> None:
    person = await _participant(db, "amal")
    with pytest.raises(NotAllowed) as caught:
        await _revise(db, 4040, person, "Another text.")
    assert caught.value.refusal is Refusal.NOT_FOUND
