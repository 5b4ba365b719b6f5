from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from moderation import claims, decisions
from moderation.actors import Moderator, Roster, Storyteller
from moderation.errors import NotAllowed, Refusal
from moderation.flags import ScreeningResult
from moderation.reasons import ReasonCode
from moderation.states import (
    FINAL_STATES,
    MODERATOR_ROLES,
    PERMISSIONS,
    TARGETS,
    TRANSITIONS,
    Action,
    Role,
    may,
)
from storage.db import Database
from storage.models import StoryState
from tests.moderation.test_support import BY_ROLE, force_state, in_tx, submit_story

S = StoryState
ALL = {Role.MODERATOR, Role.SAFETY_MODERATOR, Role.LEAD}
SAFETY_AND_LEAD = {Role.SAFETY_MODERATOR, Role.LEAD}


def test_every_permitted_action_follows_the_transition_table() -> None:
    for action, by_state in PERMISSIONS.items():
        target = TARGETS[action]
        for state in by_state:
            if target is not None:
                assert target in TRANSITIONS[state], (action, state)
            elif action is Action.PRESENT:  # what the wall shows: until it is published
                assert state in (S.PENDING_REVIEW, S.SAFETY_REVIEW, S.APPROVED, S.PUBLISHED)
            else:  # claims and redaction keep the state; screening/appeal pick a queue
                assert state in (S.PENDING_REVIEW, S.SAFETY_REVIEW, S.RECEIVED, S.REJECTED)


def test_the_table_matches_the_spec() -> None:
    assert TRANSITIONS[S.SAFETY_REVIEW] == {S.APPROVED, S.REJECTED, S.WITHDRAWN, S.ERASED}
    assert TRANSITIONS[S.NEEDS_CHANGES] == {S.RECEIVED, S.WITHDRAWN, S.ERASED}
    assert TRANSITIONS[S.APPROVED] == {S.PUBLISHED, S.WITHDRAWN, S.ERASED}
    assert TRANSITIONS[S.WITHDRAWN] == {S.ERASED} and TRANSITIONS[S.ERASED] == frozenset()
    assert all(S.ERASED in TRANSITIONS[s] for s in TRANSITIONS if s is not S.ERASED)
    assert all(S.WITHDRAWN in TRANSITIONS[s] for s in TRANSITIONS if s not in FINAL_STATES)


def test_a_moderator_needs_a_moderator_role() -> None:
    with pytest.raises(ValueError):
        Moderator(id="x", role=Role.STORYTELLER)
    with pytest.raises(ValueError):
        Moderator(id="x" * 55, role=Role.LEAD)


def test_an_unknown_moderator_is_refused() -> None:
    roster = Roster({"telegram:42": BY_ROLE[Role.LEAD]})
    assert roster.resolve("telegram", "42").role is Role.LEAD
    with pytest.raises(NotAllowed) as caught:
        roster.resolve("telegram", "43")
    assert caught.value.refusal is Refusal.UNKNOWN_MODERATOR


async def _no_flags(text: str, *, locale: str, is_adult: bool) -> ScreeningResult:
    return ScreeningResult()


Call = Callable[[AsyncSession, int, int, Moderator], Awaitable[Any]]

