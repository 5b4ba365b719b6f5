"""The pledge counter under a storm: exact totals, milestones fired exactly once."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from sqlalchemy import select

from storage import pledges
from storage.db import Database
from storage.models import Pledge, PledgeState


@dataclass(frozen=True)
class Storm:
    """How hard to blow: PostgreSQL takes thousands of attempts from hundreds of people
    (MODERATION.md); SQLite, one writer at a time, a modest storm of the same shape."""

    identities: int
    pledges_each: int  # attempts to pledge per identity (all but the first are repeats)
    withdrawals_each: int
    workers: int  # attempts in flight at once (below the PostgreSQL pool's 30 connections)
    thresholds: tuple[int, ...]


STORMS = {
    "postgresql": Storm(300, 8, 3, 24, (1, 10, 50, 100, 150, 200, 250, 299, 300)),
    "sqlite": Storm(40, 4, 2, 8, (5, 20, 39, 40)),
}


async def test_pledge_storm_counts_exactly_and_fires_each_milestone_once(db: Database) -> None:
    storm = STORMS[db.dialect]
    await pledges.ensure_campaign(db, "storm", milestones=storm.thresholds)
    rng = random.Random(7)
    identities = [f"id-{i}" for i in range(storm.identities)]
    fired: list[int] = []
    slots = asyncio.Semaphore(storm.workers)

    async def act(identity: str, withdraw: bool) -> None:
        async with slots:
            async with db.transaction() as session:
                if withdraw:
                    await pledges.withdraw_pledge(
                        session, db, campaign_id="storm", identity_key=identity
                    )
                else:
                    taken = await pledges.take_pledge(
                        session,
                        db,
                        campaign_id="storm",
                        identity_key=identity,
                        participant_id=None,
                    )
                    fired.extend(taken.milestones)  # reached in the pledge's transaction
            # The scheduler's catch-up sweep: what racing pledges both missed, once.
            fired.extend(await pledges.reach_milestones(db, "storm"))

    async def blow(attempts: list[tuple[str, bool]]) -> None:
        # A task group: one failure stops the rest before the schema is dropped.
        async with asyncio.TaskGroup() as group:
            for identity, withdraw in attempts:
                group.create_task(act(identity, withdraw))

    # Each person's attempts come in bursts of two to four, so the same person's
    # pledges, repeats and withdrawals are in flight at once; the bursts are shuffled.
    bursts: list[list[tuple[str, bool]]] = []
    for identity in identities:
        pledging, withdrawing = (identity, False), (identity, True)
        mine = [pledging] * storm.pledges_each + [withdrawing] * storm.withdrawals_each
        rng.shuffle(mine)
        while mine:
            size = rng.randint(2, 4)
            bursts.append(mine[:size])
            mine = mine[size:]
    rng.shuffle(bursts)
    storm_attempts = [attempt for burst in bursts for attempt in burst]
    await blow(storm_attempts)
    # Everyone pledges once more (every milestone is crossed), then a third take it back.
    await blow([(identity, False) for identity in identities])
    leaving = set(identities[::3])
    await blow([(identity, identity in leaving) for identity in identities])

    async with db.transaction() as session:
        confirmed = (
            await session.execute(
                select(Pledge.identity_key).where(
                    Pledge.campaign_id == "storm", Pledge.state == PledgeState.CONFIRMED.value
                )
            )
        ).scalars()
        distinct_confirmed = set(confirmed)
        total = await pledges.pledge_total(session, "storm")
    assert len(storm_attempts) == storm.identities * (storm.pledges_each + storm.withdrawals_each)
    assert distinct_confirmed == set(identities) - leaving
    assert total == len(distinct_confirmed)
    assert sorted(fired) == sorted(set(fired)) == list(storm.thresholds)
    assert await pledges.reconcile(db, "storm") == 0


async def test_a_threshold_crossed_by_two_racing_pledges_fires_once(db: Database) -> None:
    await pledges.ensure_campaign(db, "race", milestones=(2,))
    barrier = asyncio.Barrier(2)
    results: list[list[int]] = []

    async def pledge(identity: str) -> None:
        async with db.transaction() as session:
            taken = await pledges.take_pledge(
                session, db, campaign_id="race", identity_key=identity, participant_id=None
            )
        await barrier.wait()
        # Reached by the pledge itself, or (both counted at once on PostgreSQL, each
        # seeing a total of one) by the catch-up sweep after them: once either way.
        results.append(list(taken.milestones) + await pledges.reach_milestones(db, "race"))

    await asyncio.gather(pledge("a"), pledge("b"))
    assert sorted(results) == [[], [2]]
