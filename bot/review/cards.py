"""What moderators see of an item: a card, the same on every surface.

The card is a neutral :class:`~bot.core.events.Outgoing` (text and buttons), so each
adapter renders it natively: Telegram inline keyboards, Slack Block Kit. Flagged spans
are marked in the text so a moderator sees *why*, without the flags ever copying text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.events import Choice, MediaKind, MediaRef, Outgoing
from bot.core.media import local_name
from bot.i18n import _, ngettext
from bot.i18n.formatting import country_name, format_count
from bot.review.service import ActionRequest, ReviewAction
from moderation.audit import last_moderator_decision
from moderation.flags import Flag
from moderation.reasons import ReasonCode
from moderation.visibility import safety_only
from storage.models import (
    ModerationItem,
    Story,
    StoryKind,
    StoryMedia,
    StoryRevision,
    StoryState,
)

CARD_TEXT_MAX = 3000  # leaves room under Telegram's 4096 for the header
# Surfaces whose sender uploads the media store's files; elsewhere cards link to them.
UPLOADS_LOCAL_MEDIA = frozenset({"telegram"})


@dataclass(frozen=True, slots=True)
class CardView:
    item_id: int
    story_id: int
    state: str
    version: int
    priority: int
    locale: str
    text: str
    original_text: str | None  # the storyteller's first revision, when redacted since
    flags: tuple[Flag, ...]
    credit_mode: str
    credit_name: str | None
    origin: str | None
    residence: str | None
    community_message: str | None
    is_adult: bool
    shared_by_guardian: bool  # a child's story, shared by their parent, guardian or teacher
    kind: str  # a StoryKind value
    media: tuple[tuple[str, MediaRef], ...]  # (platform, ref)
    files_not_received: int  # sent, but never downloaded: the storyteller was asked again
    lease_owner: str | None
    lease_expires_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    revision_number: int
    submitted_at: datetime

    @property
    def safety_only(self) -> bool:
        """For the safety team's eyes only (see :mod:`moderation.visibility`)."""
        return safety_only(self.state, self.priority)


async def load_card(session: AsyncSession, item_id: int) -> CardView | None:
    item = await session.get(ModerationItem, item_id)
    if item is None or item.id is None:
        return None
    story = await session.get(Story, item.story_id)
    if story is None or story.id is None:
        return None
    revision = await session.get(StoryRevision, item.revision_id) if item.revision_id else None
    first = (
        await session.execute(
            select(StoryRevision)
            .where(col(StoryRevision.story_id) == story.id)
            .order_by(col(StoryRevision.number))
            .limit(1)
        )
    ).scalar_one_or_none()
    media = (
        (
            await session.execute(
                select(StoryMedia)
                .where(col(StoryMedia.story_id) == story.id)
                .order_by(col(StoryMedia.position))
            )
        )
        .scalars()
        .all()
    )
    decided = await last_moderator_decision(session, item.id)
    text = revision.text if revision is not None else ""
    original = (
        first.text
        if first is not None and revision is not None and first.id != revision.id
        else None
    )
    return CardView(
        item_id=item.id,
        story_id=story.id,
        state=item.state,
        version=item.version,
        priority=item.priority,
        locale=item.locale,
        text=text,
        original_text=original,
        flags=tuple(Flag.from_json(f) for f in item.flags or []),
        credit_mode=story.credit_mode,
        credit_name=story.credit_name,
        origin=story.origin_country,
        residence=story.current_country,
        community_message=story.community_message,
        is_adult=story.is_adult,
        shared_by_guardian=story.guardian_consent_at is not None,
        kind=story.kind,
        media=tuple(
            (m.platform, MediaRef(kind=MediaKind(m.kind), ref=m.ref, mime=m.mime, size=m.size))
            for m in media
        ),
        files_not_received=story.files_not_received,
        lease_owner=item.lease_owner,
        lease_expires_at=item.lease_expires_at,
        decided_by=decided.actor if decided is not None else None,
        decided_at=decided.created_at if decided is not None else None,
        revision_number=revision.number if revision is not None else 0,
        submitted_at=story.submitted_at,
    )


