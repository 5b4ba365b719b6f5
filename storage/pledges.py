"""Pledges and their counter: one per identity per campaign, counted exactly once.

The pledge row and the counter increment commit in one transaction. On PostgreSQL the
counter is spread over shard rows so concurrent pledges do not queue on one hot row;
the total is their sum. Milestones fire once each through a conditional UPDATE.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import Database
from storage.models import Campaign, Milestone, Pledge, PledgeCounter, PledgeState, utcnow

PG_COUNTER_SHARDS = 16


class PledgeOutcome(enum.StrEnum):
    NEW = "new"
    ALREADY = "already"
    RENEWED = "renewed"  # withdrawn before, confirmed again


@dataclass(frozen=True, slots=True)
class PledgeResult:
    outcome: PledgeOutcome
    pledged_at: datetime


def _shards(db: Database) -> int:
    return PG_COUNTER_SHARDS if db.is_postgres else 1


async def _bump(session: AsyncSession, db: Database, campaign_id: str, delta: int) -> None:
    shard = random.randrange(_shards(db))  # noqa: S311 - load spreading, not security
    stmt = db.insert(PledgeCounter).values(campaign_id=campaign_id, shard=shard, count=delta)
    stmt = stmt.on_conflict_do_update(
        index_elements=["campaign_id", "shard"],
        set_={"count": col(PledgeCounter.count) + delta},
    )
    await session.execute(stmt)


async def take_pledge(
    session: AsyncSession,
    db: Database,
    *,
    campaign_id: str,
    identity_key: str,
    participant_id: int | None,
    referral: str | None = None,
) -> PledgeResult:
    """Pledge once; a second attempt is reported, never counted."""
    now = utcnow()
    inserted = await session.execute(
        db.insert(Pledge)
        .values(
            campaign_id=campaign_id,
            identity_key=identity_key,
            participant_id=participant_id,
            state=PledgeState.CONFIRMED.value,
            referral=referral,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )
    if inserted.rowcount:  # type: ignore[attr-defined]
        await _bump(session, db, campaign_id, 1)
        return PledgeResult(PledgeOutcome.NEW, now)
    renewed = await session.execute(
        update(Pledge)
        .where(
            col(Pledge.campaign_id) == campaign_id,
            col(Pledge.identity_key) == identity_key,
            col(Pledge.state) == PledgeState.WITHDRAWN.value,
        )
        .values(
            state=PledgeState.CONFIRMED.value,
            created_at=now,
            withdrawn_at=None,
            participant_id=participant_id,
        )
    )
    if renewed.rowcount:  # type: ignore[attr-defined]
        await _bump(session, db, campaign_id, 1)
        return PledgeResult(PledgeOutcome.RENEWED, now)
    existing = await find_pledge(session, campaign_id, identity_key)
    assert existing is not None
    return PledgeResult(PledgeOutcome.ALREADY, existing.created_at)


async def find_pledge(session: AsyncSession, campaign_id: str, identity_key: str) -> Pledge | None:
    return (
        await session.execute(
            select(Pledge).where(
                col(Pledge.campaign_id) == campaign_id, col(Pledge.identity_key) == identity_key
            )
        )
    ).scalar_one_or_none()


async def withdraw_pledge(
    session: AsyncSession, db: Database, *, campaign_id: str, identity_key: str
) -> bool:
    """Withdraw a confirmed pledge; False when there was none to withdraw."""
    result = await session.execute(
        update(Pledge)
        .where(
            col(Pledge.campaign_id) == campaign_id,
            col(Pledge.identity_key) == identity_key,
            col(Pledge.state) == PledgeState.CONFIRMED.value,
        )
        .values(state=PledgeState.WITHDRAWN.value, withdrawn_at=utcnow())
    )
    if result.rowcount:  # type: ignore[attr-defined]
        await _bump(session, db, campaign_id, -1)
        return True
    return False


async def pledge_total(session: AsyncSession, campaign_id: str) -> int:
    result = await session.execute(
        select(func.coalesce(func.sum(col(PledgeCounter.count)), 0)).where(
            col(PledgeCounter.campaign_id) == campaign_id
        )
    )
    return int(result.scalar_one())


async def reach_milestones(db: Database, campaign_id: str) -> list[int]:
    """Mark every threshold the total has crossed; each is returned exactly once ever."""
    async with db.transaction() as session:
        total = await pledge_total(session, campaign_id)
        result = await session.execute(
            update(Milestone)
            .where(
                col(Milestone.campaign_id) == campaign_id,
                col(Milestone.reached_at).is_(None),
                col(Milestone.threshold) <= total,
            )
            .values(reached_at=utcnow())
            .returning(col(Milestone.threshold))
        )
        return sorted(int(t) for t in result.scalars())


async def reconcile(db: Database, campaign_id: str) -> int:
    """Recount confirmed pledges and repair the counter; returns the drift repaired."""
    async with db.transaction() as session:
        if db.is_postgres:
            await session.execute(
                select(func.pg_advisory_xact_lock(func.hashtext(f"pledge:{campaign_id}")))
            )
        actual = (
            await session.execute(
                select(func.count())
                .select_from(Pledge)
                .where(
                    col(Pledge.campaign_id) == campaign_id,
                    col(Pledge.state) == PledgeState.CONFIRMED.value,
                )
            )
        ).scalar_one()
        counted = await pledge_total(session, campaign_id)
        drift = int(actual) - counted
        if drift:
            await _bump(session, db, campaign_id, drift)
        return drift


async def ensure_campaign(
    db: Database,
    campaign_id: str,
    *,
    title: dict[str, str] | None = None,
    pledge_text: dict[str, str] | None = None,
    milestones: tuple[int, ...] = (),
) -> None:
    """Create a campaign and its milestones if missing (idempotent)."""
    async with db.transaction() as session:
        await session.execute(
            db.insert(Campaign)
            .values(
                id=campaign_id,
                title=title or {},
                pledge_text=pledge_text,
                active=True,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )
        for threshold in milestones:
            await session.execute(
                db.insert(Milestone)
                .values(campaign_id=campaign_id, threshold=threshold)
                .on_conflict_do_nothing()
            )
