"""Need-to-know: which stories only the safety team may read.

A story screening sent to the safety queue (crisis language, a storyteller under 18), or
that a moderator escalated, is the safety team's: safety moderators and leads read it,
plain moderators see only that it exists. It stays theirs after their decision, unless
they approved it for publication (then everyone may read it: it is about to be public).

Every path into ``SAFETY_REVIEW`` sets the item's priority to ``PRIORITY_SAFETY`` and every
path into ``PENDING_REVIEW`` sets it back to normal, so state and priority together say
whose the story is, without reading the audit log.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col

from moderation.intake import PRIORITY_SAFETY
from moderation.states import SAFETY_ROLES, Role
from storage.models import ModerationItem, StoryState

# Approved by the safety team: on its way to the wall, no longer need-to-know.
_RELEASED = frozenset({StoryState.APPROVED.value, StoryState.PUBLISHED.value})


def safety_only(state: str, priority: int) -> bool:
    """Whether an item in ``state`` with ``priority`` is for the safety team's eyes only."""
    if state == StoryState.SAFETY_REVIEW.value:
        return True
    return priority >= PRIORITY_SAFETY and state not in _RELEASED


def may_read(role: Role, state: str, priority: int) -> bool:
    """Whether ``role`` may read the story of an item (text, history, files, flags)."""
    return role in SAFETY_ROLES or not safety_only(state, priority)


def safety_only_clause() -> ColumnElement[bool]:
    """:func:`safety_only` as SQL on ``moderation_item``, for queue lists and counts."""
    return or_(
        col(ModerationItem.state) == StoryState.SAFETY_REVIEW.value,
        and_(
            col(ModerationItem.priority) >= PRIORITY_SAFETY,
            col(ModerationItem.state).not_in(sorted(_RELEASED)),
        ),
    )
