"""Why a moderation action did not happen: refused, or lost a race."""

from __future__ import annotations

import enum
from datetime import datetime

from storage.models import StoryState


class ModerationError(Exception):
    """Base of the errors below."""


class Refusal(enum.StrEnum):
    NOT_FOUND = "not_found"  # no such item (a forged or stale button)
    UNKNOWN_MODERATOR = "unknown_moderator"
    ROLE = "role"  # this role may not take this action on this item
    SELF_MODERATION = "self_moderation"
    INVALID_TRANSITION = "invalid_transition"  # the action does not apply to the state
    NOT_OWNER = "not_owner"  # a storyteller acting on someone else's story
    APPEAL_USED = "appeal_used"
    NOT_CLAIMED = "not_claimed"  # releasing a claim one does not hold
    APPROVAL_MISMATCH = "approval_mismatch"  # publishing a revision nobody approved
    INVALID_REDACTION = "invalid_redaction"


class NotAllowed(ModerationError):
    """The actor may not do this. Nothing was changed."""

    def __init__(self, refusal: Refusal, *, item_id: int | None = None) -> None:
        super().__init__(f"{refusal.value} (item {item_id})")
        self.refusal = refusal
        self.item_id = item_id


class DecisionConflict(ModerationError):
    """Someone else got there first, or holds a live claim. Nothing was changed.

    Carries what the UI needs to say "already approved by X at 12:03" (from the last
    state-changing audit event) or "claimed by X until 12:13", and to redraw the card.
    """

    def __init__(
        self,
        *,
        item_id: int,
        state: StoryState,
        version: int,
        decided_by: str | None = None,
        decided_role: str | None = None,
        decided_at: datetime | None = None,
        lease_owner: str | None = None,
        lease_expires_at: datetime | None = None,
    ) -> None:
        super().__init__(f"item {item_id} is {state.value} at version {version}")
        self.item_id = item_id
        self.state = state
        self.version = version
        self.decided_by = decided_by
        self.decided_role = decided_role
        self.decided_at = decided_at
        self.lease_owner = lease_owner
        self.lease_expires_at = lease_expires_at
