"""The moderation state machine: states, actions, roles, and who may do what, where.

States are :class:`storage.models.StoryState` (the story and its queue item share them).
``TRANSITIONS`` is the table of MODERATION.md; ``PERMISSIONS`` says, for each action, from
which states it applies and which roles may take it there. Decisions check both, and the
guarded UPDATE repeats the state check in the database.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from storage.models import StoryState

__all__ = [
    "FINAL_STATES",
    "MODERATOR_ROLES",
    "PERMISSIONS",
    "REVIEW_STATES",
    "SAFETY_ROLES",
    "TARGETS",
    "TRANSITIONS",
    "Action",
    "Role",
    "StoryState",
    "allowed_from",
    "may",
]

S = StoryState


class Role(enum.StrEnum):
    """Who acts. The first three are moderators; storytellers and the system appear in
    the audit log. A partner lead never acts on the queue: they see their own campaign's
    numbers on the dashboard, nothing else."""

    MODERATOR = "moderator"
    SAFETY_MODERATOR = "safety_moderator"
    LEAD = "lead"
    STORYTELLER = "storyteller"
    SYSTEM = "system"
    PARTNER = "partner"


MODERATOR_ROLES = frozenset({Role.MODERATOR, Role.SAFETY_MODERATOR, Role.LEAD})
SAFETY_ROLES = frozenset({Role.SAFETY_MODERATOR, Role.LEAD})
LEAD_ONLY = frozenset({Role.LEAD})


class Action(enum.StrEnum):
    RECEIVE = "receive"  # a new item is created (system)
    SCREEN = "screen"  # screening routes it to a queue (system)
    RESUBMIT = "resubmit"  # the storyteller sends a new revision after NEEDS_CHANGES
    CLAIM = "claim"
    RELEASE = "release"
    TAKEOVER = "takeover"  # a lead takes another moderator's claim, with a reason
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"
    ESCALATE = "escalate"
    REDACT = "redact"
    APPEAL = "appeal"  # the storyteller, once
    REOPEN = "reopen"  # a lead reopens a rejected story
    PUBLISH = "publish"  # the outbox worker, after approval
    UNPUBLISH = "unpublish"
    WITHDRAW = "withdraw"  # the storyteller
    ERASE = "erase"  # the storyteller, a lead, or retention (system)
    # What the wall shows of a story (which files, their alt text, its title): the state
    # stays, but it is a decision about what becomes public, so it is audited.
    PRESENT = "present"


FINAL_STATES = frozenset({S.WITHDRAWN, S.ERASED})
REVIEW_STATES = frozenset({S.PENDING_REVIEW, S.SAFETY_REVIEW})
_MODERATION_STATES = frozenset(StoryState) - {S.DRAFT}
_NON_FINAL = _MODERATION_STATES - FINAL_STATES

_REVIEW_PATH: Mapping[StoryState, frozenset[StoryState]] = {
    S.RECEIVED: frozenset({S.PENDING_REVIEW, S.SAFETY_REVIEW}),
    S.PENDING_REVIEW: frozenset({S.APPROVED, S.REJECTED, S.NEEDS_CHANGES, S.SAFETY_REVIEW}),
    S.SAFETY_REVIEW: frozenset({S.APPROVED, S.REJECTED}),
    S.NEEDS_CHANGES: frozenset({S.RECEIVED}),
    # An appeal of a story that screening sent to safety goes back to the safety queue:
    # a plain moderator must never see it (fail closed).
    S.REJECTED: frozenset({S.PENDING_REVIEW, S.SAFETY_REVIEW}),
    S.APPROVED: frozenset({S.PUBLISHED}),
    S.PUBLISHED: frozenset({S.UNPUBLISHED}),
    S.UNPUBLISHED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.ERASED: frozenset(),
}
# ... plus "any non-final -> WITHDRAWN ; any -> ERASED".
TRANSITIONS: Mapping[StoryState, frozenset[StoryState]] = {
    state: targets
    | ({S.WITHDRAWN} if state in _NON_FINAL else frozenset())
    | ({S.ERASED} if state is not S.ERASED else frozenset())
    for state, targets in _REVIEW_PATH.items()
}

_ALL_MODERATORS = MODERATOR_ROLES
_STORYTELLER = frozenset({Role.STORYTELLER})
_SYSTEM = frozenset({Role.SYSTEM})

PERMISSIONS: Mapping[Action, Mapping[StoryState, frozenset[Role]]] = {
    Action.RECEIVE: {},  # creates the item: there is no from-state
    Action.SCREEN: {S.RECEIVED: _SYSTEM},
    Action.RESUBMIT: {S.NEEDS_CHANGES: _STORYTELLER},
    Action.CLAIM: {S.PENDING_REVIEW: _ALL_MODERATORS, S.SAFETY_REVIEW: SAFETY_ROLES},
    Action.RELEASE: {S.PENDING_REVIEW: _ALL_MODERATORS, S.SAFETY_REVIEW: SAFETY_ROLES},
    Action.TAKEOVER: {S.PENDING_REVIEW: LEAD_ONLY, S.SAFETY_REVIEW: LEAD_ONLY},
    Action.APPROVE: {S.PENDING_REVIEW: _ALL_MODERATORS, S.SAFETY_REVIEW: SAFETY_ROLES},
    Action.REJECT: {S.PENDING_REVIEW: _ALL_MODERATORS, S.SAFETY_REVIEW: SAFETY_ROLES},
    Action.REQUEST_CHANGES: {S.PENDING_REVIEW: _ALL_MODERATORS},
    Action.ESCALATE: {S.PENDING_REVIEW: _ALL_MODERATORS},
    Action.REDACT: {S.PENDING_REVIEW: _ALL_MODERATORS, S.SAFETY_REVIEW: SAFETY_ROLES},
    Action.APPEAL: {S.REJECTED: _STORYTELLER},
    Action.REOPEN: {S.REJECTED: LEAD_ONLY},
    Action.PUBLISH: {S.APPROVED: _SYSTEM},
    Action.UNPUBLISH: {S.PUBLISHED: SAFETY_ROLES},
    Action.WITHDRAW: dict.fromkeys(_NON_FINAL, _STORYTELLER),
    Action.ERASE: dict.fromkeys(
        _MODERATION_STATES - {S.ERASED}, frozenset({Role.STORYTELLER, Role.LEAD, Role.SYSTEM})
    ),
    Action.PRESENT: {
        S.PENDING_REVIEW: _ALL_MODERATORS,
        S.SAFETY_REVIEW: SAFETY_ROLES,
        S.APPROVED: _ALL_MODERATORS,
        S.PUBLISHED: _ALL_MODERATORS,
    },
}

# Where an action leads. ``None``: the state stays (claims, redaction, presentation) or is
# decided by screening (SCREEN, APPEAL, REOPEN: PENDING_REVIEW or SAFETY_REVIEW).
TARGETS: Mapping[Action, StoryState | None] = {
    Action.RECEIVE: S.RECEIVED,
    Action.SCREEN: None,
    Action.RESUBMIT: S.RECEIVED,
    Action.CLAIM: None,
    Action.RELEASE: None,
    Action.TAKEOVER: None,
    Action.APPROVE: S.APPROVED,
    Action.REJECT: S.REJECTED,
    Action.REQUEST_CHANGES: S.NEEDS_CHANGES,
    Action.ESCALATE: S.SAFETY_REVIEW,
    Action.REDACT: None,
    Action.APPEAL: None,
    Action.REOPEN: None,
    Action.PUBLISH: S.PUBLISHED,
    Action.UNPUBLISH: S.UNPUBLISHED,
    Action.WITHDRAW: S.WITHDRAWN,
    Action.ERASE: S.ERASED,
    Action.PRESENT: None,
}


def may(role: Role, action: Action, state: StoryState) -> bool:
    """Whether ``role`` may take ``action`` on an item in ``state``."""
    return role in PERMISSIONS[action].get(state, frozenset())


def allowed_from(action: Action, role: Role) -> frozenset[StoryState]:
    """The states from which ``role`` may take ``action`` (the guarded UPDATE's ``IN``)."""
    return frozenset(state for state, roles in PERMISSIONS[action].items() if role in roles)
