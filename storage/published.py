"""The stories on the public wall: published ones, with the text that was published.

Only stories whose moderation item is PUBLISHED are read, each with the text of its
current revision (the one approved and published; never an earlier one a moderator
redacted), newest publication first. Their files are read only where a moderator chose
to publish them (``StoryMedia.publish``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Subquery, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import (
    ModerationEvent,
    ModerationItem,
    Story,
    StoryMedia,
    StoryRevision,
    StoryState,
)
from storage.times import aware

TITLE_MAX = 120  # Story.title's column
# Where a sentence ends: Latin-script marks before a space, a quote or the end; CJK,
# Arabic, Urdu and Devanagari marks anywhere (those scripts put no space after them).
_SENTENCE_END = re.compile(r"[.!?…]+(?=[\s\"'”’»)\]]|$)|[。！？؟۔।]+")
_SHORTEST_SENTENCE = 5  # "Dr.", "St." end no sentence


@dataclass(frozen=True, slots=True)
class PublishedStory:
    """A published story, with the text of its published revision."""

    story: Story
    text: str
    published_at: datetime

    @property
    def story_id(self) -> int:
        return self.story.id or 0

    @property
    def title(self) -> str:
        """The moderator's title, else the story's first sentence."""
        return story_title(self.story.title, self.text)


@dataclass(frozen=True, slots=True)
class WallFilter:
    """Which published stories a page lists: all, or those in one language, with one
    country (where the storyteller comes from or lives) and/or of one kind
    (:class:`~storage.models.StoryKind` value)."""

    language: str | None = None
    country: str | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class Facets:
    """The languages, countries and kinds of the published stories (for the wall's
    filters)."""

    languages: tuple[str, ...]
    countries: tuple[str, ...]
    kinds: tuple[str, ...] = ()


def story_title(title: str | None, text: str) -> str:
    """``title`` when a moderator set one, else the first sentence of ``text`` (at most
    :data:`TITLE_MAX` characters, cut at a word when there is one)."""
    if title and title.strip():
        return title.strip()
    first = text.strip().split("\n", 1)[0].strip()
    for end in _SENTENCE_END.finditer(first):
        if end.end() >= _SHORTEST_SENTENCE:
            first = first[: end.end()]
            break
    if len(first) <= TITLE_MAX:
        return first
    cut = first[: TITLE_MAX - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > TITLE_MAX // 2 else cut).rstrip(" ,;:") + "…"


def _is_published() -> list[ColumnElement[bool]]:
    return [
        col(ModerationItem.state) == StoryState.PUBLISHED.value,
        col(Story.state) == StoryState.PUBLISHED.value,
    ]


def _matches(chosen: WallFilter) -> list[ColumnElement[bool]]:
    conditions = []
    if chosen.language:
        conditions.append(col(Story.locale) == chosen.language)
    if chosen.country:
        conditions.append(
            or_(
                col(Story.origin_country) == chosen.country,
                col(Story.current_country) == chosen.country,
            )
        )
    if chosen.kind:
        conditions.append(col(Story.kind) == chosen.kind)
    return conditions


def publication_times() -> Subquery:
    """Per queue item, when it was last published (``item_id``, ``at``)."""
    return (
        select(
            col(ModerationEvent.item_id).label("item_id"),
            func.max(col(ModerationEvent.created_at)).label("at"),
        )
        .where(col(ModerationEvent.to_state) == StoryState.PUBLISHED.value)
        .group_by(col(ModerationEvent.item_id))
        .subquery()
    )


async def published_stories(
    session: AsyncSession,
    *,
    limit: int,
    offset: int = 0,
    story_id: int | None = None,
    only: WallFilter | None = None,
) -> list[PublishedStory]:
    """Published stories, newest publication first (those ``only`` lets through)."""
    published_at = publication_times()
    stmt = (
        select(Story, col(StoryRevision.text), published_at.c.at)
        .join(ModerationItem, col(ModerationItem.story_id) == col(Story.id))
        .join(StoryRevision, col(StoryRevision.id) == col(ModerationItem.revision_id))
        .join(published_at, published_at.c.item_id == col(ModerationItem.id))
        .where(*_is_published(), *_matches(only or WallFilter()))
        .order_by(published_at.c.at.desc(), col(Story.id).desc())
        .limit(limit)
        .offset(offset)
    )
    if story_id is not None:
        stmt = stmt.where(col(Story.id) == story_id)
    rows = (await session.execute(stmt)).all()
    return [PublishedStory(story, text, aware(at)) for story, text, at in rows]


async def published_facets(session: AsyncSession) -> Facets:
    """The languages, countries (origin or residence) and kinds of the published stories."""
    published = (
        select(
            col(Story.locale),
            col(Story.origin_country),
            col(Story.current_country),
            col(Story.kind),
        )
        .join(ModerationItem, col(ModerationItem.story_id) == col(Story.id))
        .where(*_is_published())
        .distinct()
    )
    languages: set[str] = set()
    countries: set[str] = set()
    kinds: set[str] = set()
    for locale, origin, residence, kind in (await session.execute(published)).all():
        languages.add(locale)
        countries.update(code for code in (origin, residence) if code)
        kinds.add(kind)
    return Facets(tuple(sorted(languages)), tuple(sorted(countries)), tuple(sorted(kinds)))


async def published_media(
    session: AsyncSession, story_ids: Iterable[int]
) -> dict[int, list[StoryMedia]]:
    """The files a moderator chose to publish, of each of ``story_ids``, in order."""
    ids = sorted(set(story_ids))
    if not ids:
        return {}
    rows = (
        (
            await session.execute(
                select(StoryMedia)
                .where(col(StoryMedia.story_id).in_(ids), col(StoryMedia.publish).is_(True))
                .order_by(col(StoryMedia.story_id), col(StoryMedia.position), col(StoryMedia.id))
            )
        )
        .scalars()
        .all()
    )
    found: dict[int, list[StoryMedia]] = {}
    for row in rows:
        found.setdefault(row.story_id, []).append(row)
    return found


async def published_file(session: AsyncSession, media_id: int) -> StoryMedia | None:
    """One file, only while its story is published and a moderator chose to publish it."""
    return (
        await session.execute(
            select(StoryMedia)
            .join(Story, col(Story.id) == col(StoryMedia.story_id))
            .join(ModerationItem, col(ModerationItem.story_id) == col(Story.id))
            .where(
                col(StoryMedia.id) == media_id,
                col(StoryMedia.publish).is_(True),
                *_is_published(),
            )
        )
    ).scalar_one_or_none()


async def published_files_by_ref(
    session: AsyncSession, refs: Iterable[str]
) -> dict[str, StoryMedia]:
    """Of the store references ``refs``, those of files published now (the story
    published, the file chosen by a moderator), by reference."""
    wanted = sorted(set(refs))
    if not wanted:
        return {}
    rows = (
        (
            await session.execute(
                select(StoryMedia)
                .join(Story, col(Story.id) == col(StoryMedia.story_id))
                .join(ModerationItem, col(ModerationItem.story_id) == col(Story.id))
                .where(
                    col(StoryMedia.ref).in_(wanted),
                    col(StoryMedia.publish).is_(True),
                    *_is_published(),
                )
                .order_by(col(StoryMedia.id))
            )
        )
        .scalars()
        .all()
    )
    found: dict[str, StoryMedia] = {}
    for row in rows:
        found.setdefault(row.ref, row)
    return found


async def wall_version(session: AsyncSession) -> int:
    """A number that grows whenever what the wall shows may have changed.

    Everything that changes it is a moderation decision: publication, take-down,
    withdrawal, erasure, and a moderator's choice of files, alt text or title. Each writes
    one audit event in its own transaction, and events are appended one at a time under
    the audit chain's lock, so the newest event id grows in commit order: a page built
    after reading it is never older than it. Read it *before* the stories.
    """
    newest = (await session.execute(select(func.max(col(ModerationEvent.id))))).scalar_one()
    return int(newest or 0)


@dataclass(frozen=True, slots=True)
class Presentation:
    """What a moderator chose for the wall: the title (None: the first sentence) and
    every file of the story, published or not, in order."""

    title: str | None
    files: tuple[StoryMedia, ...]


async def presentation_of(session: AsyncSession, story_id: int) -> Presentation:
    """The story's title and files as the moderators' item page shows them."""
    story = await session.get(Story, story_id)
    files = (
        (
            await session.execute(
                select(StoryMedia)
                .where(col(StoryMedia.story_id) == story_id)
                .order_by(col(StoryMedia.position), col(StoryMedia.id))
            )
        )
        .scalars()
        .all()
    )
    return Presentation(story.title if story is not None else None, tuple(files))
