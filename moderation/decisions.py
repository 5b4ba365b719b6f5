"""Moderation decisions, each one guarded transition in the caller's transaction.

Every function reloads the item (never trusting a button's payload beyond its id and
version), checks who acts, and makes one conditional UPDATE that clears or extends the
lease and bumps the version. In the same transaction it writes exactly one audit event and
its outbox rows (a notice to the storyteller, publication jobs). Losing a race raises
:class:`~moderation.errors.DecisionConflict`; an action the actor may not take raises
:class:`~moderation.errors.NotAllowed`. Neither writes anything.

One decision per transaction: the audit chain's lock is taken last, so decisions on
different items never wait on each other in a cycle.

Audit events outlive erasure and are never updated, so they hold codes, hashes and ids,
and a ``note`` only where it is a remark about the process (a takeover's reason, a
lead's reopening). Text written *to the storyteller* about their story (what to change)
travels in the outbox, which erasure empties, never in the audit log. Callers must keep
notes free of story content.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from moderation.actors import SYSTEM, Actor, Moderator, Storyteller, System
from moderation.errors import NotAllowed, Refusal
from moderation.flags import Flag, FlagAction, FlagKind, ScreeningResult
from moderation.intake import PRIORITY_NORMAL, PRIORITY_SAFETY, needs_safety_review
from moderation.notify import (
    FEED,
    Channel,
    NoticeKind,
    cancel_publication,
    enqueue_publication,
    notify_storyteller,
    scrub_messages,
)
from moderation.reasons import ReasonCode
from moderation.revisions import apply_spans, content_hash, screened_text
from moderation.states import SAFETY_ROLES, TARGETS, Action
from moderation.transitions import (
    CLEAR_LEASE,
    LEASE,
    Decision,
    ItemView,
    check,
    db_later,
    load,
    new_lease_token,
    refuse,
    row_id,
    transition,
)
from storage.models import (
    ModerationEvent,
    ModerationItem,
    Story,
    StoryMedia,
    StoryRevision,
    StoryState,
)
from storage.thanks import delete_story_thanks

log = logging.getLogger(__name__)

REDACTION_MARK = "[…]"


class ScreenFn(Protocol):
    """Screening, as ``Screener.screen``: injected so redactions are screened again."""

    def __call__(self, text: str, *, locale: str, is_adult: bool) -> Awaitable[ScreeningResult]:
        raise NotImplementedError


async def _current_revision(session: AsyncSession, view: ItemView) -> StoryRevision:
    revision = await session.get(StoryRevision, view.item.revision_id)
    if revision is None:
        raise RuntimeError(f"item {view.item_id} has no current revision")
    return revision


async def _notify(
    session: AsyncSession,
    view: ItemView,
    decision: Decision,
    kind: NoticeKind,
    reason: str | None = None,
) -> None:
    await notify_storyteller(
        session,
        story_id=decision.story_id,
        participant_id=view.story.participant_id,
        version=decision.version,
        kind=kind,
        reason=reason,
    )


async def _decide(
    session: AsyncSession,
    *,
    item_id: int,
    version: int | None,
    actor: Actor,
    action: Action,
    notice: NoticeKind | None = None,
    notice_reason: str | None = None,
    **changes: Any,
) -> Decision:
    """Load, check, transition to the action's target state, and notify if asked."""
    target = TARGETS[action]
    if target is None:
        raise ValueError(f"{action} has no fixed target state")
    view = await load(session, item_id)
    await check(session, view, actor, action, version)
    decision = await transition(
        session, view, actor=actor, action=action, to_state=target, **changes
    )
    if notice is not None:
        await _notify(session, view, decision, notice, notice_reason)
    return decision


async def approve(
    session: AsyncSession,
    *,
    item_id: int,
    version: int,
    moderator: Moderator,
    channels: tuple[Channel, ...] = (FEED,),
    note: str | None = None,
) -> Decision:
    """Approve the item's current revision, bound by its content hash, and queue its
    publication on each of ``channels``."""
    view = await load(session, item_id)
    await check(session, view, moderator, Action.APPROVE, version)
    revision = await _current_revision(session, view)
    decision = await transition(
        session,
        view,
        actor=moderator,
        action=Action.APPROVE,
        to_state=StoryState.APPROVED,
        extra_where=[col(ModerationItem.revision_id) == revision.id],
        note=note,
        revision_hash=revision.content_hash,
    )
    await enqueue_publication(
        session,
        story_id=decision.story_id,
        item_id=item_id,
        revision_id=row_id(revision.id),
        content_hash=revision.content_hash,
        channels=channels,
    )
    return decision


