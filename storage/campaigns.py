"""Partner campaigns: created, edited, listed, read, disabled and enabled by operators,
or brought to a campaigns file's values at start; each with its pledge texts,
milestones, open dates and count.

A campaign is never deleted: its pledges and count stay (a disabled campaign's link
offers the default pledge, its badge still shows its count).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import Database
from storage.models import Campaign, Milestone, PledgeCounter, utcnow
from storage.times import aware

# Lowercase letters, digits and dashes, neither first nor last: fits a Telegram start
# parameter after "pledge-" (64 characters at most) and a URL path as it is.
CAMPAIGN_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$")
ID_MAX = 48
NAME_MAX = 80
PLEDGE_TEXT_MAX = 1000


class CampaignError(ValueError):
    """A campaign that cannot be made as asked; the message says why."""


def title_in(titles: Mapping[str, str], locale: str, fallback: str, default: str) -> str:
    """A campaign's name in ``locale``, else in ``fallback``, else in any language it has;
    ``default`` when it has none."""
    return titles.get(locale) or titles.get(fallback) or next(iter(titles.values()), default)


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    """A campaign as operators see it.

    Args:
        id: the campaign's id (in its links).
        title: locale -> name.
        pledge_text: locale -> the pledge's text; None: the catalogs' default pledge.
        active: False once disabled.
        starts_at: when the pledge opens (None: open from its creation).
        ends_at: when it closes (None: never).
        milestones: threshold -> when it was reached (None: not yet).
        total: confirmed pledges.
    """

    id: str
    title: dict[str, str]
    pledge_text: dict[str, str] | None
    active: bool
    created_at: datetime
    starts_at: datetime | None
    ends_at: datetime | None
    milestones: dict[int, datetime | None]
    total: int

    def name(self, locale: str = "en") -> str:
        """The name in ``locale``, else English, else any; the id when it has none."""
        return title_in(self.title, locale, "en", self.id)

    def status(self, now: datetime) -> str:
        """``disabled``, ``not started``, ``ended`` or ``open``."""
        if not self.active:
            return "disabled"
        if self.starts_at is not None and now < self.starts_at:
            return "not started"
        if self.ends_at is not None and now >= self.ends_at:
            return "ended"
        return "open"


def check_id(campaign_id: str) -> str:
    """``campaign_id`` when it is a valid campaign id, else :class:`CampaignError`."""
    if not CAMPAIGN_ID.fullmatch(campaign_id):
        raise CampaignError(
            f"a campaign id is 1 to {ID_MAX} lowercase letters, digits and dashes "
            f"(not first or last), e.g. 'osaka-welcome': not {campaign_id!r}"
        )
    return campaign_id


def _check_text(what: str, text: str, limit: int) -> str:
    text = text.strip()
    if not text:
        raise CampaignError(f"the {what} is empty")
    if len(text) > limit:
        raise CampaignError(f"the {what} is longer than {limit} characters")
    return text


def check_name(name: str) -> str:
    """A campaign's name in one language, stripped: one line, 1 to ``NAME_MAX``."""
    if "\n" in name.strip():
        raise CampaignError("the name is one line")
    return _check_text("name", name, NAME_MAX)


def check_pledge_text(text: str) -> str:
    """A pledge's text in one language, stripped: 1 to ``PLEDGE_TEXT_MAX`` characters."""
    return _check_text("pledge text", text, PLEDGE_TEXT_MAX)


def check_milestone(threshold: int) -> int:
    if threshold < 1:
        raise CampaignError(f"a milestone is a number of pledges, 1 or more: not {threshold}")
    return threshold


def check_dates(starts_at: datetime | None, ends_at: datetime | None) -> None:
    """Aware dates, the end after the start; :class:`CampaignError` otherwise."""
    for moment in (starts_at, ends_at):
        if moment is not None and moment.tzinfo is None:
            raise CampaignError("campaign dates carry their time zone")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise CampaignError("the campaign ends before it starts")


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """A campaign as a campaigns file states it (see :func:`apply_campaigns`).

    Args:
        id: the campaign's id.
        title: locale -> name (checked, stripped).
        pledge_text: locale -> text (checked, stripped); None: the catalogs' pledge.
        milestones: pledge counts to celebrate (the unreached ones not listed go).
        starts_at: when the pledge opens (aware); None: at once.
        ends_at: when it closes (aware); None: never.
        active: False: disabled.
    """

    id: str
    title: dict[str, str]
    pledge_text: dict[str, str] | None = None
    milestones: tuple[int, ...] = ()
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool = True


