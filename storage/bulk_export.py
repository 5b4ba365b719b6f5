"""Bulk reads for operators: stories, pledges and moderation decisions exported row by
row (``together-bot export``), and the headline numbers (``together-bot stats``).

Rows are read in pages by id (keyset pagination: ``id > last ORDER BY id LIMIT n``), each
page in a read-only transaction of its own (:meth:`~storage.db.Database.read`), and
handed on before the next page is read: an export of any size holds one page at a time,
never waits for the writer, and never holds one snapshot open for the whole export (a
long snapshot would keep SQLite's WAL from being checkpointed after an erasure). A story
erased while an export runs is left out of every page read after its erasure.

What never leaves:

- an erased story, and every moderation decision about it: not a row of it (their
  numbers are in :func:`headline` only, counted by state);
- a withdrawn story's words (text, credit name, message): its storyteller took it back;
  its row says that it was, and when;
- who pledged: no identity hash, no participant id; the name a supporter typed to be
  shown among the supporters only while their pledge stands (confirmed);
- who a storyteller is in the audit log (``participant:<id>``): only moderators' ids, and
  the role of everyone else; moderators' internal notes.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.engine import Row
from sqlmodel import col

from storage.db import Database
from storage.models import (
    Campaign,
    ModerationEvent,
    ModerationItem,
    Participant,
    Pledge,
    PledgeState,
    Story,
    StoryMedia,
    StoryRevision,
    StoryState,
)
from storage.times import aware

PAGE_SIZE = 1000
# A statement of any columns, and one of its rows.
Query: TypeAlias = "Select[*tuple[Any, ...]]"
AnyRow: TypeAlias = "Row[*tuple[Any, ...]]"
# The roles whose actor is a moderator's id, which the moderation export may name. A
# storyteller's actor is their participant id, never exported.
MODERATOR_ROLES = frozenset({"moderator", "safety_moderator", "lead"})
# Stories the moderation queue waits on (NEEDS_CHANGES waits on the storyteller).
WAITING_STATES = (StoryState.RECEIVED, StoryState.SAFETY_REVIEW, StoryState.PENDING_REVIEW)


class ExportKind(enum.StrEnum):
    STORIES = "stories"
    PLEDGES = "pledges"
    MODERATION = "moderation"


# The fields of each export, in order: the CSV header, the keys of each JSON object.
COLUMNS: dict[ExportKind, tuple[str, ...]] = {
    ExportKind.STORIES: (
        "id",
        "kind",
        "state",
        "language",
        "submitted_at",
        "updated_at",
        "credit_mode",
        "credit_name",
        "origin_country",
        "current_country",
        "adult",
        "title",
        "files",
        "community_message",
        "text",
    ),
    ExportKind.PLEDGES: (
        "id",
        "campaign",
        "state",
        "name",
        "country",
        "referral",
        "pledged_at",
        "withdrawn_at",
    ),
    ExportKind.MODERATION: (
        "id",
        "item_id",
        "story_id",
        "at",
        "action",
        "from_state",
        "to_state",
        "by",
        "moderator",
        "reason_code",
    ),
}
# The states each export may be filtered by: never ERASED, whose rows are never exported.
STATES: dict[ExportKind, tuple[str, ...]] = {
    ExportKind.STORIES: tuple(s.value for s in StoryState if s is not StoryState.ERASED),
    ExportKind.PLEDGES: tuple(s.value for s in PledgeState),
    ExportKind.MODERATION: tuple(s.value for s in StoryState if s is not StoryState.ERASED),
}


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """What to export.

    Args:
        since: from this time on (included): a story's submission, a pledge's, a
            decision's time.
        until: before this time (excluded).
        states: only rows in these states (a story's, a pledge's, or the state a
            decision moved to); empty for all.
        campaigns: pledges of these campaigns only; empty for all.
    """

    since: datetime | None = None
    until: datetime | None = None
    states: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()


# A spreadsheet runs a cell that starts with one of these as a formula: such a cell is
# written with a leading apostrophe (OWASP's advice against CSV injection).
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """One CSV cell: empty for None, ``true``/``false``, a formula made plain text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(CSV_FORMULA_START) else text


def iso(moment: datetime | None) -> str | None:
    """A stored time as ISO 8601 in UTC."""
    return None if moment is None else aware(moment).isoformat()


