"""The numbers of the dashboard's Stats page: counts only, never a row about a person.

Every figure is one aggregate statement (``GROUP BY``, ``COUNT``, one row by ``OFFSET``
for a percentile), read together in one read-only snapshot (:meth:`Database.read`): the
page's charts agree with each other, and none waits for the writer.

What the database can say truthfully, and what it cannot:

- pledges: confirmed pledges by the day (UTC) they were made; a withdrawn or held pledge
  is not counted;
- the story funnel: *started* counts people whose latest start of a story (the chat's
  first question, or the Slack form sent) falls in the period, *consented* people whose
  latest consent to the story terms does (beginning or consenting again moves it; an
  erasure forgets both); *submitted* counts stories submitted in the period, and
  *approved* / *published* those of them that reached that state at least once (the
  audit log says so);
- stories by language and by country: the stories submitted in the period, erased ones
  left out (their details are gone);
- moderation time to decision: from an item's creation (its first submission) to its
  first approval or rejection, for the items first decided in the period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
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
    StoryState,
)
from storage.times import aware

PERIODS = (7, 30, 90, 365)  # the page offers these many days
DEFAULT_DAYS = 30
CAMPAIGNS_MAX = 500  # the selector's campaigns (ids, by id)
# Decision-time buckets: (upper bound in seconds, exclusive; None = open-ended).
BUCKETS: tuple[float | None, ...] = (3600, 6 * 3600, 86400, 2 * 86400, 7 * 86400, None)
DECIDED = (StoryState.APPROVED.value, StoryState.REJECTED.value)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole UTC days: from ``since`` (midnight, included) to ``until`` (excluded)."""

    since: datetime
    until: datetime

    @classmethod
    def last_days(cls, days: int, now: datetime) -> Period:
        """Today (UTC) and the ``days - 1`` days before it."""
        today = aware(now).date()
        start = today - timedelta(days=days - 1)
        return cls(_midnight(start), _midnight(today + timedelta(days=1)))

    def days(self) -> list[date]:
        first, end = self.since.date(), self.until.date()
        return [first + timedelta(days=n) for n in range((end - first).days)]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Funnel:
    """The story funnel (see the module for what each step counts)."""

    started: int
    consented: int
    submitted: int
    approved: int
    published: int


@dataclass(frozen=True, slots=True)
class DecisionTimes:
    """Time from submission to first decision, in seconds (None: nothing decided).

    ``median`` and ``p90`` are nearest-rank percentiles (a value that occurred);
    ``buckets`` counts the items per :data:`BUCKETS` bound, in order.
    """

    decided: int
    median: float | None
    p90: float | None
    buckets: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Stats:
    """Everything the page shows for one period (and campaign, for the pledges).

    Args:
        pledges: campaign id -> day -> confirmed pledges made that day (days without
            any are absent).
        funnel, by_language, by_origin, by_residence, decisions: the stories' numbers;
            None when not asked for (a partner lead sees their campaign's pledges only).
            A country of None: not given.
    """

    period: Period
    pledges: dict[str, dict[date, int]]
    funnel: Funnel | None = None
    by_language: dict[str, int] | None = None
    by_origin: dict[str | None, int] | None = None
    by_residence: dict[str | None, int] | None = None
    decisions: DecisionTimes | None = None
    campaigns: dict[str, dict[str, str]] = field(default_factory=dict)


async def read_stats(
    db: Database, period: Period, *, campaign: str | None = None, stories: bool = True
) -> Stats:
    """The page's numbers in one snapshot: pledges (of ``campaign``, or of every
    campaign), and unless ``stories`` is False the stories' numbers (stories belong to
    no campaign)."""
    async with db.read() as session:
        campaigns = await campaign_titles(session, campaign)
        pledges = await pledges_per_day(session, period, campaign)
        if not stories:
            return Stats(period, pledges, campaigns=campaigns)
        return Stats(
            period,
            pledges,
            funnel=await story_funnel(session, period),
            by_language=await stories_by(session, period, col(Story.locale)),
            by_origin=await stories_by(session, period, col(Story.origin_country)),
            by_residence=await stories_by(session, period, col(Story.current_country)),
            decisions=await decision_times(session, period),
            campaigns=campaigns,
        )


async def campaign_titles(
    session: AsyncSession, include: str | None = None
) -> dict[str, dict[str, str]]:
    """Campaign id -> its names by locale, by id: the first :data:`CAMPAIGNS_MAX`, and
    ``include`` when it exists."""
    rows = (
        await session.execute(
            select(col(Campaign.id), col(Campaign.title))
            .order_by(col(Campaign.id))
            .limit(CAMPAIGNS_MAX)
        )
    ).all()
    titles = {str(cid): dict(title or {}) for cid, title in rows}
    if include is not None and include not in titles:
        found = await session.get(Campaign, include)
        if found is not None:
            titles[found.id] = dict(found.title or {})
    return titles