async def add_campaign(
    db: Database,
    campaign_id: str,
    *,
    title: dict[str, str],
    pledge_text: dict[str, str] | None = None,
    milestones: tuple[int, ...] = (),
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> None:
    """Create a campaign; :class:`CampaignError` when the input is wrong or the id taken.

    Args:
        title: locale -> name (one line each).
        pledge_text: locale -> text; None for the catalogs' default pledge.
        milestones: positive pledge counts to celebrate.
        starts_at: when the pledge opens (aware); None: at once.
        ends_at: when it closes (aware, after ``starts_at``); None: never.
    """
    check_id(campaign_id)
    if not title:
        raise CampaignError("a campaign needs a name")
    names = {locale: check_name(name) for locale, name in title.items()}
    texts = (
        {locale: check_pledge_text(text) for locale, text in pledge_text.items()}
        if pledge_text
        else None
    )
    for threshold in milestones:
        check_milestone(threshold)
    check_dates(starts_at, ends_at)
    async with db.transaction() as session:
        inserted = await session.execute(
            db.insert(Campaign)
            .values(
                id=campaign_id,
                title=names,
                pledge_text=texts,
                active=True,
                created_at=utcnow(),
                starts_at=starts_at,
                ends_at=ends_at,
            )
            .on_conflict_do_nothing()
        )
        if not inserted.rowcount:  # type: ignore[attr-defined]
            raise CampaignError(f"there is already a campaign {campaign_id!r}")
        for threshold in sorted(set(milestones)):
            session.add(Milestone(campaign_id=campaign_id, threshold=threshold))


_KEEP: Any = object()  # edit_campaign: this field as it is


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else aware(moment)


async def edit_campaign(
    db: Database,
    campaign_id: str,
    *,
    title: dict[str, str] | None = None,
    pledge_text: dict[str, str] | None = None,
    add_milestones: tuple[int, ...] = (),
    drop_milestones: tuple[int, ...] = (),
    starts_at: datetime | None = _KEEP,
    ends_at: datetime | None = _KEEP,
) -> bool:
    """Change what is given of a campaign, nothing else; False when there is no such
    campaign, :class:`CampaignError` when the result would be wrong (nothing changed).

    Args:
        title: locale -> name, each replacing that language's name (others stay).
        pledge_text: locale -> text, each replacing that language's text (others stay;
            a campaign on the catalogs' pledge gets only these).
        add_milestones: pledge counts to celebrate, added (present ones are kept).
        drop_milestones: milestones not reached yet to remove; a reached one stays, and
            asking to drop it is refused.
        starts_at: the new opening (None: at once); not given: unchanged.
        ends_at: the new closing (None: never); not given: unchanged.
    """
    names = {locale: check_name(name) for locale, name in (title or {}).items()}
    texts = {locale: check_pledge_text(text) for locale, text in (pledge_text or {}).items()}
    for threshold in (*add_milestones, *drop_milestones):
        check_milestone(threshold)
    async with db.transaction() as session:
        # Locked on PostgreSQL: two edits at once both land, neither undoes the other.
        row = (
            await session.execute(
                select(Campaign).where(col(Campaign.id) == campaign_id).with_for_update()
            )
        ).scalar_one_or_none()
        if row is None:
            return False
        starts = _aware(row.starts_at) if starts_at is _KEEP else starts_at
        ends = _aware(row.ends_at) if ends_at is _KEEP else ends_at
        check_dates(starts, ends)
        reached = {
            int(threshold): moment
            for threshold, moment in await session.execute(
                select(col(Milestone.threshold), col(Milestone.reached_at)).where(
                    col(Milestone.campaign_id) == campaign_id
                )
            )
        }
        for threshold in drop_milestones:
            if reached.get(threshold) is not None:
                raise CampaignError(f"the milestone {threshold} is reached: it stays")
        if names:
            row.title = {**(row.title or {}), **names}  # a new dict: the ORM sees the change
        if texts:
            row.pledge_text = {**(row.pledge_text or {}), **texts}
        row.starts_at, row.ends_at = starts, ends
        for threshold in sorted(set(add_milestones) - set(reached)):
            await session.execute(
                db.insert(Milestone)
                .values(campaign_id=campaign_id, threshold=threshold)
                .on_conflict_do_nothing()
            )
        if drop_milestones:
            await session.execute(
                delete(Milestone).where(
                    col(Milestone.campaign_id) == campaign_id,
                    col(Milestone.threshold).in_(drop_milestones),
                    col(Milestone.reached_at).is_(None),
                )
            )
    return True


async def apply_campaigns(db: Database, specs: tuple[CampaignSpec, ...]) -> dict[str, str]:
    """Bring every campaign of ``specs`` to its values, in one transaction: created when
    missing, else its name, pledge texts, dates and ``active`` replaced, its milestones
    the given ones plus those already reached. Campaigns not in ``specs`` are left alone.

    Idempotent, and safe when several replicas apply the same file at once (PostgreSQL:
    ``INSERT .. ON CONFLICT``, rows taken in id order); a campaign already as stated is
    not written at all.

    Returns:
        id -> ``created``, ``updated`` or ``unchanged``.
    """
    ordered = sorted(specs, key=lambda spec: spec.id)
    ids = [spec.id for spec in ordered]
    outcome: dict[str, str] = {}
    async with db.transaction() as session:
        rows = {
            row.id: row
            for row in (
                await session.execute(select(Campaign).where(col(Campaign.id).in_(ids)))
            ).scalars()
        }
        reached: dict[str, dict[int, bool]] = {}
        for campaign_id, threshold, moment in await session.execute(
            select(
                col(Milestone.campaign_id), col(Milestone.threshold), col(Milestone.reached_at)
            ).where(col(Milestone.campaign_id).in_(ids))
        ):
            reached.setdefault(str(campaign_id), {})[int(threshold)] = moment is not None
        for spec in ordered:
            row = rows.get(spec.id)
            same = row is not None and (
                dict(row.title or {}),
                dict(row.pledge_text) if row.pledge_text else None,
                bool(row.active),
                _aware(row.starts_at),
                _aware(row.ends_at),
            ) == (spec.title, spec.pledge_text, spec.active, spec.starts_at, spec.ends_at)
            if not same:
                insert = db.insert(Campaign).values(
                    id=spec.id,
                    title=spec.title,
                    pledge_text=spec.pledge_text,
                    active=spec.active,
                    created_at=utcnow(),
                    starts_at=spec.starts_at,
                    ends_at=spec.ends_at,
                )
                await session.execute(
                    insert.on_conflict_do_update(
                        index_elements=["id"],
                        set_={
                            name: insert.excluded[name]
                            for name in ("title", "pledge_text", "active", "starts_at", "ends_at")
                        },
                    )
                )
            have = reached.get(spec.id, {})
            wanted = set(spec.milestones)
            added = sorted(wanted - set(have))
            dropped = sorted(
                t for t, was_reached in have.items() if not was_reached and t not in wanted
            )
            for threshold in added:
                await session.execute(
                    db.insert(Milestone)
                    .values(campaign_id=spec.id, threshold=threshold)
                    .on_conflict_do_nothing()
                )
            if dropped:
                await session.execute(
                    delete(Milestone).where(
                        col(Milestone.campaign_id) == spec.id,
                        col(Milestone.threshold).in_(dropped),
                        col(Milestone.reached_at).is_(None),
                    )
                )
            outcome[spec.id] = (
                "created"
                if row is None
                else "unchanged"
                if same and not added and not dropped
                else "updated"
            )
    return outcome


async def enable_campaign(db: Database, campaign_id: str) -> bool:
    """Open a disabled campaign's pledge again; False when there is no such campaign."""
    async with db.transaction() as session:
        result = await session.execute(
            update(Campaign).where(col(Campaign.id) == campaign_id).values(active=True)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def disable_campaign(db: Database, campaign_id: str) -> bool:
    """Close a campaign's pledge (until enabled again); False when there is no such
    campaign."""
    async with db.transaction() as session:
        result = await session.execute(
            update(Campaign).where(col(Campaign.id) == campaign_id).values(active=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def _summaries(session: AsyncSession, only: str | None) -> list[CampaignSummary]:
    campaigns = select(Campaign).order_by(col(Campaign.id))
    milestones = select(Milestone)
    totals = select(col(PledgeCounter.campaign_id), func.sum(col(PledgeCounter.count))).group_by(
        col(PledgeCounter.campaign_id)
    )
    if only is not None:
        campaigns = campaigns.where(col(Campaign.id) == only)
        milestones = milestones.where(col(Milestone.campaign_id) == only)
        totals = totals.where(col(PledgeCounter.campaign_id) == only)
    reached: dict[str, dict[int, datetime | None]] = {}
    for row in (await session.execute(milestones)).scalars():
        reached.setdefault(row.campaign_id, {})[int(row.threshold)] = (
            None if row.reached_at is None else aware(row.reached_at)
        )
    counted = {str(cid): int(total or 0) for cid, total in await session.execute(totals)}
    return [
        CampaignSummary(
            id=row.id,
            title=dict(row.title or {}),
            pledge_text=dict(row.pledge_text) if row.pledge_text else None,
            active=row.active,
            created_at=aware(row.created_at),
            starts_at=None if row.starts_at is None else aware(row.starts_at),
            ends_at=None if row.ends_at is None else aware(row.ends_at),
            milestones=dict(sorted(reached.get(row.id, {}).items())),
            total=counted.get(row.id, 0),
        )
        for row in (await session.execute(campaigns)).scalars()
    ]


async def list_campaigns(db: Database) -> list[CampaignSummary]:
    """Every campaign (the default one too), by id."""
    async with db.read() as session:
        return await _summaries(session, None)


async def find_campaign(db: Database, campaign_id: str) -> CampaignSummary | None:
    async with db.read() as session:
        found = await _summaries(session, campaign_id)
    return found[0] if found else None


async def campaign_count(
    session: AsyncSession, campaign_id: str
) -> tuple[dict[str, str], int] | None:
    """A campaign's names (locale -> name) and pledge count, for its badge; None when
    there is no such campaign."""
    title = (
        await session.execute(select(col(Campaign.title)).where(col(Campaign.id) == campaign_id))
    ).scalar_one_or_none()
    if title is None:
        return None
    total = (
        await session.execute(
            select(func.coalesce(func.sum(col(PledgeCounter.count)), 0)).where(
                col(PledgeCounter.campaign_id) == campaign_id
            )
        )
    ).scalar_one()
    return dict(title), int(total)
