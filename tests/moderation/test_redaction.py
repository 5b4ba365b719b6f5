from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import col

from moderation.decisions import REDACTION_MARK, approve, mark_published, redact
from moderation.errors import DecisionConflict, NotAllowed, Refusal
from moderation.flags import FlagKind, ScreeningResult
from moderation.revisions import content_hash, screened_text
from storage.db import Database
from storage.models import StoryRevision
from tests.moderation.test_support import (
    CRISIS,
    LEAD,
    MODERATOR,
    STORY_TEXT,
    events_of,
    in_tx,
    item_row,
    submit_story,
)
from tests.moderation.test_support import (
    item_id as _id,
)

PHONE_AT = (STORY_TEXT.index("+90"), len(STORY_TEXT) - 1)


class RecordingScreen:
    """A screener stand-in that returns a fixed result and remembers what it read."""

    def __init__(self, result: ScreeningResult | None = None, fail: bool = False) -> None:
        self.result = result or ScreeningResult()
        self.fail = fail
        self.seen: list[str] = []

    async def __call__(self, text: str, *, locale: str, is_adult: bool) -> ScreeningResult:
        self.seen.append(text)
        if self.fail:
            raise TimeoutError("detector down")
        return self.result


async def _revisions(db: Database, story_id: int | None) -> list[StoryRevision]:
    async with db.transaction() as session:
        return list(
            (
                await session.scalars(
                    select(StoryRevision)
                    .where(col(StoryRevision.story_id) == story_id)
                    .order_by(col(StoryRevision.number))
                )
            ).all()
        )


async def test_a_redacted_revision_becomes_current_and_is_screened_again(db: Database) -> None:
    item, story = await submit_story(db)
    screen = RecordingScreen()
    done = await in_tx(
        db,
        lambda s: redact(
            s,
            item_id=_id(item),
            version=item.version,
            moderator=MODERATOR,
            screen=screen,
            spans=[PHONE_AT],
        ),
    )
    expected = STORY_TEXT[: PHONE_AT[0]] + REDACTION_MARK + "."
    original, redacted = await _revisions(db, story.id)
    assert original.text == STORY_TEXT  # kept, for moderators
    assert (redacted.number, redacted.text, redacted.author) == (2, expected, "moderator:mod-ana")
    assert screen.seen == [screened_text(expected, story.community_message)]

    after = await item_row(db, _id(item))
    assert after.revision_id == redacted.id == done.revision_id
    assert after.flags == [] and after.state == "PENDING_REVIEW"
    assert after.version == item.version + 1 == done.decision.version
    assert after.lease_owner == "mod-ana"  # the action extended the moderator's lease
    event = (await events_of(db, _id(item)))[-1]
    assert (event.action, event.revision_hash, event.note) == (
        "redact",
        content_hash(expected),
        None,
    )

    # The approval binds to the redacted text, and only that revision is published.
    await in_tx(
        db, lambda s: approve(s, item_id=_id(item), version=after.version, moderator=MODERATOR)
    )
    assert (await events_of(db, _id(item)))[-1].revision_hash == redacted.content_hash
    with pytest.raises(NotAllowed):
        await in_tx(
            db, lambda s: mark_published(s, item_id=_id(item), revision_id=original.id or 0)
        )
    assert await in_tx(
        db, lambda s: mark_published(s, item_id=_id(item), revision_id=redacted.id or 0)
    )


async def test_the_card_version_from_before_a_redaction_is_stale(db: Database) -> None:
    item, _ = await submit_story(db)
    await in_tx(
        db,
        lambda s: redact(
            s,
            item_id=_id(item),
            version=item.version,
            moderator=LEAD,
            screen=RecordingScreen(),
            text="A shorter story.",
        ),
    )
    with pytest.raises(DecisionConflict):
        await in_tx(
            db, lambda s: approve(s, item_id=_id(item), version=item.version, moderator=MODERATOR)
        )


async def test_screening_the_redaction_may_send_it_to_the_safety_queue(db: Database) -> None:
    item, _ = await submit_story(db)
    done = await in_tx(
        db,
        lambda s: redact(
            s,
            item_id=_id(item),
            version=item.version,
            moderator=MODERATOR,
            screen=RecordingScreen(CRISIS),
            spans=[PHONE_AT],
        ),
    )
    after = await item_row(db, _id(item))
    assert done.decision.to_state.value == after.state == "SAFETY_REVIEW"
    assert after.priority > 0 and after.lease_owner is None  # no longer this moderator's


async def test_a_screening_failure_holds_the_redaction(db: Database) -> None:
    item, _ = await submit_story(db)
    done = await in_tx(
        db,
        lambda s: redact(
            s,
            item_id=_id(item),
            version=item.version,
            moderator=MODERATOR,
            screen=RecordingScreen(fail=True),
            spans=[PHONE_AT],
        ),
    )
    assert [f.kind for f in done.screening.flags] == [FlagKind.SCREENING_UNAVAILABLE]
    assert (await item_row(db, _id(item))).flags[0]["kind"] == "screening_unavailable"


@pytest.mark.parametrize("spans", [[(5, 3)], [(0, 10_000)], [(0, 10), (5, 15)], []], ids=str)
async def test_bad_redactions_are_refused_and_write_nothing(
    db: Database, spans: list[tuple[int, int]]
) -> None:
    item, story = await submit_story(db)
    with pytest.raises(NotAllowed) as caught:
        await in_tx(
            db,
            lambda s: redact(
                s,
                item_id=_id(item),
                version=item.version,
                moderator=MODERATOR,
                screen=RecordingScreen(),
                spans=spans,
            ),
        )
    assert caught.value.refusal is Refusal.INVALID_REDACTION
    assert len(await _revisions(db, story.id)) == 1
    assert len(await events_of(db, _id(item))) == 2
