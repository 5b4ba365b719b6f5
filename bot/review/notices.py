"""Notices to storytellers, rendered when sent, in the person's current language."""

from __future__ import annotations

from bot.core.events import Choice, Outgoing
from bot.i18n import _
from bot.i18n.formatting import isolate
from bot.review.cards import reason_labels
from moderation.notify import NoticeKind
from moderation.reasons import ReasonCode


def render_notice(
    kind: str, story_id: int, reason: str | None, locale: str, story_url: str
) -> Outgoing | None:
    """The message for one notice (call inside ``Translator.use(locale)``)."""
    number = story_id
    if kind == NoticeKind.RECEIVED:
        text = _("Your story #{number} is in the review queue. Follow it with /mystories.")
        choices: tuple[Choice, ...] = ()
    elif kind == NoticeKind.NEEDS_CHANGES:
        text = _(
            "Our team read your story #{number} and asks for a change before it can be "
            "published:\n\n{reason}\n\nYou can send a new version from /mystories."
        )
        choices = (Choice(f"mystory:revise:{story_id}", _("✏️ Revise my story")),)
    elif kind == NoticeKind.REJECTED:
        label = reason_labels().get(ReasonCode(reason), "") if reason in set(ReasonCode) else ""
        text = _(
            "We are sorry: your story #{number} will not be published ({reason}). "
            "If you think this is a mistake, you can ask us once to read it again."
        )
        reason = label
        choices = (Choice(f"mystory:appeal:{story_id}", _("🙋 Ask for another review")),)
    elif kind == NoticeKind.PUBLISHED:
        text = _("Good news: your story #{number} is published. Thank you for sharing it. 💛")
        choices = (Choice("open", _("📖 Read it"), url=story_url),)
    elif kind == NoticeKind.UNPUBLISHED:
        label = reason_labels().get(ReasonCode(reason), "") if reason in set(ReasonCode) else ""
        text = _("Your story #{number} has been taken down ({reason}).")
        reason = label
        choices = ()
    else:
        return None
    return Outgoing(
        text=text.format(number=number, reason=isolate(reason or "", locale)),
        choices=choices,
        locale=locale,
    )
