"""A new version of a story a moderator sent back: the text again, then send it."""

from __future__ import annotations

from typing import Any

from bot.core.dialog import Finish, Flow, Invalid, Next, Prompt, Result, Step
from bot.core.events import Choice
from bot.core.turn import Turn
from bot.handlers.review import Review
from bot.handlers.safety import send_helplines
from bot.handlers.story import done_choice, story_accept, story_prompt
from bot.handlers.story_questions import chosen, story_question, story_text, story_too_long
from bot.i18n import _
from moderation.errors import NotAllowed
from moderation.intake import revise_story
from storage.models import Story, StoryKind

# Not "kind": the draft's kind makes story_text read a film's title and description,
# and a new version is always its text, as messages.
KIND = "revised_kind"


def revise_draft(story: Story) -> dict[str, Any]:
    """The draft a new version of ``story`` starts from."""
    return {"story_id": story.id, KIND: story.kind}


def revise_prompt(turn: Turn) -> Prompt:
    if turn.draft.get("parts") or turn.draft.get("media"):
        return story_prompt(turn)
    text = _(
        "Please send the new version of your story #{number}, in one or more messages. "
        "It replaces the text you sent before. Tap “I'm done” when it is complete."
    ).format(number=turn.draft.get("story_id"))
    kind = turn.draft.get(KIND)
    if kind == StoryKind.HOST_COMMUNITY.value:
        text += "\n\n" + story_question(StoryKind.HOST_COMMUNITY)
    elif kind == StoryKind.FILM.value:
        text += "\n\n" + _(
            "For your film: its title on the first line, then the description, "
            "and the link if there is one."
        )
    return Prompt(text, (done_choice(),))


def revise_preview(turn: Turn) -> Prompt:
    return Prompt(
        _("Here is the new version. Send it to our team?") + "\n\n" + story_text(turn.draft),
        (Choice("c:submit", _("📨 Send the new version")),),
    )


async def revise_accept(turn: Turn, review: Review) -> Result:
    if chosen(turn) != "submit":
        return Invalid(_("Please choose one of the buttons."))
    text = story_text(turn.draft)
    if len(text) > turn.deps.settings.story_max_chars:
        # Back to writing, with everything sent so far kept.
        turn.say(story_too_long(len(text), turn.deps.settings, turn.locale))
        return Next(goto="story")
    try:
        revised = await revise_story(
            turn.session,
            story_id=int(turn.draft.get("story_id") or 0),
            participant_id=turn.participant_id,
            text=text,
            screener=turn.deps.screener,
        )
    except NotAllowed:
        turn.say(_("That story can't be changed any more."))
        return Finish()
    story, screening = revised.story, revised.screening
    assert story.id is not None
    await review.story_changed(turn.session, story.id)
    turn.wake_outbox()
    turn.say(_("Thank you! Your new version is with our team."))
    if screening.crisis:
        send_helplines(turn, story.current_country)
    return Finish()


def build_revise_flow(review: Review) -> Flow:
    async def confirm_accept(turn: Turn) -> Result:
        return await revise_accept(turn, review)

    return Flow(
        name="revise",
        on_cancel=lambda turn: turn.say(_("Nothing was changed. Your story stays as it was.")),
        steps=(
            Step("story", revise_prompt, story_accept),
            Step("confirm", revise_preview, confirm_accept),
        ),
    )
