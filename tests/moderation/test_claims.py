from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from moderation.actors import Moderator
from moderation.claims import Claim, claim, claim_next, release, takeover
from moderation.decisions import approve
from moderation.errors import DecisionConflict, NotAllowed, Refusal
from moderation.states import Role
from storage.db import Database
from storage.models import ModerationItem, utcnow
from tests.moderation.test_support import (
    CRISIS,
    LEAD,
    MODERATOR,
    MODERATOR_2,
    SAFETY,
    events_of,
    in_tx,
    item_row,
    race,
    submit_story,
)
from tests.moderation.test_support import (
    item_id as _id,
)


async def _set_expiry(db: Database, item_id: int, delta: timedelta) -> None:
    """Move a lease's expiry relative to now, directly in the database (no sleeping)."""
    async with db.transaction() as session:
        await session.execute(
            update(ModerationItem)
            .where(col(ModerationItem.id) == item_id)
            .values(lease_expires_at=utcnow() + delta)
            .execution_options(synchronize_session=False)
        )


async def test_a_claim_is_ten_minutes_by_the_database_clock(db: Database) -> None:
    item, _ = await submit_story(db)
    before = utcnow()
    got = await in_tx(db, lambda s: claim(s, item_id=_id(item), moderator=MODERATOR))
    assert got.owner == "mod-ana" and got.version == item.version + 1 and len(got.token) == 32
    assert timedelta(minutes=9) < got.expires_at - before < timedelta(minutes=11)
    assert got.expires_at.tzinfo is not None


async def test_a_live_claim_blocks_others_decisions_until_it_expires(db: Database) -> None:
    item, _ = await submit_story(db)
    got = await in_tx(db, lambda s: claim(s, item_id=_id(item), moderator=MODERATOR))

    with pytest.raises(DecisionConflict) as caught:
        await in_tx(
            db, lambda s: approve(s, item_id=_id(item), version=got.version, moderator=MODERATOR_2)
        )
    assert caught.value.lease_owner == "mod-ana"
    with pytest.raises(DecisionConflict):
        await in_tx(db, lambda s: claim(s, item_id=_id(item), moderator=MODERATOR_2))

    # Still live 30 seconds before expiry (text comparison on SQLite must agree)...
    await _set_expiry(db, _id(item), timedelta(seconds=30))
    with pytest.raises(DecisionConflict):
        await in_tx(
            db, lambda s: approve(s, item_id=_id(item), version=got.version, moderator=MODERATOR_2)
        )
    # ...and free a second after it; a conflict then no longer names the old claim.
    await _set_expiry(db, _id(item), timedelta(seconds=-1))
    with pytest.raises(DecisionConflict) as stale:
        await in_tx(
            db, lambda s: approve(s, item_id=_id(item), version=item.version, moderator=MODERATOR_2)
        )
    assert (stale.value.lease_owner, stale.value.lease_expires_at) == (None, None)
    decision = await in_tx(
        db, lambda s: approve(s, item_id=_id(item), version=got.version, moderator=MODERATOR_2)
    )
    after = await item_row(db, _id(item))
    assert decision.to_state.value == after.state == "APPROVED"
    assert (after.lease_owner, after.lease_token, after.lease_expires_at) == (None, None, None)


async def test_the_holder_decides_and_the_lease_is_cleared(db: Database) -> None:
    item, _ = await submit_story(db)
    got = await in_tx(db, lambda s: claim(s, item_id=_id(item), moderator=MODERATOR))
    await in_tx(
        db, lambda s: approve(s, item_id=_id(item), version=got.version, moderator=MODERATOR)
    )
    assert (await item_row(db, _id(item))).lease_owner is None


async def test_an_expired_claim_can_be_claimed_by_another(db: Database) -> None:
    item, _ = await submit_story(db)
    await in_tx(db, lambda s: claim(s, item_id=_id(item), moderator=MODERATOR))
    await _set_expiry(db, _id(item), timedelta(minutes=-1))
    got = await in_tx(db, lambda s: claim(s, item_id=_id(item), moderator=MODERATOR_2))
    assert got.owner == "mod-ben"


