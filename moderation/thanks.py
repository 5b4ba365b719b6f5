"""A reader's thank-you to a storyteller: screened, passed by a moderator, delivered.

The path of one message: :func:`submit_thanks` checks that the story may be thanked
(published, the storyteller accepts thanks, the reader's limits) and screens the text
and the name as stories are screened; the message waits, PENDING, for a moderator.
Nothing is passed automatically, flagged or not: :func:`pass_thanks` (one click) queues
its delivery to the storyteller's own chat through the outbox, :func:`reject_thanks`
ends it. Both are one conditional UPDATE, so two moderators clicking at once have one
effect. :func:`mark_delivered` counts it in the story's aggregate once it was sent.

The reader is known only by a keyed hash of their platform identity (for the limits)
and the first name they chose to sign with, if any.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from moderation.flags import ScreeningResult
from moderation.screening_api import Screening
from storage import thanks as rows
from storage.models import Participant, Story, StoryState, Thanks, ThanksState, utcnow
from storage.outbox import enqueue

log = logging.getLogger(__name__)

TEXT_MAX = 300
NAME_MAX = 40
# At most this many thanks by one reader in any 24 hours, on all stories together...
DAILY_LIMIT = 5
DAY = timedelta(hours=24)
# ...and one per story, ever. A story with this many waiting takes no more for now.
PENDING_PER_STORY = 20
# The ready phrases, by id; their words are the bot's (in every language).
PHRASES = ("thank_you", "welcome", "courage", "not_alone")

_DIGIT_OR_LINK = re.compile(
    r"\d|://|www\.|@|[^\W_]\.[^\W\d_]{2,}",
    re.IGNORECASE,
)


class ThanksRefusal(enum.StrEnum):
    """Why a story cannot be thanked by this reader now."""

    NOT_PUBLISHED = "not_published"
    TURNED_OFF = "turned_off"  # the storyteller does not take thanks now
    OWN_STORY = "own_story"
    ALREADY_THANKED = "already_thanked"
    DAILY_LIMIT = "daily_limit"
    STORY_BUSY = "story_busy"  # too many waiting for a moderator


class ThanksRefused(Exception):
    def __init__(self, refusal: ThanksRefusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class Received:
    """A thank-you stored, PENDING, and what screening found in it."""

    thanks: Thanks
    screening: ScreeningResult

    @property
    def thanks_id(self) -> int:
        assert self.thanks.id is not None
        return self.thanks.id


@dataclass(frozen=True, slots=True)
class ThanksDecision:
    """What a moderator's click did.

    Args:
        thanks_id: the message.
        story_id: its story (0 when the message is gone).
        done: True when this click moved it; False when it was gone or decided already.
        state: its state now (``None`` when it is gone: erased).
        decided_by: who decided it, when someone did.
    """

    thanks_id: int
    story_id: int
    done: bool
    state: ThanksState | None
    decided_by: str | None = None


def name_ok(name: str) -> bool:
    """A first name to sign with: one line of up to 40 characters, no digits, no links."""
    return (
        bool(name.strip())
        and len(name) <= NAME_MAX
        and "\n" not in name
        and not _DIGIT_OR_LINK.search(name)
    )


def screened_text(text: str, signed: str | None) -> str:
    """What screening reads and the flags' offsets index: the text, then the name."""
    return f"{text}\n{signed}" if signed else text


async def check_thanks(
    session: AsyncSession, *, story_id: int, reader_key: str, now: datetime | None = None
) -> ThanksRefusal | None:
    """Why the reader may not thank the story now, or None when they may."""
    story = await session.get(Story, story_id)
    if story is None or story.state != StoryState.PUBLISHED.value:
        return ThanksRefusal.NOT_PUBLISHED
    storyteller = (
        await session.get(Participant, story.participant_id) if story.participant_id else None
    )
    if storyteller is None:
        return ThanksRefusal.NOT_PUBLISHED
    if not storyteller.thanks_enabled:
        return ThanksRefusal.TURNED_OFF
    if storyteller.identity_key == reader_key:
        return ThanksRefusal.OWN_STORY
    if await rows.has_thanked(session, story_id, reader_key):
        return ThanksRefusal.ALREADY_THANKED
    if await rows.count_by_reader(session, reader_key, (now or utcnow()) - DAY) >= DAILY_LIMIT:
        return ThanksRefusal.DAILY_LIMIT
    if await rows.pending_for_story(session, story_id) >= PENDING_PER_STORY:
        return ThanksRefusal.STORY_BUSY
    return None


