"""The pledge counter under a storm: exact totals, milestones fired exactly once."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import func, select

from storage import pledges
from storage.db import Database
from storage.models import Pledge, PledgeState


async def test_pledge_storm_counts_exactly_and_fires_each_milestone_once(db: Database) -> None:
    thresholds = (5, 20, 39, 40)
    await pledges.ensure_campaign(db, "storm", milestones=thresholds)
    rng = random.Random(7)
    identities = [f"id-{i}" for i in range(40)]
    fired: list[int] = []

    async def act(identity: str, withdraw: bool) -> None:
        async with db.transaction() as session:
            if withdraw:
                await pledges.withdraw_pledge(
                    session, db, campaign_id="storm", identity_key=identity
                )
            else:
                await pledges.take_pledge(
                    session, db, campaign_id="storm", identity_key=identity, participant_id=None
                )
        fired.extend(await pledges.reach_milestones(db, "storm"))

    # Many attempts per identity, some withdrawals and re-pledges, all interleaved.
    attempts = [(identity, False) for identity in identities for _ in range(4)]
    attempts += [(rng.choice(identities), True) for _ in range(30)]
    rng.shuffle(attempts)
    await asyncio.gather(*(act(identity, withdraw) for identity, withdraw in attempts))
    # Everyone pledges once more at the end, so all 40 are confirmed.
    await asyncio.gather(*(act(identity, False) for identity in identities))

    async with db.transaction() as session:
        confirmed = (
            await session.execute(
                select(func.count())
                .select_from(Pledge)
                .where(Pledge.state == PledgeState.CONFIRMED.value)
            )
        ).scalar_one()
        total = await pledges.pledge_total(session, "storm")
    assert confirmed == total == 40
    assert sorted(fired) == sorted(set(fired)) == list(thresholds)
    assert await pledges.reconcile(db, "storm") == 0


async def test_a_threshold_crossed_by_two_racing_pledges_fires_once(db: Database) -> None:
    await pledges.ensure_campaign(db, "race", milestones=(2,))
    barrier = asyncio.Barrier(2)
    results: list[list[int]] = []

    async def pledge(identity: str) -> None:
        async with db.transaction() as session:
            await pledges.take_pledge(
                session, db, campaign_id="race", identity_key=identity, participant_id=None
            )
        await barrier.wait()
        results.append(await pledges.reach_milestones(db, "race"))

    await asyncio.gather(pledge("a"), pledge("b"))
    assert sorted(results) == [[], [2]]