async def reject(
    session: AsyncSession,
    *,
    item_id: int,
    version: int,
    moderator: Moderator,
    reason: ReasonCode,
    note: str | None = None,
) -> Decision:
    """Reject the story; the storyteller is told the reason code (and may appeal once)."""
    return await _decide(
        session,
        item_id=item_id,
        version=version,
        actor=moderator,
        action=Action.REJECT,
        notice=NoticeKind.REJECTED,
        notice_reason=reason.value,
        reason_code=reason.value,
        note=note,
    )


async def needs_changes(
    session: AsyncSession,
    *,
    item_id: int,
    version: int,
    moderator: Moderator,
    reason: str,
    reason_code: ReasonCode | None = None,
) -> Decision:
    """Ask the storyteller for a change; ``reason`` is sent to them as written.

    ``reason`` may quote the story, so it goes only to the (erasable) outbox; the audit
    event keeps ``reason_code``.

    Their new revision comes back through :func:`moderation.intake.receive_story`.
    """
    return await _decide(
        session,
        item_id=item_id,
        version=version,
        actor=moderator,
        action=Action.REQUEST_CHANGES,
        notice=NoticeKind.NEEDS_CHANGES,
        notice_reason=reason,
        reason_code=reason_code.value if reason_code else None,
    )


async def escalate(
    session: AsyncSession,
    *,
    item_id: int,
    version: int,
    moderator: Moderator,
    note: str | None = None,
) -> Decision:
    """Send the item to the safety queue, at high priority."""
    return await _decide(
        session,
        item_id=item_id,
        version=version,
        actor=moderator,
        action=Action.ESCALATE,
        values={**CLEAR_LEASE, "priority": PRIORITY_SAFETY},
        note=note,
    )


@dataclass(frozen=True, slots=True)
class Redaction:
    """A redaction that happened: the new current revision and what screening found."""

    decision: Decision
    revision_id: int
    screening: ScreeningResult


async def _screen(screen: ScreenFn, text: str, story: Story) -> ScreeningResult:
    try:
        return await screen(text, locale=story.locale, is_adult=story.is_adult)
    except Exception:
        # Fail closed: a detector failure holds the item for a human, as at intake.
        log.exception("screening failed on a redacted revision")
        unavailable = Flag(
            id="screening_unavailable",
            kind=FlagKind.SCREENING_UNAVAILABLE,
            action=FlagAction.HOLD,
            start=0,
            end=0,
        )
        return ScreeningResult(flags=(unavailable,))