ACTIONS: dict[str, tuple[Action, Call]] = {
    "approve": (
        Action.APPROVE,
        lambda s, i, v, m: decisions.approve(s, item_id=i, version=v, moderator=m),
    ),
    "reject": (
        Action.REJECT,
        lambda s, i, v, m: decisions.reject(
            s, item_id=i, version=v, moderator=m, reason=ReasonCode.OTHER
        ),
    ),
    "needs_changes": (
        Action.REQUEST_CHANGES,
        lambda s, i, v, m: decisions.needs_changes(
            s, item_id=i, version=v, moderator=m, reason="x"
        ),
    ),
    "escalate": (
        Action.ESCALATE,
        lambda s, i, v, m: decisions.escalate(s, item_id=i, version=v, moderator=m),
    ),
    "redact": (
        Action.REDACT,
        lambda s, i, v, m: decisions.redact(
            s, item_id=i, version=v, moderator=m, screen=_no_flags, spans=[(0, 6)]
        ),
    ),
    "claim": (
        Action.CLAIM,
        lambda s, i, v, m: claims.claim(s, item_id=i, version=v, moderator=m),
    ),
    "reopen": (
        Action.REOPEN,
        lambda s, i, v, m: decisions.reopen(s, item_id=i, version=v, lead=m, note="x"),
    ),
    "unpublish": (
        Action.UNPUBLISH,
        lambda s, i, v, m: decisions.unpublish(
            s, item_id=i, version=v, moderator=m, reason=ReasonCode.OTHER
        ),
    ),
    "erase": (
        Action.ERASE,
        lambda s, i, v, m: decisions.erase(s, item_id=i, version=v, actor=m),
    ),
}

# Who may do what, written out as the spec says it (not derived from PERMISSIONS).
EXPECTED: dict[tuple[str, StoryState], set[Role]] = {
    ("approve", S.PENDING_REVIEW): ALL,
    ("approve", S.SAFETY_REVIEW): SAFETY_AND_LEAD,
    ("reject", S.PENDING_REVIEW): ALL,
    ("reject", S.SAFETY_REVIEW): SAFETY_AND_LEAD,
    ("needs_changes", S.PENDING_REVIEW): ALL,
    ("needs_changes", S.SAFETY_REVIEW): set(),
    ("escalate", S.PENDING_REVIEW): ALL,
    ("escalate", S.SAFETY_REVIEW): set(),
    ("redact", S.PENDING_REVIEW): ALL,
    ("redact", S.SAFETY_REVIEW): SAFETY_AND_LEAD,
    ("claim", S.PENDING_REVIEW): ALL,
    ("claim", S.SAFETY_REVIEW): SAFETY_AND_LEAD,
    ("reopen", S.REJECTED): {Role.LEAD},
    ("approve", S.REJECTED): set(),
    ("unpublish", S.PUBLISHED): SAFETY_AND_LEAD,
    ("approve", S.PUBLISHED): set(),
    ("erase", S.PENDING_REVIEW): {Role.LEAD},
}


@pytest.mark.parametrize("role", sorted(MODERATOR_ROLES))
@pytest.mark.parametrize(("name", "state"), sorted(EXPECTED))
async def test_role_matrix(db: Database, name: str, state: StoryState, role: Role) -> None:
    action, call = ACTIONS[name]
    assert may(role, action, state) == (role in EXPECTED[name, state])
    item, _ = await submit_story(db)
    assert item.id is not None
    item_id = item.id
    version = await force_state(db, item_id, state)
    moderator = BY_ROLE[role]
    if role in EXPECTED[name, state]:
        await in_tx(db, lambda s: call(s, item_id, version, moderator))
    else:
        with pytest.raises(NotAllowed) as caught:
            await in_tx(db, lambda s: call(s, item_id, version, moderator))
        expected = Refusal.ROLE if PERMISSIONS[action].get(state) else Refusal.INVALID_TRANSITION
        assert caught.value.refusal is expected


@pytest.mark.parametrize("state", sorted(set(StoryState) - {S.DRAFT, S.WITHDRAWN, S.ERASED}))
async def test_a_storyteller_may_withdraw_from_any_non_final_state(
    db: Database, state: StoryState
) -> None:
    item, story = await submit_story(db)
    assert item.id is not None and story.participant_id is not None
    item_id, teller = item.id, Storyteller(story.participant_id)
    await force_state(db, item_id, state)
    done = await in_tx(db, lambda s: decisions.withdraw(s, item_id=item_id, storyteller=teller))
    assert done.to_state is S.WITHDRAWN
    with pytest.raises(NotAllowed):
        await in_tx(db, lambda s: decisions.withdraw(s, item_id=item_id, storyteller=teller))
