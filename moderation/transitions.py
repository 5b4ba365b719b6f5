"""The one way an item changes: check, guarded UPDATE, story state, audit event.

A transition is a single conditional UPDATE of the item
(``id``, expected ``version``, allowed from-states, and for moderators "the lease is
mine, free or expired" by the database clock) that bumps the version. Zero rows means
someone else won: nothing is written and :class:`DecisionConflict` says who. Only then
does the transition write the story's state and exactly one audit event, in the caller's
transaction.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from moderation.actors import Actor, Moderator, Storyteller
from moderation.audit import append_event, last_decision
from moderation.errors import DecisionConflict, NotAllowed, Refusal
from moderation.states import PERMISSIONS, Action, allowed_from
from storage.models import ModerationItem, Participant, Story, StoryState, utcnow
from storage.times import as_utc

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)


# --- the database clock -------------------------------------------------------------
# Lease expiry is decided by the database, inside the statement. PostgreSQL compares
# timestamptz values. SQLite has no datetime type: SQLAlchemy stores UTC datetimes as
# 'YYYY-MM-DD HH:MM:SS.ffffff', so the clock is rendered in exactly that text form
# (strftime's %f gives milliseconds; three zeros pad it to microseconds) and compares
# as text, correctly, with values written from Python.


def _sqlite_clock(modifier: str | None = None) -> ColumnElement[Any]:
    args: list[Any] = ["%Y-%m-%d %H:%M:%f", "now"]
    if modifier:
        args.append(modifier)
    return func.strftime(*args, type_=String) + literal("000")


def db_now(session: AsyncSession) -> ColumnElement[Any]:
    """The database's current time, as an SQL expression."""
    if session.get_bind().dialect.name == "postgresql":
        return func.statement_timestamp()
    return _sqlite_clock()


def db_later(session: AsyncSession, delta: timedelta) -> ColumnElement[Any]:
    """The database's current time plus ``delta``, as an SQL expression."""
    if session.get_bind().dialect.name == "postgresql":
        return func.statement_timestamp() + delta
    return _sqlite_clock(f"+{int(delta.total_seconds())} seconds")


def lease_open_to(session: AsyncSession, actor_id: str) -> ColumnElement[bool]:
    """Nobody holds a live lease on the item, or ``actor_id`` does."""
    return or_(
        col(ModerationItem.lease_owner).is_(None),
        col(ModerationItem.lease_owner) == actor_id,
        col(ModerationItem.lease_expires_at) <= db_now(session),
    )


def new_lease_token() -> str:
    return secrets.token_hex(16)


# --- loading and checking -----------------------------------------------------------


def row_id(value: int | None) -> int:
    """The id of a row read from (or flushed to) the database."""
    if value is None:
        raise RuntimeError("the row has no id: flush it first")
    return value


@dataclass(frozen=True, slots=True)
class ItemView:
    """An item as just read, with its story and the storyteller's identity key.

    ``state`` and ``version`` are copied at load time: the ORM objects may be refreshed
    by a later query in the session, and the guard must compare with what was checked.
    """

    item: ModerationItem
    story: Story
    identity_key: str | None
    state: StoryState
    version: int

    @property
    def item_id(self) -> int:
        return row_id(self.item.id)


async def item_of(session: AsyncSession, story_id: int) -> int | None:
    """The id of the story's queue item, if it has reached the queue."""
    return (
        await session.execute(
            select(col(ModerationItem.id)).where(col(ModerationItem.story_id) == story_id)
        )
    ).scalar_one_or_none()


