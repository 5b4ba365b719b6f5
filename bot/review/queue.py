"""What the dashboard lists of the moderation queue: a page of items, the languages
they are in, and one item's timeline.

Reads only; every decision goes through :class:`~bot.review.service.ReviewService`.
Need-to-know holds here too: for a reader outside the safety team, the safety team's
stories are not listed, not searched, not even by number, and their languages do not
count.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.i18n import N_
from moderation.states import SAFETY_ROLES, Role
from moderation.visibility import safety_only_clause
from storage.models import ModerationEvent, ModerationItem, StoryRevision, StoryState

PAGE_SIZE = 50
EXCERPT_CHARS = 160
NUMBER_DIGITS_MAX = 11  # a longer run of digits is searched as text, not as a number

S = StoryState
# Waiting queues are worked oldest first; decided ones are browsed newest first.
OLDEST_FIRST = frozenset({S.SAFETY_REVIEW, S.PENDING_REVIEW, S.NEEDS_CHANGES, S.APPROVED})


# Each state's name for moderators (the dashboard, the alerts and the digest).
STATE_LABELS: dict[str, str] = {
    S.RECEIVED: N_("Received"),
    S.SAFETY_REVIEW: N_("Safety review"),
    S.PENDING_REVIEW: N_("Waiting for review"),
    S.NEEDS_CHANGES: N_("Waiting for changes"),
    S.APPROVED: N_("Approved"),
    S.PUBLISHED: N_("Published"),
    S.REJECTED: N_("Rejected"),
    S.UNPUBLISHED: N_("Taken down"),
    S.WITHDRAWN: N_("Withdrawn"),
    S.ERASED: N_("Erased"),
}


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """An item of a queue page and the beginning of its current text."""

    item: ModerationItem
    excerpt: str


@dataclass(frozen=True, slots=True)
class QueuePage:
    entries: list[QueueEntry]
    more: bool  # a next page has items


async def queue_page(
    session: AsyncSession,
    *,
    reader: Role,
    state: StoryState | None,
    language: str = "",
    query: str = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the queue as ``reader`` may see it.

    Args:
        session: the caller's transaction.
        reader: the reader's role (need-to-know).
        state: only items in this state; None for every state (a search).
        language: only items in this locale; empty for all.
        query: a story or item number (``#12`` or ``12``), else words in the current text.
        page: from 1.
        page_size: items per page.
    """
    stmt = select(ModerationItem, func.substr(col(StoryRevision.text), 1, EXCERPT_CHARS)).outerjoin(
        StoryRevision, col(StoryRevision.id) == col(ModerationItem.revision_id)
    )
    if reader not in SAFETY_ROLES:
        stmt = stmt.where(~safety_only_clause())
    if state is not None:
        stmt = stmt.where(col(ModerationItem.state) == state.value)
    if language:
        stmt = stmt.where(col(ModerationItem.locale) == language)
    number = query.lstrip("#")
    if number.isdigit() and len(number) <= NUMBER_DIGITS_MAX:
        stmt = stmt.where(
            or_(
                col(ModerationItem.id) == int(number),
                col(ModerationItem.story_id) == int(number),
            )
        )
    elif query:
        stmt = stmt.where(col(StoryRevision.text).ilike(f"%{_like_escape(query)}%", escape="\\"))
    if state in OLDEST_FIRST:
        stmt = stmt.order_by(col(ModerationItem.priority).desc(), col(ModerationItem.created_at))
    else:
        stmt = stmt.order_by(col(ModerationItem.updated_at).desc())
    stmt = stmt.order_by(col(ModerationItem.id)).limit(page_size + 1)
    stmt = stmt.offset((max(page, 1) - 1) * page_size)
    found = (await session.execute(stmt)).all()
    entries = [QueueEntry(item, str(excerpt or "")) for item, excerpt in found[:page_size]]
    return QueuePage(entries, len(found) > page_size)


async def queue_languages(session: AsyncSession, *, reader: Role) -> list[str]:
    """The locales of the items ``reader`` may see, sorted."""
    locales = select(col(ModerationItem.locale)).distinct()
    if reader not in SAFETY_ROLES:
        locales = locales.where(~safety_only_clause())
    found = await session.execute(locales.order_by(col(ModerationItem.locale)))
    return list(found.scalars().all())


async def timeline(session: AsyncSession, item_id: int) -> list[ModerationEvent]:
    """Everything that happened to an item, oldest first (the audit log's events).

    Whether the reader may see it is the caller's to check (it is the item's story's).
    """
    found = await session.execute(
        select(ModerationEvent)
        .where(col(ModerationEvent.item_id) == item_id)
        .order_by(col(ModerationEvent.id))
    )
    return list(found.scalars().all())


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
