"""Sending a story to the moderators: stored by intake, announced, and thanked for."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.core.events import MediaRef
from bot.core.turn import Turn
from bot.handlers.review import Review
from bot.handlers.safety import send_helplines
from bot.handlers.story_questions import story_kind, story_text
from bot.i18n import _
from moderation.intake import StoryFields, submit_story
from storage.models import CreditMode

log = logging.getLogger(__name__)

# The draft's count of files that could not be downloaded (see bot.core.media).
FILES_NOT_RECEIVED = "files_not_received"


async def submit(turn: Turn, review: Review, draft: Mapping[str, Any] | None = None) -> None:
    """Store the story and its first revision, and put it in the moderation queue.

    Args:
        turn: the event being handled.
        review: tells the moderators of the new item.
        draft: the story's fields; the conversation's draft when omitted (a form passes
            its own, so a story being told in the chat meanwhile stays as it is).
    """
    d, deps = turn.draft if draft is None else draft, turn.deps
    submitted = await submit_story(
        turn.session,
        participant_id=turn.participant_id,
        locale=turn.locale,
        fields=StoryFields(
            credit_mode=str(d.get("credit_mode", CreditMode.ANONYMOUS.value)),
            credit_name=d.get("credit_name"),
            origin_country=d.get("origin"),
            current_country=d.get("residence"),
            community_message=d.get("community_message"),
            is_adult=bool(d.get("is_adult", True)),
            consent_version=str(d.get("consent_version", deps.settings.consent_version)),
            kind=story_kind(d).value,
            guardian_consent=bool(d.get("guardian_consent")),
            files_not_received=int(d.get(FILES_NOT_RECEIVED) or 0),
        ),
        text=story_text(d),
        media=[MediaRef.from_json(item) for item in d.get("media") or []],
        platform=turn.inbound.platform,
        screener=deps.screener,
    )
    story, item, screening = submitted.story, submitted.item, submitted.screening
    assert item.id is not None
    await review.announce(turn.session, item.id)
    turn.wake_outbox()
    log.info("story submitted", extra={"story_id": story.id, "state": item.state})
    turn.say(
        _(
            "Thank you for trusting us with your story. 💛\n\n"
            "What happens next: a person on our team will read it, usually within a few "
            "days. We may remove details that could identify you. I will tell you here when "
            "it is published, or if anything needs to change. You can follow it with "
            "/mystories, and withdraw it at any time."
        )
    )
    if screening.crisis:
        send_helplines(turn, d.get("residence"))