async def submit_thanks(
    session: AsyncSession,
    *,
    story_id: int,
    text: str,
    phrase: str | None = None,
    signed: str | None = None,
    reader_key: str,
    locale: str,
    screener: Screening,
    now: datetime | None = None,
) -> Received:
    """Store a reader's thank-you, screened, waiting for a moderator.

    A reader's events are handled one at a time (the conversation's lock), so the
    limits read here cannot be raced by the same reader.

    Args:
        session: the caller's transaction.
        story_id: the story thanked.
        text: the message as the moderator reads it: the reader's own words, or the
            ready phrase in the reader's language.
        phrase: the ready phrase's id (one of :data:`PHRASES`), when one was chosen: the
            storyteller then reads it in their own language.
        signed: the first name the reader chose to sign with, if any.
        reader_key: the keyed hash of the reader's platform identity.
        locale: the reader's language.
        screener: the same screening as stories'.
        now: the current time (tests).

    Raises:
        ThanksRefused: the story may not be thanked by this reader now; nothing stored.
        ValueError: the text, name or phrase is not one a reader could have sent.
    """
    text = text.strip()
    signed = signed.strip() if signed else None
    if not text or len(text) > TEXT_MAX:
        raise ValueError("a thank-you has 1 to 300 characters")
    if signed is not None and not name_ok(signed):
        raise ValueError("not a first name")
    if phrase is not None and phrase not in PHRASES:
        raise ValueError("not a ready phrase")
    refusal = await check_thanks(session, story_id=story_id, reader_key=reader_key, now=now)
    if refusal is not None:
        raise ThanksRefused(refusal)
    screening = await screener.screen(screened_text(text, signed), locale=locale)
    thanks = Thanks(
        story_id=story_id,
        text=text,
        phrase=phrase,
        signed=signed,
        reader_key=reader_key,
        locale=locale,
        state=ThanksState.PENDING.value,
        flags=[flag.to_json() for flag in screening.flags],
        created_at=now or utcnow(),
    )
    session.add(thanks)
    await session.flush()
    log.info(
        "thanks received",
        extra={"thanks_id": thanks.id, "story_id": story_id, "flags": len(screening.flags)},
    )
    return Received(thanks, screening)


async def pass_thanks(
    session: AsyncSession, *, thanks_id: int, moderator_id: str, now: datetime | None = None
) -> ThanksDecision:
    """A moderator passes a PENDING thank-you: its delivery to the storyteller is queued
    (``thanks:<id>``, rendered in their language when sent) in the same transaction."""
    moved = await _decide(session, thanks_id, ThanksState.PASSED, moderator_id, now)
    if moved.done:
        await _queue_delivery(session, thanks_id, moved.story_id)
    return moved


async def reject_thanks(
    session: AsyncSession, *, thanks_id: int, moderator_id: str, now: datetime | None = None
) -> ThanksDecision:
    """A moderator rejects a PENDING thank-you: it never reaches the storyteller."""
    return await _decide(session, thanks_id, ThanksState.REJECTED, moderator_id, now)


async def mark_delivered(session: AsyncSession, thanks_id: int) -> bool:
    """The message was sent: PASSED -> DELIVERED, counted once in the story's stats."""
    thanks = await session.get(Thanks, thanks_id)
    if thanks is None:
        return False
    if not await rows.move(
        session, thanks_id, from_state=ThanksState.PASSED, to_state=ThanksState.DELIVERED
    ):
        return False
    await rows.count_delivered(session, thanks.story_id)
    log.info("thanks delivered", extra={"thanks_id": thanks_id, "story_id": thanks.story_id})
    return True


async def _decide(
    session: AsyncSession,
    thanks_id: int,
    to_state: ThanksState,
    moderator_id: str,
    now: datetime | None,
) -> ThanksDecision:
    if await session.get(Thanks, thanks_id) is None:
        return ThanksDecision(thanks_id, 0, False, None)
    # Whatever was read above, only one of two clicks at once finds it still PENDING here.
    moved = await rows.move(
        session,
        thanks_id,
        from_state=ThanksState.PENDING,
        to_state=to_state,
        values={"decided_at": now or utcnow(), "decided_by": moderator_id},
    )
    thanks = await session.get(Thanks, thanks_id, populate_existing=True)
    if thanks is None:  # erased in between
        return ThanksDecision(thanks_id, 0, False, None)
    if moved:
        # The audit trail of a thank-you: its row keeps who and when; the log, the ids.
        log.info(
            "thanks decided",
            extra={
                "thanks_id": thanks_id,
                "story_id": thanks.story_id,
                "moderator": moderator_id,
                "decision": to_state.value,
            },
        )
    return ThanksDecision(
        thanks_id, thanks.story_id, moved, ThanksState(thanks.state), thanks.decided_by
    )


async def _queue_delivery(session: AsyncSession, thanks_id: int, story_id: int) -> None:
    story = await session.get(Story, story_id)
    storyteller = (
        await session.get(Participant, story.participant_id)
        if story is not None and story.participant_id
        else None
    )
    if storyteller is None:
        return  # the storyteller is gone: nobody to deliver to
    await enqueue(
        session,
        dedupe_key=f"thanks:{thanks_id}",
        platform=storyteller.platform,
        chat_id=storyteller.chat_id,
        participant_id=storyteller.id,
        # Ids only: the words are read when it is sent, so an erasure in between leaves
        # nothing to send.
        payload={"thanks": {"thanks_id": thanks_id, "story_id": story_id}},
    )
