"""/privacy: what we keep, a copy of your data, and erasing it."""

from __future__ import annotations

import json

from sqlalchemy import delete, select
from sqlmodel import col

from bot.core.events import Choice
from bot.core.turn import Turn
from bot.i18n import _
from bot.review.service import ReviewService
from moderation.storyteller import erase_stories
from storage import pledges
from storage.models import Pledge, PledgeState, Story, StoryRevision, WebChatMessage


def privacy_text() -> str:
    return _(
        "Your privacy:\n"
        "• We keep your stories, your pledge, your language and how you want to be "
        "credited. Your chat account is stored as an anonymous code, not as your name.\n"
        "• A person reads every story before it is published, credited exactly as you chose.\n"
        "• You can ask for a copy of your data, withdraw a story (/mystories), withdraw "
        "your pledge (/unpledge), or erase everything."
    )


def show_privacy(turn: Turn) -> None:
    turn.say(
        privacy_text(),
        (
            Choice("privacy:export", _("📄 Send me a copy of my data")),
            Choice("privacy:erase", _("🗑 Erase all my data")),
        ),
    )


async def on_privacy_choice(turn: Turn, value: str) -> None:
    if value == "export":
        turn.say(_("Here is all the data we keep about you:") + "\n\n" + await export_data(turn))
    elif value == "erase":
        turn.say(
            _(
                "This erases your stories (published ones are taken down), your pledge and "
                "this conversation. It cannot be undone. Are you sure?"
            ),
            (
                Choice("privacy:erase_confirmed", _("Yes, erase everything")),
                Choice("menu:privacy", _("No, keep my data")),
            ),
        )
    elif value == "erase_confirmed":
        await erase_everything(turn)
        turn.say(_("Done. Your data has been erased. Thank you for being here."))
    else:
        turn.say(_("That button is no longer active."))


async def export_data(turn: Turn) -> str:
    session, participant = turn.session, turn.participant
    stories = (
        (
            await session.execute(
                select(Story).where(col(Story.participant_id) == turn.participant_id)
            )
        )
        .scalars()
        .all()
    )
    story_data = []
    for story in stories:
        revisions = (
            (
                await session.execute(
                    select(StoryRevision)
                    .where(
                        col(StoryRevision.story_id) == story.id,
                        col(StoryRevision.author) == "storyteller",
                    )
                    .order_by(col(StoryRevision.number))
                )
            )
            .scalars()
            .all()
        )
        story_data.append(
            {
                "id": story.id,
                "status": story.state,
                "submitted_at": story.submitted_at.isoformat(),
                "credit": story.credit_mode,
                "credit_name": story.credit_name,
                "from": story.origin_country,
                "living_in": story.current_country,
                "message": story.community_message,
                "text": [r.text for r in revisions],
            }
        )
    pledge_rows = (
        (
            await session.execute(
                select(Pledge).where(col(Pledge.identity_key) == participant.identity_key)
            )
        )
        .scalars()
        .all()
    )
    data = {
        "platform": participant.platform,
        "language": participant.locale,
        "consent_version": participant.consent_version,
        "consent_at": participant.consent_at.isoformat() if participant.consent_at else None,
        "stories": story_data,
        "pledges": [
            {
                "campaign": p.campaign_id,
                "state": p.state,
                "name": p.display_name,
                "country": p.country,
                "at": p.created_at.isoformat(),
            }
            for p in pledge_rows
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=1)


async def erase_everything(turn: Turn) -> None:
    session, participant, db = turn.session, turn.participant, turn.deps.db
    story_ids = (
        (
            await session.execute(
                select(col(Story.id)).where(col(Story.participant_id) == turn.participant_id)
            )
        )
        .scalars()
        .all()
    )
    await erase_stories(session, participant_id=turn.participant_id)
    review = ReviewService(turn.deps)
    for story_id in story_ids:
        if story_id is not None:
            await review.story_changed(session, story_id)
    for row in (
        (
            await session.execute(
                select(Pledge).where(col(Pledge.identity_key) == participant.identity_key)
            )
        )
        .scalars()
        .all()
    ):
        if row.state == PledgeState.CONFIRMED.value:
            await pledges.withdraw_pledge(
                session, db, campaign_id=row.campaign_id, identity_key=participant.identity_key
            )
        await session.delete(row)
    await session.execute(
        delete(WebChatMessage).where(col(WebChatMessage.participant_id) == turn.participant_id)
    )
    participant.display_name = None
    participant.consent_version = None
    participant.consent_at = None
    participant.referral = None
    turn.flow, turn.step, turn.history, turn.draft = None, None, [], {}
