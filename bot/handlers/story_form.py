"""The story form: the whole story at once (a Slack modal), asked and checked as the
chat flow asks and checks it, and sent as the chat flow sends it."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.core.events import Choice, InboundKind
from bot.core.turn import Turn
from bot.handlers.review import Review
from bot.handlers.story_questions import (
    CHILD,
    MESSAGE_MAX,
    NAME_MAX,
    age_prompt,
    apply_age,
    child_choice,
    consent_prompt,
    credit_prompt,
    full_name_question,
    guardian_prompt,
    host_message_question,
    kind_choices,
    kind_question,
    message_problem,
    message_prompt,
    name_problem,
    origin_question,
    record_consent,
    residence_question,
    story_problem,
    story_question,
    story_too_long,
    under_18_text,
)
from bot.handlers.story_submit import submit
from bot.i18n import _
from bot.i18n.formatting import format_alternatives, search_countries
from storage.models import CreditMode, StoryKind, utcnow


class FieldKind(enum.StrEnum):
    CONSENT = "consent"  # one box to tick: the first choice
    CHOICE = "choice"  # one of the choices
    LINE = "line"  # one line of text
    TEXT = "text"  # the story: several lines
    COUNTRY = "country"  # a country, typed


@dataclass(frozen=True, slots=True)
class FormField:
    """One question of the story form, worded as the chat flow's step asks it.

    Args:
        id: the key of its answer.
        label: the question.
        kind: how it is answered.
        choices: the choices; the answer is the chosen ``Choice.id``.
        optional: whether it may stay empty.
        max_length: the longest answer, in characters.
        hint: a short help text.
    """

    id: str
    label: str
    kind: FieldKind
    choices: tuple[Choice, ...] = ()
    optional: bool = False
    max_length: int | None = None
    hint: str | None = None


# A film is sent in the chat, where a video can be attached; the form is for written stories.
FORM_KINDS = (StoryKind.MIGRANT.value, StoryKind.HOST_COMMUNITY.value)


def story_form(settings: Settings) -> tuple[FormField, ...]:
    """The story form's questions, in the active locale."""
    consent, age, credit = consent_prompt(), age_prompt(), credit_prompt()
    kinds = tuple(c for c in kind_choices() if c.id[2:] in FORM_KINDS)
    country_hint = _("Type the name of the country, or skip.")
    return (
        # Unanswered, it is a migrant's own story (the form asked nothing else before).
        FormField("kind", kind_question(), FieldKind.CHOICE, kinds, optional=True),
        FormField("consent", consent.text, FieldKind.CONSENT, consent.choices[:1]),
        FormField("is_adult", age.text, FieldKind.CHOICE, (*age.choices, child_choice())),
        FormField(
            "guardian",
            guardian_prompt().text,
            FieldKind.CONSENT,
            guardian_prompt().choices[:1],
            optional=True,
        ),
        FormField("credit_mode", credit.text, FieldKind.CHOICE, credit.choices),
        FormField(
            "credit_name", full_name_question(), FieldKind.LINE, optional=True, max_length=NAME_MAX
        ),
        FormField("origin", origin_question(), FieldKind.COUNTRY, optional=True, hint=country_hint),
        FormField(
            "residence",
            residence_question()
            + " "
            + _("A story of welcoming newcomers: where is your community?"),
            FieldKind.COUNTRY,
            optional=True,
            hint=country_hint,
        ),
        # A modal's labels cannot follow the kind chosen above it: the host community's
        # wording of the same question is the hint.
        FormField(
            "text",
            story_question(),
            FieldKind.TEXT,
            max_length=settings.story_max_chars,
            hint=story_question(StoryKind.HOST_COMMUNITY),
        ),
        FormField(
            "community_message",
            message_prompt().text,
            FieldKind.LINE,
            optional=True,
            max_length=MESSAGE_MAX,
            hint=host_message_question(),
        ),
    )