def _between(column: Any, filters: ExportFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.since is not None:
        where.append(column >= filters.since)
    if filters.until is not None:
        where.append(column < filters.until)
    return where


# -- stories -----------------------------------------------------------------------------
def _stories(filters: ExportFilter) -> Query:
    reviewed = (
        select(col(StoryRevision.text))
        .where(col(StoryRevision.id) == col(ModerationItem.revision_id))
        .scalar_subquery()
    )
    newest = (
        select(col(StoryRevision.text))
        .where(col(StoryRevision.story_id) == col(Story.id))
        .order_by(col(StoryRevision.number).desc())
        .limit(1)
        .scalar_subquery()
    )
    files = (
        select(func.count())
        .select_from(StoryMedia)
        .where(col(StoryMedia.story_id) == col(Story.id))
        .scalar_subquery()
    )
    stmt = (
        select(
            col(Story.id),
            col(Story.kind),
            col(Story.state),
            col(Story.locale),
            col(Story.submitted_at),
            col(Story.updated_at),
            col(Story.credit_mode),
            col(Story.credit_name),
            col(Story.origin_country),
            col(Story.current_country),
            col(Story.is_adult),
            col(Story.title),
            files.label("files"),
            col(Story.community_message),
            # The text moderation sees (a redaction's), else the storyteller's newest.
            func.coalesce(reviewed, newest).label("text"),
        )
        .outerjoin(ModerationItem, col(ModerationItem.story_id) == col(Story.id))
        .where(col(Story.state) != StoryState.ERASED.value)
        .where(*_between(col(Story.submitted_at), filters))
    )
    if filters.states:
        stmt = stmt.where(col(Story.state).in_(filters.states))
    return stmt


def credit(mode: str, name: str | None, adult: bool) -> str | None:
    """The name a story is credited with, as its storyteller chose and as it is
    published: the whole name, its first word, or none (anonymous; never a minor's)."""
    if not name or not adult:
        return None
    if mode == "full_name":
        return name
    if mode == "first_name":
        return name.split()[0]
    return None


def _story_row(row: AnyRow) -> dict[str, Any]:
    taken_back = row.state == StoryState.WITHDRAWN.value
    return {
        "id": row.id,
        "kind": row.kind,
        "state": row.state,
        "language": row.locale,
        "submitted_at": iso(row.submitted_at),
        "updated_at": iso(row.updated_at),
        "credit_mode": row.credit_mode,
        "credit_name": None
        if taken_back
        else credit(row.credit_mode, row.credit_name, row.is_adult),
        "origin_country": row.origin_country,
        "current_country": row.current_country,
        "adult": bool(row.is_adult),
        "title": None if taken_back else row.title,
        "files": int(row.files or 0),
        "community_message": None if taken_back else row.community_message,
        "text": None if taken_back else row.text,
    }


# -- pledges -----------------------------------------------------------------------------
def _pledges(filters: ExportFilter) -> Query:
    # Never the identity key nor the participant id: not even selected.
    stmt = select(
        col(Pledge.id),
        col(Pledge.campaign_id),
        col(Pledge.state),
        col(Pledge.display_name),
        col(Pledge.country),
        col(Pledge.referral),
        col(Pledge.created_at),
        col(Pledge.withdrawn_at),
    ).where(*_between(col(Pledge.created_at), filters))
    if filters.states:
        stmt = stmt.where(col(Pledge.state).in_(filters.states))
    if filters.campaigns:
        stmt = stmt.where(col(Pledge.campaign_id).in_(filters.campaigns))
    return stmt


def _pledge_row(row: AnyRow) -> dict[str, Any]:
    standing = row.state == PledgeState.CONFIRMED.value
    return {
        "id": row.id,
        "campaign": row.campaign_id,
        "state": row.state,
        # Typed by the supporter to be shown among the supporters; not once withdrawn.
        "name": row.display_name if standing else None,
        "country": row.country,
        "referral": row.referral,
        "pledged_at": iso(row.created_at),
        "withdrawn_at": iso(row.withdrawn_at),
    }


# -- moderation --------------------------------------------------------------------------
def _moderation(filters: ExportFilter) -> Query:
    stmt = (
        select(
            col(ModerationEvent.id),
            col(ModerationEvent.item_id),
            col(ModerationItem.story_id),
            col(ModerationEvent.created_at),
            col(ModerationEvent.action),
            col(ModerationEvent.from_state),
            col(ModerationEvent.to_state),
            col(ModerationEvent.role),
            col(ModerationEvent.actor),
            col(ModerationEvent.reason_code),
        )
        .join(ModerationItem, col(ModerationItem.id) == col(ModerationEvent.item_id))
        .join(Story, col(Story.id) == col(ModerationItem.story_id))
        .where(col(Story.state) != StoryState.ERASED.value)
        .where(*_between(col(ModerationEvent.created_at), filters))
    )
    if filters.states:
        stmt = stmt.where(col(ModerationEvent.to_state).in_(filters.states))
    return stmt


def _moderation_row(row: AnyRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "item_id": row.item_id,
        "story_id": row.story_id,
        "at": iso(row.created_at),
        "action": row.action,
        "from_state": row.from_state,
        "to_state": row.to_state,
        "by": row.role,
        "moderator": row.actor if row.role in MODERATOR_ROLES else None,
        "reason_code": row.reason_code,
    }


_QUERIES: dict[
    ExportKind,
    tuple[
        Callable[[ExportFilter], Query],
        Any,
        Callable[[AnyRow], dict[str, Any]],
    ],
] = {
    ExportKind.STORIES: (_stories, col(Story.id), _story_row),
    ExportKind.PLEDGES: (_pledges, col(Pledge.id), _pledge_row),
    ExportKind.MODERATION: (_moderation, col(ModerationEvent.id), _moderation_row),
}


async def export_rows(
    db: Database,
    kind: ExportKind,
    filters: ExportFilter,
    *,
    page_size: int = PAGE_SIZE,
) -> AsyncIterator[dict[str, Any]]:
    """Every row of ``kind`` that ``filters`` selects, by id, as :data:`COLUMNS` names them.

    One page is read at a time, in a read-only transaction that has ended before its rows
    are handed on: a slow consumer holds no transaction.
    """
    build, key, convert = _QUERIES[kind]
    query = build(filters)
    after = 0
    while True:
        async with db.read() as session:
            page: Sequence[AnyRow] = (
                await session.execute(query.where(key > after).order_by(key).limit(page_size))
            ).all()
        for row in page:
            yield convert(row)
        if len(page) < page_size:
            return
        after = int(page[-1].id)


# -- the headline numbers ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QueueCount:
    state: str
    waiting: int
    oldest_since: datetime | None  # when the longest-waiting item entered this state


@dataclass(frozen=True, slots=True)
class Headline:
    """The numbers ``together-bot stats`` prints.

    Args:
        pledges: campaign id -> {pledge state -> count}, every campaign listed.
        stories_by_state: state -> count (erased stories included: a count identifies
            nobody).
        stories_by_language: locale -> count of stories not erased.
        queue: the moderation queue's waiting states, each with its oldest item.
        people_by_platform: platform -> participants.
    """

    pledges: dict[str, dict[str, int]]
    stories_by_state: dict[str, int]
    stories_by_language: dict[str, int]
    queue: tuple[QueueCount, ...]
    people_by_platform: dict[str, int]


async def headline(db: Database) -> Headline:
    """The headline numbers, read in one snapshot."""
    async with db.read() as session:
        campaigns = (
            await session.execute(select(col(Campaign.id)).order_by(col(Campaign.id)))
        ).all()
        pledges: dict[str, dict[str, int]] = {
            str(cid): dict.fromkeys((s.value for s in PledgeState), 0) for (cid,) in campaigns
        }
        for campaign, state, count in await session.execute(
            select(col(Pledge.campaign_id), col(Pledge.state), func.count()).group_by(
                col(Pledge.campaign_id), col(Pledge.state)
            )
        ):
            pledges.setdefault(str(campaign), {})[str(state)] = int(count)
        by_state = await _counts(session, col(Story.state))
        by_language = await _counts(
            session, col(Story.locale), col(Story.state) != StoryState.ERASED.value
        )
        # Since the latest event that moved the item into the state it is in now (a
        # claim or a release keeps the state and is not counted).
        entered = (
            select(func.max(col(ModerationEvent.created_at)))
            .where(
                col(ModerationEvent.item_id) == col(ModerationItem.id),
                col(ModerationEvent.to_state) == col(ModerationItem.state),
                or_(
                    col(ModerationEvent.from_state).is_(None),
                    col(ModerationEvent.from_state) != col(ModerationEvent.to_state),
                ),
            )
            .scalar_subquery()
        )
        waiting = {
            str(state): (int(count), oldest)
            for state, count, oldest in await session.execute(
                select(
                    col(ModerationItem.state),
                    func.count(),
                    func.min(func.coalesce(entered, col(ModerationItem.created_at))),
                )
                .where(col(ModerationItem.state).in_([s.value for s in WAITING_STATES]))
                .group_by(col(ModerationItem.state))
            )
        }
        people = await _counts(session, col(Participant.platform))
    queue = tuple(
        QueueCount(
            state.value,
            waiting.get(state.value, (0, None))[0],
            _stored_time(waiting.get(state.value, (0, None))[1]),
        )
        for state in WAITING_STATES
    )
    return Headline(pledges, by_state, by_language, queue, people)


async def _counts(session: Any, column: Any, *where: ColumnElement[bool]) -> dict[str, int]:
    rows = await session.execute(
        select(column, func.count()).where(*where).group_by(column).order_by(column)
    )
    return {str(value): int(count) for value, count in rows}


def _stored_time(value: Any) -> datetime | None:
    """A time from an aggregate: SQLite hands back its text, PostgreSQL a datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        return aware(datetime.fromisoformat(value))
    assert isinstance(value, datetime)
    return aware(value)