async def test_release_frees_the_item_for_others(db: Database) -> None:
    item, _ = await submit_story(db)
    await in_tx(db, lambda s: claim(s, item_id=_id(item), moderator=MODERATOR))
    with pytest.raises(NotAllowed) as caught:
        await in_tx(db, lambda s: release(s, item_id=_id(item), moderator=MODERATOR_2))
    assert caught.value.refusal is Refusal.NOT_CLAIMED
    version = await in_tx(db, lambda s: release(s, item_id=_id(item), moderator=MODERATOR))
    got = await in_tx(db, lambda s: claim(s, item_id=_id(item), moderator=MODERATOR_2))
    assert got.version == version + 1


async def test_a_lead_takes_over_with_a_reason_and_it_is_audited(db: Database) -> None:
    item, _ = await submit_story(db)
    await in_tx(db, lambda s: claim(s, item_id=_id(item), moderator=MODERATOR))
    for other in (MODERATOR_2, SAFETY):
        with pytest.raises(NotAllowed) as caught:
            async with db.transaction() as session:
                await takeover(session, item_id=_id(item), lead=other, reason="stuck")
        assert caught.value.refusal is Refusal.ROLE
    with pytest.raises(ValueError):
        await in_tx(db, lambda s: takeover(s, item_id=_id(item), lead=LEAD, reason=" "))

    got = await in_tx(
        db, lambda s: takeover(s, item_id=_id(item), lead=LEAD, reason="Ana is off today")
    )
    assert got.owner == "lead-dana"
    event = (await events_of(db, _id(item)))[-1]
    assert (event.action, event.actor, event.role, event.from_state, event.to_state) == (
        "takeover",
        "lead-dana",
        "lead",
        "PENDING_REVIEW",
        "PENDING_REVIEW",
    )
    assert event.note == "from mod-ana: Ana is off today"
    # The former holder's decision now loses.
    with pytest.raises(DecisionConflict):
        await in_tx(
            db, lambda s: approve(s, item_id=_id(item), version=got.version, moderator=MODERATOR)
        )
    await in_tx(db, lambda s: approve(s, item_id=_id(item), version=got.version, moderator=LEAD))


async def test_claim_next_takes_safety_first_then_oldest(db: Database) -> None:
    first, _ = await submit_story(db)
    second, _ = await submit_story(db)
    urgent, _ = await submit_story(db, screening=CRISIS)

    plain = await in_tx(db, lambda s: claim_next(s, moderator=MODERATOR))
    assert plain is not None and plain.item_id == _id(first)  # never the safety item
    picked = await in_tx(db, lambda s: claim_next(s, moderator=SAFETY))
    assert picked is not None and picked.item_id == _id(urgent)
    nxt = await in_tx(db, lambda s: claim_next(s, moderator=LEAD))
    assert nxt is not None and nxt.item_id == _id(second)
    assert await in_tx(db, lambda s: claim_next(s, moderator=MODERATOR_2)) is None


async def test_claim_next_skips_ones_own_story_and_claim_refuses_it(db: Database) -> None:
    own, _ = await submit_story(db, identity_key="ana-key")
    other, _ = await submit_story(db)
    got = await in_tx(db, lambda s: claim_next(s, moderator=MODERATOR))
    assert got is not None and got.item_id == _id(other)
    with pytest.raises(NotAllowed) as caught:
        await in_tx(db, lambda s: claim(s, item_id=_id(own), moderator=MODERATOR))
    assert caught.value.refusal is Refusal.SELF_MODERATION


async def test_concurrent_claim_next_hands_out_different_items(db: Database) -> None:
    for _ in range(4):
        await submit_story(db)
    team = [Moderator(id=f"mod-{n}", role=Role.MODERATOR) for n in range(4)]
    results = await race(db, *(lambda s, m=member: claim_next(s, moderator=m) for member in team))
    claims = [r for r in results if isinstance(r, Claim)]
    assert len(claims) == 4, results
    assert len({c.item_id for c in claims}) == 4
    async with db.transaction() as session:
        owners = (await session.scalars(select(col(ModerationItem.lease_owner)))).all()
    assert sorted(o for o in owners if o) == [m.id for m in team]
