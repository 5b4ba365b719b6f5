"""Claims (leases): one moderator works on an item at a time, for ten minutes at most.

A claim is one conditional UPDATE that sets the lease and bumps the version; whether a
lease is still live is decided by the database clock inside that statement. Claims and
releases are not state changes and write no audit event; a lead's takeover does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from moderation.actors import Moderator
from moderation.errors import NotAllowed, Refusal
from moderation.states import Action, allowed_from
from moderation.transitions import (
    CLEAR_LEASE,
    LEASE,
    ItemView,
    check,
    db_later,
    guarded_update,
    lease_open_to,
    load,
    new_lease_token,
    refuse,
    transition,
)
from storage.models import ModerationItem, Participant, Story
from storage.times import as_utc


@dataclass(frozen=True, slots=True)
class Claim:
    """A live lease: the card shows ``version``; ``expires_at`` is the database's clock."""

    item_id: int
    version: int
    owner: str
    token: str
    expires_at: datetime


async def _claimed(session: AsyncSession, item_id: int, version: int) -> Claim:
    view = await load(session, item_id)
    item = view.item
    expires_at = as_utc(item.lease_expires_at)
    if item.lease_owner is None or item.lease_token is None or expires_at is None:
        raise RuntimeError(f"item {item_id} lost the lease it was just given")
    return Claim(
        item_id=item_id,
        version=version,
        owner=item.lease_owner,
        token=item.lease_token,
        expires_at=expires_at,
    )


def _lease_for(session: AsyncSession, moderator: Moderator) -> dict[str, object]:
    return {
        "lease_owner": moderator.id,
        "lease_token": new_lease_token(),
        "lease_expires_at": db_later(session, LEASE),
    }


async def claim(
    session: AsyncSession,
    *,
    item_id: int,
    moderator: Moderator,
    version: int | None = None,
) -> Claim:
    """Claim an item, or extend one's own claim, for ten minutes from now.

    Raises:
        DecisionConflict: someone else holds a live claim, or the version is stale.
        NotAllowed: the item is not claimable by this moderator (role, state, own story).
    """
    view = await load(session, item_id)
    await check(session, view, moderator, Action.CLAIM, version)
    new_version = await guarded_update(
        session,
        view,
        actor=moderator,
        action=Action.CLAIM,
        values=_lease_for(session, moderator),
    )
    return await _claimed(session, item_id, new_version)


def _not_own_story(moderator: Moderator) -> list[ColumnElement[bool]]:
    if not moderator.identity_keys:
        return []
    identity = col(Participant.identity_key)
    return [or_(identity.is_(None), identity.not_in(sorted(moderator.identity_keys)))]


async def claim_next(session: AsyncSession, *, moderator: Moderator) -> Claim | None:
    """Claim the next item this moderator may review: highest priority, then oldest.

    On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets moderators pick at the same moment
    without waiting on, or getting, each other's item; SQLite transactions are serialised.
    An item the moderator already holds counts as available (the claim is extended).
    """
    states = [state.value for state in allowed_from(Action.CLAIM, moderator.role)]
    query = (
        select(col(ModerationItem.id))
        .join(Story, col(Story.id) == col(ModerationItem.story_id))
        .outerjoin(Participant, col(Participant.id) == col(Story.participant_id))
        .where(
            col(ModerationItem.state).in_(states),
            lease_open_to(session, moderator.id),
            *_not_own_story(moderator),
        )
        .order_by(
            col(ModerationItem.priority).desc(),
            col(ModerationItem.created_at),
            col(ModerationItem.id),
        )
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=ModerationItem)
    item_id = (await session.execute(query)).scalar_one_or_none()
    if item_id is None:
        return None
    return await claim(session, item_id=item_id, moderator=moderator)


async def release(session: AsyncSession, *, item_id: int, moderator: Moderator) -> int:
    """Give back one's own claim. Returns the item's new version.

    Raises:
        NotAllowed: ``not_claimed`` if the moderator does not hold the claim.
    """
    view = await load(session, item_id)
    await check(session, view, moderator, Action.RELEASE, None)
    if view.item.lease_owner != moderator.id:
        raise refuse(Refusal.NOT_CLAIMED, view, moderator, Action.RELEASE)
    return await guarded_update(
        session,
        view,
        actor=moderator,
        action=Action.RELEASE,
        values=CLEAR_LEASE,
        extra_where=[col(ModerationItem.lease_owner) == moderator.id],
    )


async def takeover(
    session: AsyncSession,
    *,
    item_id: int,
    lead: Moderator,
    reason: str,
    version: int | None = None,
) -> Claim:
    """A lead takes another moderator's claim (live or not), with a reason, audited.

    Raises:
        NotAllowed: ``role`` for anyone but a lead; ``not_claimed`` if nobody else
            holds a claim (the lead can simply :func:`claim` it).
        DecisionConflict: the item changed since ``version``.
    """
    if not reason.strip():
        raise ValueError("a takeover needs a reason")
    view: ItemView = await load(session, item_id)
    await check(session, view, lead, Action.TAKEOVER, version)
    previous = view.item.lease_owner
    if previous is None or previous == lead.id:
        raise refuse(Refusal.NOT_CLAIMED, view, lead, Action.TAKEOVER)
    decision = await transition(
        session,
        view,
        actor=lead,
        action=Action.TAKEOVER,
        to_state=view.state,
        values=_lease_for(session, lead),
        extra_where=[col(ModerationItem.lease_owner) == previous],
        respect_lease=False,
        note=f"from {previous}: {reason}",
    )
    return await _claimed(session, item_id, decision.version)


__all__ = ["Claim", "NotAllowed", "claim", "claim_next", "release", "takeover"]