async def redact(
    session: AsyncSession,
    *,
    item_id: int,
    version: int,
    moderator: Moderator,
    screen: ScreenFn,
    text: str | None = None,
    spans: Sequence[tuple[int, int]] = (),
    replacement: str = REDACTION_MARK,
    max_chars: int | None = None,
) -> Redaction:
    """Make a moderator's revision the current one, and screen it again.

    Give either the whole new ``text`` or ``spans`` (character offsets into the current
    revision) to replace with ``replacement``. The earlier revisions stay, for moderators
    only. The moderator keeps (or takes) the lease; if screening now asks for it, the item
    moves to the safety queue. With ``max_chars``, a redaction that would make the text
    longer than that (and than it was) is refused.
    """
    view = await load(session, item_id)
    await check(session, view, moderator, Action.REDACT, version)
    current = await _current_revision(session, view)
    try:
        new_text = text if text is not None else apply_spans(current.text, spans, replacement)
    except ValueError:
        raise refuse(Refusal.INVALID_REDACTION, view, moderator, Action.REDACT) from None
    if not new_text.strip() or new_text == current.text:
        raise refuse(Refusal.INVALID_REDACTION, view, moderator, Action.REDACT)
    # Marks replacing short spans could lengthen a story at its limit: never past it.
    if max_chars is not None and len(new_text) > max(max_chars, len(current.text)):
        raise refuse(Refusal.INVALID_REDACTION, view, moderator, Action.REDACT)

    screening = await _screen(
        screen, screened_text(new_text, view.story.community_message), view.story
    )
    safety = view.state is StoryState.SAFETY_REVIEW or needs_safety_review(view.story, screening)
    new_hash = content_hash(new_text)
    # Every action extends the lease, unless the item just left this moderator's reach.
    keeps_lease = not safety or moderator.role in SAFETY_ROLES
    lease = {
        "lease_owner": moderator.id,
        "lease_token": new_lease_token(),
        "lease_expires_at": db_later(session, LEASE),
    }
    decision = await transition(
        session,
        view,
        actor=moderator,
        action=Action.REDACT,
        to_state=StoryState.SAFETY_REVIEW if safety else StoryState.PENDING_REVIEW,
        values={
            "flags": [flag.to_json() for flag in screening.flags],
            "priority": PRIORITY_SAFETY if safety else PRIORITY_NORMAL,
            **(lease if keeps_lease else CLEAR_LEASE),
        },
        revision_hash=new_hash,
        flag_ids=[flag.id for flag in screening.flags],
    )
    number = (
        await session.execute(
            select(func.max(col(StoryRevision.number))).where(
                col(StoryRevision.story_id) == decision.story_id
            )
        )
    ).scalar_one()
    revision = StoryRevision(
        story_id=decision.story_id,
        number=int(number or 0) + 1,
        text=new_text,
        content_hash=new_hash,
        author=f"moderator:{moderator.id}",
    )
    session.add(revision)
    await session.flush()
    await session.execute(
        update(ModerationItem)
        .where(col(ModerationItem.id) == item_id)
        .values(revision_id=revision.id)
        .execution_options(synchronize_session=False)
    )
    return Redaction(decision=decision, revision_id=row_id(revision.id), screening=screening)


def _back_to_review(view: ItemView) -> StoryState:
    """Where an appealed or reopened story goes: back to safety if it came from there."""
    safety_flag = any(flag.get("action") == FlagAction.SAFETY.value for flag in view.item.flags)
    if safety_flag or not view.story.is_adult:
        return StoryState.SAFETY_REVIEW
    return StoryState.PENDING_REVIEW


async def appeal(
    session: AsyncSession,
    *,
    item_id: int,
    storyteller: Storyteller,
    note: str | None = None,
) -> Decision:
    """The storyteller asks once for a rejected story to be read again."""
    view = await load(session, item_id)
    await check(session, view, storyteller, Action.APPEAL, None)
    if view.item.appealed:
        raise refuse(Refusal.APPEAL_USED, view, storyteller, Action.APPEAL)
    target = _back_to_review(view)
    return await transition(
        session,
        view,
        actor=storyteller,
        action=Action.APPEAL,
        to_state=target,
        values={
            **CLEAR_LEASE,
            "appealed": True,
            "priority": PRIORITY_SAFETY if target is StoryState.SAFETY_REVIEW else PRIORITY_NORMAL,
        },
        extra_where=[col(ModerationItem.appealed).is_(False)],
        note=note,
    )


async def reopen(
    session: AsyncSession,
    *,
    item_id: int,
    version: int,
    lead: Moderator,
    note: str,
) -> Decision:
    """A lead sends a rejected story back to review, with a reason."""
    view = await load(session, item_id)
    await check(session, view, lead, Action.REOPEN, version)
    target = _back_to_review(view)
    return await transition(
        session,
        view,
        actor=lead,
        action=Action.REOPEN,
        to_state=target,
        values={
            **CLEAR_LEASE,
            "priority": PRIORITY_SAFETY if target is StoryState.SAFETY_REVIEW else PRIORITY_NORMAL,
        },
        note=note,
    )


async def unpublish(
    session: AsyncSession,
    *,
    item_id: int,
    version: int,
    moderator: Moderator,
    reason: ReasonCode,
    note: str | None = None,
) -> Decision:
    """Take a published story down (safety moderators and leads)."""
    decision = await _decide(
        session,
        item_id=item_id,
        version=version,
        actor=moderator,
        action=Action.UNPUBLISH,
        notice=NoticeKind.UNPUBLISHED,
        notice_reason=reason.value,
        reason_code=reason.value,
        note=note,
    )
    await cancel_publication(session, story_id=decision.story_id)
    return decision