def mark_flags(text: str, flags: tuple[Flag, ...]) -> str:
    """Wrap each flagged span in ⟦ ⟧ with its kind, so the card shows why it was held."""
    spans = sorted(
        ((f.start, f.end, f.kind.value) for f in flags if 0 <= f.start < f.end <= len(text)),
        reverse=True,
    )
    out = text
    last_start = len(text) + 1
    for start, end, kind in spans:
        if end > last_start:  # overlapping spans: keep the outermost mark only
            continue
        out = f"{out[:start]}⟦{out[start:end]}⟧[{kind}]{out[end:]}"
        last_start = start
    return out


def _state_label(state: str) -> str:
    return {
        StoryState.PENDING_REVIEW: _("waiting for review"),
        StoryState.SAFETY_REVIEW: _("⚠️ safety review"),
        StoryState.NEEDS_CHANGES: _("waiting for the storyteller's changes"),
        StoryState.APPROVED: _("approved"),
        StoryState.PUBLISHED: _("published"),
        StoryState.REJECTED: _("rejected"),
        StoryState.UNPUBLISHED: _("taken down"),
        StoryState.WITHDRAWN: _("withdrawn by the storyteller"),
        StoryState.ERASED: _("erased"),
        StoryState.RECEIVED: _("received"),
    }.get(StoryState(state) if state in StoryState.__members__ else StoryState.RECEIVED, state)


def card_text(view: CardView, locale: str) -> str:
    """The card's text, in the moderators' language."""
    credit = {
        "full_name": _("full name: {name}"),
        "first_name": _("first name: {name}"),
    }.get(view.credit_mode, _("anonymous"))
    kind = {
        StoryKind.HOST_COMMUNITY.value: _("Kind: a host community's story"),
        StoryKind.FILM.value: _("Kind: a short film"),
    }.get(view.kind, _("Kind: a migrant's own story"))
    lines = [
        _("Story #{number} — {state}").format(number=view.story_id, state=_state_label(view.state)),
        kind,
        _("Language: {language} · Credit: {credit}").format(
            language=view.locale, credit=credit.format(name=view.credit_name or "")
        ),
        _("From: {origin} · Living in: {residence}").format(
            origin=country_name(view.origin, locale) if view.origin else "—",
            residence=country_name(view.residence, locale) if view.residence else "—",
        ),
    ]
    if view.shared_by_guardian:
        lines.append(_("⚠️ A child's story, shared by their parent, guardian or teacher."))
    elif not view.is_adult:
        lines.append(_("⚠️ The storyteller is under 18."))
    if view.flags:
        kinds = sorted({f.kind.value for f in view.flags})
        lines.append(_("Flags: {flags}").format(flags=", ".join(kinds)))
    if view.revision_number > 1:
        lines.append(_("Showing redacted revision {number}.").format(number=view.revision_number))
    if view.state in (StoryState.PENDING_REVIEW, StoryState.SAFETY_REVIEW) and view.lease_owner:
        lines.append(_("Being reviewed by {who}.").format(who=view.lease_owner))
    elif view.decided_by and view.state not in (
        StoryState.PENDING_REVIEW,
        StoryState.SAFETY_REVIEW,
    ):
        lines.append(
            _("By {who} at {time}.").format(
                who=view.decided_by,
                time=view.decided_at.strftime("%Y-%m-%d %H:%M UTC") if view.decided_at else "",
            )
        )
    if view.state in (StoryState.ERASED,):
        return "\n".join(lines)
    body = mark_flags(view.text, view.flags)
    if len(body) > CARD_TEXT_MAX:
        body = body[:CARD_TEXT_MAX] + " …"
    lines += ["", body]
    if view.community_message:
        lines += [
            "",
            _("Message to the host community: {message}").format(message=view.community_message),
        ]
    if view.media:
        lines.append(_("Attached files: {count}").format(count=len(view.media)))
    if missing := not_received_line(view, locale):
        lines.append(missing)
    return "\n".join(lines)