async def load(session: AsyncSession, item_id: int) -> ItemView:
    """Read an item fresh from the database, or refuse with ``not_found``."""
    row = (
        await session.execute(
            select(ModerationItem, Story, col(Participant.identity_key))
            .join(Story, col(Story.id) == col(ModerationItem.story_id))
            .outerjoin(Participant, col(Participant.id) == col(Story.participant_id))
            .where(col(ModerationItem.id) == item_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if row is None:
        raise NotAllowed(Refusal.NOT_FOUND, item_id=item_id)
    item: ModerationItem = row[0]
    return ItemView(
        item=item,
        story=row[1],
        identity_key=row[2],
        state=StoryState(item.state),
        version=item.version,
    )


async def conflict(session: AsyncSession, item_id: int) -> DecisionConflict:
    """What the item looks like now, and who last changed its state."""
    view = await load(session, item_id)
    event = await last_decision(session, item_id)
    # Name a claim only while it is live: an expired one explains nothing.
    live_owner = (
        await session.execute(
            select(col(ModerationItem.lease_owner)).where(
                col(ModerationItem.id) == item_id,
                col(ModerationItem.lease_expires_at) > db_now(session),
            )
        )
    ).scalar_one_or_none()
    return DecisionConflict(
        item_id=item_id,
        state=view.state,
        version=view.version,
        decided_by=event.actor if event else None,
        decided_role=event.role if event else None,
        decided_at=as_utc(event.created_at) if event else None,
        lease_owner=live_owner,
        lease_expires_at=as_utc(view.item.lease_expires_at) if live_owner else None,
    )


def refuse(refusal: Refusal, view: ItemView, actor: Actor, action: Action) -> NotAllowed:
    # Refusals change nothing, so they are logged (ids only), not chained.
    log.warning(
        "moderation refused: %s item=%s actor=%s action=%s",
        refusal.value,
        view.item_id,
        actor.actor,
        action.value,
    )
    return NotAllowed(refusal, item_id=view.item_id)


async def check(
    session: AsyncSession,
    view: ItemView,
    actor: Actor,
    action: Action,
    version: int | None,
) -> None:
    """Refuse what ``actor`` may never do here; report a stale version as a conflict."""
    if isinstance(actor, Moderator) and view.identity_key in actor.identity_keys:
        raise refuse(Refusal.SELF_MODERATION, view, actor, action)
    if isinstance(actor, Storyteller) and view.story.participant_id != actor.participant_id:
        raise refuse(Refusal.NOT_OWNER, view, actor, action)
    if version is not None and version != view.version:
        raise await conflict(session, view.item_id)
    roles = PERMISSIONS[action].get(view.state)
    if roles is None:
        raise refuse(Refusal.INVALID_TRANSITION, view, actor, action)
    if actor.role not in roles:
        raise refuse(Refusal.ROLE, view, actor, action)


# --- the transition -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """A transition that happened: the item's new state and version, and its event."""

    item_id: int
    story_id: int
    action: Action
    from_state: StoryState
    to_state: StoryState
    version: int
    event_id: int


async def guarded_update(
    session: AsyncSession,
    view: ItemView,
    *,
    actor: Actor,
    action: Action,
    values: Mapping[str, Any],
    extra_where: Iterable[ColumnElement[bool]] = (),
    respect_lease: bool = True,
) -> int:
    """The conditional UPDATE; returns the new version or raises the conflict.

    ``respect_lease`` is for moderators: their action needs the lease to be theirs, free
    or expired. Storytellers, the system, and erasure are never held up by a claim.
    """
    conditions = [
        col(ModerationItem.id) == view.item_id,
        col(ModerationItem.version) == view.version,
        col(ModerationItem.state).in_([s.value for s in allowed_from(action, actor.role)]),
        *extra_where,
    ]
    if respect_lease and isinstance(actor, Moderator):
        conditions.append(lease_open_to(session, actor.id))
    new_version = (
        await session.execute(
            update(ModerationItem)
            .where(*conditions)
            .values(version=col(ModerationItem.version) + 1, updated_at=utcnow(), **values)
            .returning(col(ModerationItem.version))
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if new_version is None:
        raise await conflict(session, view.item_id)
    return int(new_version)


CLEAR_LEASE: Mapping[str, Any] = {
    "lease_owner": None,
    "lease_token": None,
    "lease_expires_at": None,
}


async def transition(
    session: AsyncSession,
    view: ItemView,
    *,
    actor: Actor,
    action: Action,
    to_state: StoryState,
    values: Mapping[str, Any] = CLEAR_LEASE,
    extra_where: Iterable[ColumnElement[bool]] = (),
    respect_lease: bool = True,
    reason_code: str | None = None,
    note: str | None = None,
    revision_hash: str | None = None,
    flag_ids: Iterable[str] = (),
) -> Decision:
    """Move an item (already :func:`check`-ed) to ``to_state``, with its audit event."""
    version = await guarded_update(
        session,
        view,
        actor=actor,
        action=action,
        values={"state": to_state.value, **values},
        extra_where=extra_where,
        respect_lease=respect_lease,
    )
    await session.execute(
        update(Story)
        .where(col(Story.id) == view.story.id)
        .values(state=to_state.value, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    event = await append_event(
        session,
        item_id=view.item_id,
        from_state=view.state,
        to_state=to_state,
        actor=actor.actor,
        role=actor.role,
        action=action,
        reason_code=reason_code,
        note=note,
        revision_hash=revision_hash,
        flag_ids=flag_ids,
    )
    return Decision(
        item_id=view.item_id,
        story_id=row_id(view.story.id),
        action=action,
        from_state=view.state,
        to_state=to_state,
        version=version,
        event_id=row_id(event.id),
    )