def _in(column: Any, period: Period) -> list[ColumnElement[bool]]:
    return [column >= period.since, column < period.until]


def _day(session: AsyncSession, column: Any) -> Any:
    """The UTC calendar day of a stored time."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite stores UTC text: 'YYYY-MM-DD HH:MM:SS...'


def _as_date(value: Any) -> date:
    """A day from :func:`_day`: PostgreSQL hands back a date, SQLite its text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def pledges_per_day(
    session: AsyncSession, period: Period, campaign: str | None = None
) -> dict[str, dict[date, int]]:
    """Campaign -> day -> confirmed pledges made that day (by ``created_at``)."""
    day = _day(session, col(Pledge.created_at))
    stmt = (
        select(col(Pledge.campaign_id), day.label("day"), func.count())
        .where(col(Pledge.state) == PledgeState.CONFIRMED.value)
        .where(*_in(col(Pledge.created_at), period))
        .group_by(col(Pledge.campaign_id), day)
    )
    if campaign is not None:
        stmt = stmt.where(col(Pledge.campaign_id) == campaign)
    out: dict[str, dict[date, int]] = {}
    for campaign_id, when, count in (await session.execute(stmt)).all():
        out.setdefault(str(campaign_id), {})[_as_date(when)] = int(count)
    return out


def _reached(state: StoryState) -> Any:
    """1 when the story's item ever moved to ``state`` (its audit log), else 0."""
    event = ModerationEvent
    ever = exists().where(
        col(event.item_id) == col(ModerationItem.id), col(event.to_state) == state.value
    )
    return func.coalesce(func.sum(case((ever, 1), else_=0)), 0)


async def story_funnel(session: AsyncSession, period: Period) -> Funnel:
    started, consented = (
        await session.execute(
            select(
                func.count(col(Participant.story_started_at)).filter(
                    *_in(col(Participant.story_started_at), period)
                ),
                func.count(col(Participant.consent_at)).filter(
                    *_in(col(Participant.consent_at), period)
                ),
            ).select_from(Participant)
        )
    ).one()
    submitted, approved, published = (
        await session.execute(
            select(
                func.count(col(Story.id)),
                _reached(StoryState.APPROVED),
                _reached(StoryState.PUBLISHED),
            )
            .select_from(Story)
            .outerjoin(ModerationItem, col(ModerationItem.story_id) == col(Story.id))
            .where(*_in(col(Story.submitted_at), period))
        )
    ).one()
    return Funnel(int(started), int(consented), int(submitted), int(approved), int(published))


async def stories_by(session: AsyncSession, period: Period, column: Any) -> dict[Any, int]:
    """Stories submitted in the period (not erased) by ``column``, the most first."""
    rows = await session.execute(
        select(column, func.count())
        .where(*_in(col(Story.submitted_at), period))
        .where(col(Story.state) != StoryState.ERASED.value)
        .group_by(column)
        .order_by(func.count().desc(), column)
    )
    return {value: int(count) for value, count in rows.all()}


def _seconds(session: AsyncSession, start: Any, end: Any) -> Any:
    """``end - start`` in seconds, on either database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    # julianday() is a day count in a double: to the millisecond, as stored.
    return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)


async def decision_times(session: AsyncSession, period: Period) -> DecisionTimes:
    item, event = ModerationItem, ModerationEvent
    first = (
        select(col(event.item_id).label("item_id"), func.min(col(event.created_at)).label("at"))
        .where(col(event.to_state).in_(DECIDED))
        .group_by(col(event.item_id))
        .subquery()
    )
    waited = _seconds(session, col(item.created_at), first.c.at)
    decided = (
        select(waited.label("waited"))
        .select_from(item)
        .join(first, first.c.item_id == col(item.id))
        .where(*_in(first.c.at, period))
        .subquery()
    )
    bucket = case(
        *(
            (decided.c.waited < bound, index)
            for index, bound in enumerate(BUCKETS)
            if bound is not None
        ),
        else_=len(BUCKETS) - 1,
    )
    counts = dict.fromkeys(range(len(BUCKETS)), 0)
    for index, count in (
        await session.execute(select(bucket.label("bucket"), func.count()).group_by(bucket))
    ).all():
        counts[int(index)] = int(count)
    total = sum(counts.values())

    async def percentile(share: float) -> float | None:
        if not total:
            return None
        rank = max(1, math.ceil(share * total))  # nearest rank, 1-based
        value = (
            await session.execute(
                select(func.cast(decided.c.waited, Float))
                .order_by(decided.c.waited)
                .offset(rank - 1)
                .limit(1)
            )
        ).scalar_one()
        return max(0.0, float(value))

    return DecisionTimes(
        decided=total,
        median=await percentile(0.5),
        p90=await percentile(0.9),
        buckets=tuple(counts[index] for index in range(len(BUCKETS))),
    )
