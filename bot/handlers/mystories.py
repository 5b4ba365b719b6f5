"""/mystories: each story's status, and withdrawing one."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from bot.core.dialog import DialogEngine
from bot.core.events import Choice
from bot.core.turn import Turn
from bot.handlers import revise
from bot.handlers.review import Review
from bot.handlers.thanks import switch_choice
from bot.i18n import _
from bot.i18n.formatting import format_day
from moderation.storyteller import appeal_story, withdraw_story
from storage.models import Story, StoryState

FINAL = {StoryState.WITHDRAWN, StoryState.ERASED, StoryState.REJECTED, StoryState.UNPUBLISHED}


def status_label(state: str) -> str:
    labels = {
        StoryState.RECEIVED: _("Received"),
        StoryState.PENDING_REVIEW: _("Waiting for review"),
        StoryState.SAFETY_REVIEW: _("Being read by our safety team"),
        StoryState.NEEDS_CHANGES: _("Needs a change from you"),
        StoryState.APPROVED: _("Approved, about to be published"),
        StoryState.REJECTED: _("Not published"),
        StoryState.PUBLISHED: _("Published"),
        StoryState.UNPUBLISHED: _("No longer published"),
        StoryState.WITHDRAWN: _("Withdrawn by you"),
        StoryState.ERASED: _("Erased"),
    }
    return labels.get(StoryState(state), state) if state in StoryState.__members__ else state


async def my_stories(turn: Turn) -> None:
    stories = (
        (
            await turn.session.execute(
                select(Story)
                .where(col(Story.participant_id) == turn.participant_id)
                .order_by(col(Story.submitted_at))
            )
        )
        .scalars()
        .all()
    )
    if not stories:
        turn.say(
            _("You have not shared a story yet."),
            (Choice("menu:story", _("📖 Share your story")),),
        )
        return
    lines = [_("Your stories:")]
    choices: list[Choice] = []
    for story in stories:
        lines.append(
            _("Story #{number}, sent {date}: {status}").format(
                number=story.id,
                date=format_day(story.submitted_at, turn.locale),
                status=status_label(story.state),
            )
        )
        if StoryState(story.state) not in FINAL:
            choices.append(
                Choice(
                    f"mystory:withdraw:{story.id}",
                    _("Withdraw story #{number}").format(number=story.id),
                )
            )
    choices.append(switch_choice(turn.participant.thanks_enabled))  # readers' thanks
    turn.say("\n".join(lines), choices)


async def on_story_choice(
    turn: Turn, value: str, review: Review, engine: DialogEngine | None = None
) -> None:
    action, _sep, raw_id = value.partition(":")
    if action == "withdraw" and raw_id.isdigit():
        turn.say(
            _(
                "Withdraw story #{number}? It will not be published, "
                "and if it already is, it will be taken down."
            ).format(number=raw_id),
            (
                Choice(f"mystory:confirm:{raw_id}", _("Yes, withdraw it")),
                Choice("menu:mystories", _("No, keep it")),
            ),
        )
        return
    if action == "confirm" and raw_id.isdigit():
        done = await withdraw_story(
            turn.session, story_id=int(raw_id), participant_id=turn.participant_id
        )
        if done:
            await review.story_changed(turn.session, int(raw_id))
            turn.wake_outbox()
            turn.say(
                _("Story #{number} is withdrawn. It will not be published.").format(number=raw_id)
            )
        else:
            turn.say(
                _(
                    "That story can no longer be withdrawn. "
                    "If you want it gone, you can erase your data in /privacy."
                )
            )
        return
    if action == "appeal" and raw_id.isdigit():
        if await appeal_story(
            turn.session, story_id=int(raw_id), participant_id=turn.participant_id
        ):
            await review.story_changed(turn.session, int(raw_id))
            turn.wake_outbox()
            turn.say(
                _("Thank you. Someone else from our team will read story #{number} again.").format(
                    number=raw_id
                )
            )
        else:
            turn.say(_("Story #{number} cannot be reviewed again.").format(number=raw_id))
        return
    if action == "revise" and raw_id.isdigit() and engine is not None:
        story = await turn.session.get(Story, int(raw_id))
        if (
            story is not None
            and story.participant_id == turn.participant_id
            and story.state == StoryState.NEEDS_CHANGES
        ):
            await engine.start(turn, "revise", revise.revise_draft(story))
            return
        turn.say(_("Story #{number} is not waiting for changes.").format(number=raw_id))
        return
    turn.say(_("That button is no longer active."))
