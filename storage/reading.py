"""Reading published stories one at a time: which comes next, what a card shows, reads.

A reader is never stored with what they read. :func:`next_story` is told only the story
they saw last and the one their round began with (the caller keeps both in the reader's
own conversation), and :func:`count_read` adds one to the story's aggregate
(:class:`~storage.models.StoryStats`), nothing more.

Which story comes next (:func:`next_story`):

* A reader meets stories in rounds. A round begins with a story drawn at random (see
  below) from those in the reader's language (from all, when none is); then come the
  rest of that group, newest publication first, wrapping round to the newest after the
  oldest, and then the others, newest first. A reader who keeps asking meets every
  story once, their own language first, before the round starts again; never the same
  story twice in a row while there is another. A round is told by two story ids the
  caller keeps in the reader's own conversation: the one seen last and the one the
  round began with.
* Only the stories with the chosen country are in a round, when one is chosen (where the
  storyteller comes from or lives).
* A round begins (nothing seen before, or the story seen last is no longer in it) with a
  draw from the group, never the story seen last, each story weighing
  ``recency x scarcity``:

  - ``recency = 1 + 0.5 ** (days since publication / 14)``: 2 when just published,
    1.5 after two weeks, towards 1 later: a new story is met sooner, but its recency
    never more than doubles its chance against an old one;
  - ``scarcity = min(4, ((1 + mean reads) / (1 + reads)) ** 2)``, the reads and their
    mean taken over the group drawn from: a story read less than the others weighs
    more, at most 4 times an average one, so a newly published story catches up
    quickly without starving the stories read before it; one read more weighs less,
    never nothing.

  With five stories published the same day and fifty rounds begun one after another
  (each read counted), every story is read at least 5 and at most 20 times (a fair
  share is 10; tests/handlers/test_stories.py draws it with a seeded random).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import dialect_insert
from storage.models import (
    CreditMode,
    ModerationItem,
    Story,
    StoryState,
    StoryStats,
    utcnow,
)
from storage.published import publication_times, published_media, published_stories
from storage.times import aware

# Kinds a reader is shown; a document is never published to readers.
READABLE_KINDS = frozenset({"photo", "voice", "video"})
RECENCY_HALF_LIFE_DAYS = 14.0
SCARCITY_CAP = 4.0


@dataclass(frozen=True, slots=True)
class ReadableFile:
    """A file a moderator chose to publish with the story."""

    kind: str
    ref: str
    mime: str | None
    platform: str
    alt_text: str | None


@dataclass(frozen=True, slots=True)
class ReadableStory:
    """What a reader's card shows of one published story.

    ``text`` is the published revision (redactions applied). ``credit_name`` is the
    name as the storyteller chose to be credited, and always None for a storyteller
    under 18, whatever was stored.
    """

    story_id: int
    locale: str
    text: str
    title: str | None
    credit_mode: str
    credit_name: str | None
    origin_country: str | None
    current_country: str | None
    community_message: str | None
    published_at: datetime
    files: tuple[ReadableFile, ...]
    reads: int

    def credited(self) -> Story:
        """A detached story carrying only what a credit line shows (never stored)."""
        return Story(
            locale=self.locale,
            credit_mode=self.credit_mode,
            credit_name=self.credit_name,
            origin_country=self.origin_country,
            current_country=self.current_country,
            consent_version="",
        )


@dataclass(frozen=True, slots=True)
class _Entry:
    story_id: int
    locale: str
    origin_country: str | None
    current_country: str | None
    published_at: datetime
    reads: int


def same_language(a: str, b: str) -> bool:
    """``ar`` and ``ar_EG`` are one language; ``pt`` and ``es`` are not."""
    return _language(a) == _language(b)


def _language(locale: str) -> str:
    return locale.replace("-", "_").split("_", 1)[0].lower()


async def _entries(session: AsyncSession, country: str | None) -> list[_Entry]:
    """Every published story (with ``country``, when given), newest publication first."""
    published_at = publication_times()
    stmt = (
        select(
            col(Story.id),
            col(Story.locale),
            col(Story.origin_country),
            col(Story.current_country),
            published_at.c.at,
            func.coalesce(col(StoryStats.reads), 0),
        )
        .join(ModerationItem, col(ModerationItem.story_id) == col(Story.id))
        .join(published_at, published_at.c.item_id == col(ModerationItem.id))
        .outerjoin(StoryStats, col(StoryStats.story_id) == col(Story.id))
        .where(
            col(ModerationItem.state) == StoryState.PUBLISHED.value,
            col(Story.state) == StoryState.PUBLISHED.value,
        )
        .order_by(published_at.c.at.desc(), col(Story.id).desc())
    )
    if country:
        stmt = stmt.where(
            or_(col(Story.origin_country) == country, col(Story.current_country) == country)
        )
    return [
        _Entry(int(sid), locale, origin, residence, aware(at), int(reads))
        for sid, locale, origin, residence, at, reads in (await session.execute(stmt)).all()
    ]


def _weights(group: Sequence[_Entry], now: datetime) -> list[float]:
    """Each story's weight in a first draw (see the module's documentation)."""
    mean = sum(entry.reads for entry in group) / len(group)
    weights = []
    for entry in group:
        days = max(0.0, (now - entry.published_at).total_seconds() / 86_400)
        recency = 1 + 0.5 ** (days / RECENCY_HALF_LIFE_DAYS)
        scarcity = min(SCARCITY_CAP, ((1 + mean) / (1 + entry.reads)) ** 2)
        weights.append(recency * scarcity)
    return weights


@dataclass(frozen=True, slots=True)
class Pick:
    """The story a reader meets next, and the story their round began with (to keep
    with the one seen last, for the next call)."""

    story: ReadableStory
    round_start: int | None


def choose_next(
    entries: Sequence[_Entry],
    *,
    locale: str,
    after: int | None,
    first: int | None,
    rng: random.Random,
    now: datetime,
) -> tuple[int, int | None] | None:
    """The id of the story to show next among ``entries`` (newest first) and the id the
    round began with; None when there is none. ``after`` comes back only when it is the
    only story."""
    own = [e for e in entries if same_language(e.locale, locale)]
    others = [e for e in entries if not same_language(e.locale, locale)]
    group, rest = (own, others) if own else (others, [])
    if not group:
        return None
    starts = [entry.story_id for entry in group]
    if after is not None and any(e.story_id == after for e in entries):
        if first in starts:
            at = starts.index(first)
            starts = starts[at:] + starts[:at]
        ring = starts + [entry.story_id for entry in rest]
        return ring[(ring.index(after) + 1) % len(ring)], first if first in starts else None
    candidates = [e for e in group if e.story_id != after] or group
    chosen = rng.choices([e.story_id for e in candidates], weights=_weights(candidates, now))[0]
    return chosen, chosen


async def next_story(
    session: AsyncSession,
    *,
    locale: str,
    after: int | None,
    first: int | None = None,
    country: str | None = None,
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> Pick | None:
    """The story a reader in ``locale`` meets next, having seen ``after`` last (None:
    nothing yet) in a round that began with ``first``, among those with ``country``
    (None: all). None when no story is published (with that country). Knows nothing
    of the reader and counts nothing: see :func:`count_read`.

    Args:
        rng: the draw that begins a round (tests pass a seeded one).
        now: the time recency is measured from.
    """
    chosen = choose_next(
        await _entries(session, country),
        locale=locale,
        after=after,
        first=first,
        rng=rng or random.Random(),  # noqa: S311 - spreading reads, not security
        now=now or utcnow(),
    )
    if chosen is None:
        return None
    story = await read_story(session, chosen[0])
    return Pick(story, chosen[1]) if story is not None else None


async def read_story(session: AsyncSession, story_id: int) -> ReadableStory | None:
    """One story as a card shows it, or None when it is not published."""
    found = await published_stories(session, limit=1, story_id=story_id)
    if not found:
        return None
    story, text = found[0].story, found[0].text
    files = (await published_media(session, [story_id])).get(story_id, [])
    stats = await session.get(StoryStats, story_id)
    # A storyteller under 18 is never named, whatever credit was stored.
    named = story.is_adult and story.credit_mode != CreditMode.ANONYMOUS.value
    return ReadableStory(
        story_id=story_id,
        locale=story.locale,
        text=text,
        title=(story.title or "").strip() or None,
        credit_mode=story.credit_mode if named else CreditMode.ANONYMOUS.value,
        credit_name=story.credit_name if named else None,
        origin_country=story.origin_country,
        current_country=story.current_country,
        community_message=story.community_message,
        published_at=found[0].published_at,
        files=tuple(
            ReadableFile(f.kind, f.ref, f.mime, f.platform, f.alt_text)
            for f in files
            if f.kind in READABLE_KINDS
        ),
        reads=stats.reads if stats is not None else 0,
    )


async def count_read(session: AsyncSession, story_id: int, *, now: datetime | None = None) -> int:
    """Add one read to the story's aggregate (in the caller's transaction); returns its
    reads now. Nothing about the reader is written."""
    at = now or utcnow()
    result = await session.execute(
        dialect_insert(session, StoryStats)
        .values(story_id=story_id, reads=1, thanks=0, last_read_at=at)
        .on_conflict_do_update(
            index_elements=["story_id"],
            set_={"reads": col(StoryStats.reads) + 1, "last_read_at": at},
        )
        .returning(col(StoryStats.reads))
    )
    return int(result.scalar_one())


async def story_countries(session: AsyncSession) -> list[tuple[str, int]]:
    """The countries of the published stories (where storytellers come from or live),
    each with how many stories have it, most first, then by code."""
    counts: dict[str, int] = {}
    for entry in await _entries(session, None):
        for code in {c for c in (entry.origin_country, entry.current_country) if c}:
            counts[code] = counts.get(code, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


async def any_published(session: AsyncSession) -> bool:
    """Whether at least one story is published."""
    found = await session.execute(
        select(col(Story.id))
        .join(ModerationItem, col(ModerationItem.story_id) == col(Story.id))
        .where(
            col(ModerationItem.state) == StoryState.PUBLISHED.value,
            col(Story.state) == StoryState.PUBLISHED.value,
        )
        .limit(1)
    )
    return found.first() is not None