def not_received_line(view: CardView, locale: str) -> str | None:
    """That files the storyteller sent never arrived (so no file on the card is broken)."""
    if view.files_not_received <= 0:
        return None
    return ngettext(
        "⚠️ {count} file could not be received; the storyteller was asked to send it again.",
        "⚠️ {count} files could not be received; the storyteller was asked to send them again.",
        view.files_not_received,
    ).format(count=format_count(view.files_not_received, locale))


def card_choices(view: CardView) -> tuple[Choice, ...]:
    """The buttons for the item's state: only ``(action, item, version)`` in their data."""

    def button(action: ReviewAction, label: str) -> Choice:
        return Choice(ActionRequest(action, view.item_id, view.version).choice_id(), label)

    state = view.state
    if state in (StoryState.PENDING_REVIEW, StoryState.SAFETY_REVIEW):
        choices = [
            button(ReviewAction.CLAIM, _("✋ Claim")),
            button(ReviewAction.APPROVE, _("✅ Approve")),
            button(ReviewAction.REJECT, _("⛔ Reject")),
            button(ReviewAction.REDACT, _("✂️ Redact")),
        ]
        if state == StoryState.PENDING_REVIEW:
            choices.append(button(ReviewAction.ESCALATE, _("🆘 Escalate")))
        return tuple(choices)
    if state == StoryState.PUBLISHED:
        return (button(ReviewAction.UNPUBLISH, _("🗑 Take down")),)
    return ()


def reason_choices(item_id: int, version: int, action: ReviewAction) -> tuple[Choice, ...]:
    """Reason buttons for a rejection or a take-down."""
    labels = reason_labels()
    return tuple(
        Choice(ActionRequest(action, item_id, version, code.value).choice_id(), labels[code])
        for code in ReasonCode
    )


def reason_labels() -> dict[ReasonCode, str]:
    return {
        ReasonCode.PERSONAL_DATA: _("Personal data"),
        ReasonCode.OFF_TOPIC: _("Off topic"),
        ReasonCode.HATEFUL: _("Hateful"),
        ReasonCode.UNSAFE: _("Unsafe"),
        ReasonCode.DUPLICATE: _("Duplicate"),
        ReasonCode.SPAM: _("Spam"),
        ReasonCode.NOT_A_STORY: _("Not a story"),
        ReasonCode.OTHER: _("Other"),
    }


def placeholder_text(view: CardView) -> str:
    """What a chat outside the safety team's sees of a safety story: that it exists.

    No text, name, country, flags or files: only the number, to find it later.
    """
    if view.state == StoryState.SAFETY_REVIEW:
        return _(
            "🔒 Story #{number} awaits the safety team. Only safety moderators and leads "
            "can read it."
        ).format(number=view.story_id)
    return _("🔒 Story #{number} is with the safety team ({state}).").format(
        number=view.story_id, state=_state_label(view.state)
    )


def render_placeholder(view: CardView, locale: str, *, edit_of: str | None) -> Outgoing:
    return Outgoing(text=placeholder_text(view), edit_of=edit_of, locale=locale)


def render_card(
    view: CardView,
    locale: str,
    *,
    platform: str,
    edit_of: str | None,
    files_url: str | None = None,
) -> Outgoing:
    """The card for ``platform``: with the story's files where the platform can show
    them (its own file ids, or the media store's files on Telegram, which uploads
    them); else a link to ``files_url`` (the dashboard item) when there are files."""
    shown = tuple(
        ref
        for p, ref in view.media
        if (platform in UPLOADS_LOCAL_MEDIA if local_name(ref) is not None else p == platform)
    )
    choices = card_choices(view)
    uploads = platform in UPLOADS_LOCAL_MEDIA  # (a URL button to localhost is refused)
    if files_url is not None and not uploads and len(shown) < len(view.media):
        label = _("📎 Open the files on the dashboard")
        choices = (*choices, Choice(f"files:{view.item_id}", label, url=files_url))
    return Outgoing(
        text=card_text(view, locale),
        choices=choices,
        media=() if edit_of else shown,
        edit_of=edit_of,
        locale=locale,
    )