def form_draft(
    answers: Mapping[str, object], settings: Settings, locale: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The draft the chat flow builds from the same answers, and what is wrong with them.

    Call inside the locale's ``Translator.use``. The rules are the flow's own: a kind,
    consent, someone under 18 told who can share it, a child's story only with the
    adult's confirmation and never named, a name when named, one country per answer, the
    story's length, one short line to the host community.

    Returns:
        The draft for :func:`submit`, and a kind reason per field id (empty when none).
    """

    def answer(key: str) -> str:
        value = answers.get(key)
        return value.strip() if isinstance(value, str) else ""

    draft: dict[str, Any] = {}
    problems: dict[str, str] = {}
    kind = answer("kind").removeprefix("c:") or StoryKind.MIGRANT.value
    if kind in FORM_KINDS:
        draft["kind"] = kind
    else:
        problems["kind"] = _("Please choose one of the buttons.")
    if answer("consent") == "c:yes":
        draft["consent_version"] = settings.consent_version
    else:
        problems["consent"] = _("Please choose one of the buttons.")
    age = answer("is_adult").removeprefix("c:")
    if age == "no":
        problems["is_adult"] = under_18_text()
    elif age not in {"yes", CHILD}:
        problems["is_adult"] = _("Please choose one of the buttons.")
    elif age == CHILD:
        if answer("guardian") == "c:yes":
            draft["guardian_consent"] = True
        else:
            problems["guardian"] = _("A child's story can only be shared with this confirmation.")
    credit = answer("credit_mode").removeprefix("c:")
    if credit in {mode.value for mode in CreditMode}:
        draft["credit_mode"] = credit
    else:
        problems["credit_mode"] = _("Please choose one of the buttons.")
    apply_age(draft, age == "yes")
    if draft["is_adult"] and credit in {CreditMode.FULL_NAME.value, CreditMode.FIRST_NAME.value}:
        name = answer("credit_name")
        if problem := name_problem(name):
            problems["credit_name"] = problem
        else:
            draft["credit_name"] = name
    # A host community's story has one place, its community (asked as where they live).
    places = ("residence",) if kind == StoryKind.HOST_COMMUNITY.value else ("origin", "residence")
    for key in places:
        if typed := answer(key):
            matches = search_countries(typed, locale)
            if len(matches) == 1:
                draft[key] = matches[0][0]
            elif not matches:
                problems[key] = _(
                    "I couldn't find a country with that name. Please try another spelling."
                )
            else:
                names = format_alternatives([name for _code, name in matches], locale)
                problems[key] = _("Which country do you mean?") + " " + names
    text = answer("text")
    if not text:
        problems["text"] = _("Your story is still empty. Please write or send something first.")
    elif len(text) > settings.story_max_chars:
        problems["text"] = story_too_long(len(text), settings, locale)
    else:
        draft["parts"] = [{"text": text, "message_id": ""}]
    if message := answer("community_message"):
        if problem := message_problem(message):
            problems["community_message"] = problem
        else:
            draft["community_message"] = message
    return draft, problems


async def submit_form(turn: Turn, review: Review) -> None:
    """The story form sent in one go: its answers as JSON, in an ``InboundKind.FORM``
    that only the adapter owning the form makes (never a command anyone can type).

    The same checks as :func:`form_draft` and the same :func:`submit` as the chat flow;
    a story being told in the chat meanwhile is left as it is.
    """
    if turn.inbound.kind is not InboundKind.FORM:
        return
    try:
        answers = json.loads(turn.inbound.text or "")
    except ValueError:
        answers = None
    if not isinstance(answers, dict):
        turn.say(_("Sorry, I can't use this kind of message here."))
        return
    draft, problems = form_draft(answers, turn.deps.settings, turn.locale)
    if problem := story_problem(draft, turn.deps.settings, turn.locale):
        problems.setdefault("story", problem)
    if problems:
        turn.say("\n".join(problems.values()))
        return
    turn.participant.story_started_at = utcnow()  # begun and sent in one go
    record_consent(turn)
    await submit(turn, review, draft)
