"""Readers' thanks: screened, limited, passed once by a moderator, delivered, erased."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from moderation.screening import Screener
from moderation.storyteller import erase_stories
from moderation.thanks import (
    DAILY_LIMIT,
    PENDING_PER_STORY,
    ThanksRefusal,
    ThanksRefused,
    check_thanks,
    mark_delivered,
    name_ok,
    pass_thanks,
    reject_thanks,
    submit_thanks,
)
from storage import thanks as rows
from storage.db import Database
from storage.export import collect
from storage.models import (
    OutboxMessage,
    Participant,
    Story,
    StoryState,
    StoryStats,
    Thanks,
    ThanksState,
    utcnow,
)
from tests.moderation.test_support import force_state, item_id, race, submit_story

SCREENER = Screener()
CLEAN = "Thank you for sharing your story. It means a lot to me."


async def published_story(db: Database, identity_key: str = "storyteller-key") -> Story:
    from moderation.flags import ScreeningResult

    item, story = await submit_story(db, screening=ScreeningResult(), identity_key=identity_key)
    await force_state(db, item_id(item), StoryState.PUBLISHED)
    return story


async def send(
    db: Database,
    story: Story,
    *,
    text: str = CLEAN,
    reader: str = "reader-key",
    signed: str | None = None,
    phrase: str | None = None,
    now: object = None,
) -> Thanks:
    assert story.id is not None
    async with db.transaction() as session:
        received = await submit_thanks(
            session,
            story_id=story.id,
            text=text,
            phrase=phrase,
            signed=signed,
            reader_key=reader,
            locale="en",
            screener=SCREENER,
            now=now,  # type: ignore[arg-type]
        )
    return received.thanks


async def row(db: Database, thanks_id: int | None) -> Thanks:
    async with db.transaction() as session:
        found = await session.get(Thanks, thanks_id)
    assert found is not None
    return found


async def deliveries(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list(
            (
                await session.execute(
                    select(OutboxMessage).where(col(OutboxMessage.dedupe_key).startswith("thanks:"))
                )
            ).scalars()
        )


async def test_a_passed_thank_you_is_queued_for_the_storyteller_and_counted_once(
    db: Database,
) -> None:
    story = await published_story(db)
    thanks = await send(db, story, signed="Kenji")
    assert thanks.state == ThanksState.PENDING and thanks.flags == []
    assert not await deliveries(db)  # nothing reaches anyone before a moderator's click

    async with db.transaction() as session:
        decision = await pass_thanks(session, thanks_id=thanks.id or 0, moderator_id="ana")
    assert decision.done and decision.state is ThanksState.PASSED
    [queued] = await deliveries(db)
    async with db.transaction() as session:
        storyteller = await session.get(Participant, story.participant_id)
    assert storyteller is not None
    assert (queued.dedupe_key, queued.platform, queued.chat_id) == (
        f"thanks:{thanks.id}",
        storyteller.platform,
        storyteller.chat_id,
    )
    # Ids only: the words are read when it is sent (an erasure in between leaves nothing).
    assert queued.payload == {"thanks": {"thanks_id": thanks.id, "story_id": story.id}}
    assert "Kenji" not in str(queued.payload) and "reader-key" not in str(queued.payload)

    for _attempt in range(2):
        async with db.transaction() as session:
            await mark_delivered(session, thanks.id or 0)
    async with db.transaction() as session:
        stats = await session.get(StoryStats, story.id)
    assert stats is not None and stats.thanks == 1
    passed = await row(db, thanks.id)
    assert (passed.state, passed.decided_by) == (ThanksState.DELIVERED, "ana")


@pytest.mark.parametrize(
    ("text", "signed", "kind"),
    [
        ("Thank you! Call me on +44 7700 900123 any time.", None, "phone"),
        ("Thank you! Read more at https://example.org/me", None, "link"),
        ("Thank you! Write to me: kenji@example.org", None, "email"),
        ("Go home, you stupid bitch.", None, "profanity"),
        ("I want to kill myself, your story is the only thing keeping me going", None, "crisis"),
    ],
)
async def test_flagged_thanks_are_held_with_their_flags(
    db: Database, text: str, signed: str | None, kind: str
) -> None:
    story = await published_story(db)
    thanks = await send(db, story, text=text, signed=signed)
    stored = await row(db, thanks.id)
    assert stored.state == ThanksState.PENDING
    assert kind in {flag["kind"] for flag in stored.flags}
    assert not await deliveries(db)


async def test_the_signed_name_is_screened_too(db: Database) -> None:
    story = await published_story(db)
    thanks = await send(db, story, text="Thank you.", signed="Bitch")
    [flag] = (await row(db, thanks.id)).flags
    # Offsets index the screened text: the message, a line break, then the name.
    assert (flag["kind"], flag["start"]) == ("profanity", len("Thank you.") + 1)


async def test_a_rejected_thank_you_never_reaches_the_storyteller(db: Database) -> None:
    story = await published_story(db)
    thanks = await send(db, story)
    async with db.transaction() as session:
        rejected = await reject_thanks(session, thanks_id=thanks.id or 0, moderator_id="ben")
    assert rejected.done and rejected.state is ThanksState.REJECTED
    async with db.transaction() as session:
        late = await pass_thanks(session, thanks_id=thanks.id or 0, moderator_id="ana")
    assert not late.done
    assert (late.state, late.decided_by) == (ThanksState.REJECTED, "ben")
    assert not await deliveries(db)
    async with db.transaction() as session:
        assert not await mark_delivered(session, thanks.id or 0)


async def test_two_moderators_passing_at_once_deliver_once(db: Database) -> None:
    story = await published_story(db)
    thanks = await send(db, story)
    thanks_id = thanks.id or 0
    results = await race(
        db,
        lambda s: pass_thanks(s, thanks_id=thanks_id, moderator_id="ana"),
        lambda s: pass_thanks(s, thanks_id=thanks_id, moderator_id="ben"),
    )
    assert sorted(r.done for r in results) == [False, True], results
    winner = next(r for r in results if r.done)
    loser = next(r for r in results if not r.done)
    assert loser.decided_by == winner.decided_by == (await row(db, thanks_id)).decided_by
    assert len(await deliveries(db)) == 1


async def test_refusals(db: Database) -> None:
    story = await published_story(db, identity_key="teller-key")
    assert story.id is not None

    async def refusal(reader: str = "reader-key", story_id: int = story.id or 0) -> object:
        async with db.transaction() as session:
            return await check_thanks(session, story_id=story_id, reader_key=reader)

    assert await refusal() is None
    assert await refusal(reader="teller-key") is ThanksRefusal.OWN_STORY
    assert await refusal(story_id=999_999) is ThanksRefusal.NOT_PUBLISHED

    await send(db, story)
    assert await refusal() is ThanksRefusal.ALREADY_THANKED  # one per story
    with pytest.raises(ThanksRefused) as refused:
        await send(db, story, text="Thank you again!")
    assert refused.value.refusal is ThanksRefusal.ALREADY_THANKED

    async with db.transaction() as session:
        storyteller = await session.get(Participant, story.participant_id)
        assert storyteller is not None
        storyteller.thanks_enabled = False
    assert await refusal(reader="someone-else") is ThanksRefusal.TURNED_OFF

    unpublished = await published_story(db, identity_key="other-teller")
    async with db.transaction() as session:
        item = await session.get(Story, unpublished.id)
        assert item is not None
        item.state = StoryState.UNPUBLISHED.value
    assert await refusal(story_id=unpublished.id or 0) is ThanksRefusal.NOT_PUBLISHED


async def test_a_reader_sends_at_most_the_daily_limit(db: Database) -> None:
    stories = [await published_story(db, identity_key=f"t{n}") for n in range(DAILY_LIMIT + 1)]
    start = utcnow()
    for story in stories[:DAILY_LIMIT]:
        await send(db, story, now=start)
    with pytest.raises(ThanksRefused) as refused:
        await send(db, stories[-1], now=start + timedelta(hours=23))
    assert refused.value.refusal is ThanksRefusal.DAILY_LIMIT
    # Another reader is not held back, and the reader may send again a day later.
    await send(db, stories[-1], reader="another-reader", now=start)
    await send(db, stories[-1], now=start + timedelta(hours=24, minutes=1))


async def test_a_story_takes_a_limited_number_of_waiting_thanks(db: Database) -> None:
    story = await published_story(db)
    for n in range(PENDING_PER_STORY):
        await send(db, story, reader=f"reader-{n}")
    with pytest.raises(ThanksRefused) as refused:
        await send(db, story, reader="one-more")
    assert refused.value.refusal is ThanksRefusal.STORY_BUSY


@pytest.mark.parametrize(
    ("text", "signed", "phrase"),
    [
        ("x" * 301, None, None),
        ("   ", None, None),
        ("Thank you", "Kenji 2", None),
        ("Thank you", "www.kenji.jp", None),
        ("Thank you", "kenji@example", None),
        ("Thank you", "a" * 41, None),
        ("Thank you", None, "no-such-phrase"),
    ],
)
async def test_what_no_reader_could_have_sent_is_refused(
    db: Database, text: str, signed: str | None, phrase: str | None
) -> None:
    story = await published_story(db)
    with pytest.raises(ValueError):
        await send(db, story, text=text, signed=signed, phrase=phrase)


def test_first_names() -> None:
    assert all(name_ok(name) for name in ("Kenji", "Anne-Marie", "Amina H.", "أمينة", "美咲"))
    assert not any(
        name_ok(name)
        for name in ("", "Kenji 2", "٣", "http://x", "kenji.example.org", "me@x", "a\nb")
    )


async def test_erasure_of_the_storyteller_deletes_their_thanks(db: Database) -> None:
    story = await published_story(db)
    thanks = await send(db, story)
    async with db.transaction() as session:
        await erase_stories(session, participant_id=story.participant_id or 0)
    async with db.transaction() as session:
        assert await session.get(Thanks, thanks.id) is None


async def test_erasure_of_the_reader_deletes_what_did_not_reach_the_storyteller(
    db: Database,
) -> None:
    first, second = await published_story(db, "t1"), await published_story(db, "t2")
    pending = await send(db, first, signed="Kenji")
    delivered = await send(db, second, signed="Kenji")
    async with db.transaction() as session:
        await pass_thanks(session, thanks_id=delivered.id or 0, moderator_id="ana")
        await mark_delivered(session, delivered.id or 0)
    async with db.transaction() as session:
        await rows.forget_reader(session, "reader-key")
    async with db.transaction() as session:
        assert await session.get(Thanks, pending.id) is None
        kept = await session.get(Thanks, delivered.id)
        assert kept is not None and kept.text == CLEAN
        assert (kept.reader_key, kept.signed) == (rows.ERASED_READER, None)


async def test_the_storyteller_export_holds_the_thanks_delivered_to_them(db: Database) -> None:
    story = await published_story(db)
    delivered = await send(db, story, signed="Kenji")
    await send(db, story, reader="other", text="Still waiting for a moderator.")
    async with db.transaction() as session:
        await pass_thanks(session, thanks_id=delivered.id or 0, moderator_id="ana")
        await mark_delivered(session, delivered.id or 0)
    async with db.transaction() as session:
        person = await session.get(Participant, story.participant_id)
        assert person is not None
        data = await collect(session, person)
    [exported] = data.document["stories"]
    assert exported["thanks_received"] == [{"text": CLEAN, "phrase": None, "signed": "Kenji"}]
    assert "reader-key" not in str(data.document)