async def withdraw(
    session: AsyncSession,
    *,
    item_id: int,
    storyteller: Storyteller,
    version: int | None = None,
) -> Decision:
    """The storyteller takes their story back, from any state that is not final."""
    decision = await _decide(
        session, item_id=item_id, version=version, actor=storyteller, action=Action.WITHDRAW
    )
    await cancel_publication(session, story_id=decision.story_id)
    return decision


async def erase_story_content(session: AsyncSession, story_id: int) -> None:
    """Remove every piece of a story's text; the audit events stay.

    Revisions keep their number and content hash (the audit log refers to them) but lose
    their text; media references are deleted; credit, message, countries and title are cleared;
    outbox payloads about the story are emptied; the thanks readers sent it are deleted.
    """
    await session.execute(
        update(StoryRevision)
        .where(col(StoryRevision.story_id) == story_id)
        .values(text="")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(StoryMedia)
        .where(col(StoryMedia.story_id) == story_id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Story)
        .where(col(Story.id) == story_id)
        .values(
            credit_name=None,
            community_message=None,
            origin_country=None,
            current_country=None,
            title=None,  # a moderator's title may quote the story
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(ModerationItem)
        .where(col(ModerationItem.story_id) == story_id)
        .values(flags=[])
        .execution_options(synchronize_session=False)
    )
    await scrub_messages(session, story_id=story_id)
    await delete_story_thanks(session, story_id)  # readers' words to the storyteller


async def erase(
    session: AsyncSession,
    *,
    item_id: int,
    actor: Storyteller | Moderator | System = SYSTEM,
    version: int | None = None,
    note: str | None = None,
) -> Decision:
    """Erase a story (the storyteller, a lead, or retention): ERASED, and no text left.

    A claim never holds erasure up.
    """
    decision = await _decide(
        session,
        item_id=item_id,
        version=version,
        actor=actor,
        action=Action.ERASE,
        respect_lease=False,
        note=note,
    )
    await erase_story_content(session, decision.story_id)
    return decision


async def mark_published(
    session: AsyncSession,
    *,
    item_id: int,
    revision_id: int,
) -> Decision | None:
    """The publishing worker: APPROVED -> PUBLISHED, before it sends ``revision_id``.

    Publication needs an approval bound to exactly this revision: the newest approval's
    content hash must equal the hash of the revision's text as it is now.

    Returns:
        The decision, or ``None`` if the story is already published with this revision
        (a second channel's job).

    Raises:
        NotAllowed: not approved (withdrawn, erased, unpublished...), or the revision is
            not the one approved. The job must be dropped.
    """
    view = await load(session, item_id)
    if view.state is StoryState.PUBLISHED and view.item.revision_id == revision_id:
        return None
    await check(session, view, SYSTEM, Action.PUBLISH, None)
    revision = await _current_revision(session, view)
    approved_hash = (
        await session.execute(
            select(col(ModerationEvent.revision_hash))
            .where(
                col(ModerationEvent.item_id) == item_id,
                col(ModerationEvent.action) == Action.APPROVE.value,
            )
            .order_by(col(ModerationEvent.id).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if (
        revision.id != revision_id
        or approved_hash is None
        or approved_hash != revision.content_hash
        or content_hash(revision.text) != approved_hash
    ):
        raise refuse(Refusal.APPROVAL_MISMATCH, view, SYSTEM, Action.PUBLISH)
    decision = await transition(
        session,
        view,
        actor=SYSTEM,
        action=Action.PUBLISH,
        to_state=StoryState.PUBLISHED,
        extra_where=[col(ModerationItem.revision_id) == revision_id],
        revision_hash=approved_hash,
    )
    await _notify(session, view, decision, NoticeKind.PUBLISHED)
    return decision


__all__ = [
    "REDACTION_MARK",
    "Decision",
    "NotAllowed",
    "Redaction",
    "ScreenFn",
    "appeal",
    "approve",
    "erase",
    "erase_story_content",
    "escalate",
    "mark_published",
    "needs_changes",
    "redact",
    "reject",
    "reopen",
    "unpublish",
    "withdraw",
]
