"""The Stats page's figures (storage/stats.py) from rows seeded with known times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
from storage.stats import Period, read_stats

NOW = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
TODAY = NOW.date()
S = StoryState


def _at(days_ago: int, hour: int = 12) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), UTC).replace(
        hour=hour
    )


async def _seed_pledges(db: Database) -> None:
    async with db.transaction() as session:
        session.add(Campaign(id="together", title={"en": "Together"}))
        session.add(Campaign(id="acme", title={"en": "Acme"}))
        await session.flush()
        rows = [
            ("together", 0, PledgeState.CONFIRMED),
            ("together", 0, PledgeState.CONFIRMED),
            ("together", 1, PledgeState.CONFIRMED),
            ("together", 2, PledgeState.WITHDRAWN),  # withdrawn: not counted
            ("acme", 2, PledgeState.CONFIRMED),
            ("acme", 1, PledgeState.HELD),  # held: not counted
            ("acme", 40, PledgeState.CONFIRMED),  # before the period
        ]
        for n, (campaign, days_ago, state) in enumerate(rows):
            session.add(
                Pledge(
                    campaign_id=campaign,
                    identity_key=f"key-{n}",
                    state=state.value,
                    created_at=_at(days_ago, hour=n % 24),
                )
            )


async def test_confirmed_pledges_per_day_per_campaign(db: Database) -> None:
    await _seed_pledges(db)
    stats = await read_stats(db, Period.last_days(30, NOW), stories=False)
    day = {n: TODAY - timedelta(days=n) for n in range(3)}
    assert stats.pledges == {"together": {day[0]: 2, day[1]: 1}, "acme": {day[2]: 1}}
    assert stats.funnel is None and stats.decisions is None
    assert set(stats.campaigns) == {"acme", "together"}
    only = await read_stats(db, Period.last_days(30, NOW), campaign="acme", stories=False)
    assert only.pledges == {"acme": {day[2]: 1}}
    week = await read_stats(db, Period.last_days(2, NOW), stories=False)
    assert week.pledges == {"together": {day[0]: 2, day[1]: 1}}
    assert Period.last_days(2, NOW).days() == [day[1], day[0]]


_EVENT = 0


def _event(item_id: int, to_state: S, at: datetime, from_state: S | None = None) -> ModerationEvent:
    global _EVENT
    _EVENT += 1
    return ModerationEvent(
        item_id=item_id,
        from_state=from_state.value if from_state else None,
        to_state=to_state.value,
        actor="ana",
        role="moderator",
        created_at=at,
        prev_hash="0" * 64,
        hash=f"{_EVENT:064d}",
    )


async def _story(
    db: Database,
    *,
    submitted: datetime,
    path: list[tuple[S, timedelta]],
    locale: str = "en",
    origin: str | None = "SY",
    residence: str | None = "JP",
) -> None:
    """A story submitted at ``submitted`` whose item went through ``path`` (state, after)."""
    async with db.transaction() as session:
        state = path[-1][0] if path else S.PENDING_REVIEW
        story = Story(
            locale=locale,
            credit_mode="anonymous",
            consent_version="2026-11",
            origin_country=origin,
            current_country=residence,
            state=state.value,
            submitted_at=submitted,
        )
        session.add(story)
        await session.flush()
        assert story.id is not None
        item = ModerationItem(
            story_id=story.id, state=state.value, locale=locale, created_at=submitted
        )
        session.add(item)
        await session.flush()
        assert item.id is not None
        session.add(_event(item.id, S.RECEIVED, submitted))
        previous = S.RECEIVED
        for to_state, after in path:
            session.add(_event(item.id, to_state, submitted + after, previous))
            previous = to_state


async def test_the_funnel_the_languages_countries_and_decision_times(db: Database) -> None:
    async with db.transaction() as session:
        for n, days_ago in enumerate((0, 1, 1, 3, 45)):  # the last one consented long ago
            session.add(
                Participant(
                    platform="memory",
                    external_id=f"p{n}",
                    chat_id=f"p{n}",
                    identity_key=f"id-{n}",
                    story_started_at=_at(days_ago),
                    consent_at=_at(days_ago),
                )
            )
        # Began a story and left before consenting; and one who never began one.
        session.add(
            Participant(
                platform="memory",
                external_id="left",
                chat_id="left",
                identity_key="left",
                story_started_at=_at(2),
            )
        )
        session.add(Participant(platform="memory", external_id="x", chat_id="x", identity_key="x"))
    hour = timedelta(hours=1)
    review = (S.PENDING_REVIEW, timedelta(minutes=1))
    # Decided after 1 h, 2 h and 3 h (median 2 h, p90 3 h), and one 10 days after.
    await _story(db, submitted=_at(2), path=[review, (S.APPROVED, hour), (S.PUBLISHED, 2 * hour)])
    await _story(
        db,
        submitted=_at(2),
        path=[review, (S.APPROVED, 2 * hour), (S.PUBLISHED, 3 * hour), (S.UNPUBLISHED, 4 * hour)],
        locale="ar",
        origin="SY",
        residence="DE",
    )
    await _story(db, submitted=_at(1), path=[review, (S.REJECTED, 3 * hour)], locale="ar")
    await _story(db, submitted=_at(1), path=[review], origin=None, residence=None)
    await _story(db, submitted=_at(1), path=[(S.SAFETY_REVIEW, timedelta(minutes=1))])
    await _story(
        db, submitted=_at(12), path=[review, (S.APPROVED, timedelta(days=10))], locale="fr"
    )
    # Erased: counted in the funnel, not by language or country (its details are gone).
    await _story(db, submitted=_at(1), path=[review, (S.ERASED, hour)], locale="ru")
    # Submitted before the period: in no figure, though decided within it.
    await _story(db, submitted=_at(40), path=[review, (S.REJECTED, timedelta(days=39))])

    stats = await read_stats(db, Period.last_days(30, NOW))
    funnel = stats.funnel
    assert funnel is not None
    assert (funnel.started, funnel.consented) == (5, 4)
    assert (funnel.submitted, funnel.approved, funnel.published) == (7, 3, 2)
    assert stats.by_language == {"en": 3, "ar": 2, "fr": 1}
    assert stats.by_origin == {"SY": 5, None: 1}
    assert stats.by_residence == {"JP": 4, "DE": 1, None: 1}
    decisions = stats.decisions
    assert decisions is not None
    # 1 h, 2 h, 3 h, 10 days; and 39 days: submitted before the period, decided in it.
    # Erasure is no decision.
    assert decisions.decided == 5
    assert decisions.median == 3 * 3600
    assert decisions.p90 == 39 * 86400
    #                    <1h 1-6h 6-24h 1-2d 2-7d >7d
    assert decisions.buckets == (0, 3, 0, 0, 0, 2)

    few = await read_stats(db, Period.last_days(2, NOW))  # decided yesterday or today
    assert few.decisions is not None
    assert (few.decisions.decided, few.decisions.median, few.decisions.p90) == (
        2,
        3 * 3600,
        39 * 86400,
    )


async def test_nothing_decided_has_no_median(db: Database) -> None:
    stats = await read_stats(db, Period.last_days(7, NOW))
    assert stats.decisions is not None
    assert (stats.decisions.decided, stats.decisions.median, stats.decisions.p90) == (0, None, None)
    assert stats.funnel is not None and stats.funnel.submitted == 0
    assert stats.by_language == {}
