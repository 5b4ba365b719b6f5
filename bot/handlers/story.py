"""The story flow: consent, age, credit, countries, the story, a message, preview, submit."""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.core.dialog import (
    DialogEngine,
    Finish,
    Flow,
    Invalid,
    Next,
    Prompt,
    Result,
    Stay,
    Step,
)
from bot.core.events import Choice, InboundKind, MediaKind, MediaRef
from bot.core.media import note_texts, refused_only
from bot.core.turn import Turn
from bot.handlers.countries import country_accept, country_prompt, describe_country
from bot.handlers.safety import send_helplines
from bot.i18n import _, ngettext
from bot.i18n.formatting import format_count, isolate, search_countries
from bot.review.service import ReviewService
from moderation.errors import NotAllowed
from moderation.intake import StoryFields, revise_story, submit_story
from storage.models import CreditMode, utcnow

log = logging.getLogger(__name__)

NAME_MAX = 60
MESSAGE_MAX = 200
ALLOWED_MEDIA = {MediaKind.PHOTO, MediaKind.VOICE, MediaKind.VIDEO, MediaKind.DOCUMENT}
VIDEO_MAX_SECONDS = 180
VOICE_MAX_SECONDS = 600


def done_choice() -> Choice:
    return Choice("c:done", _("✅ I'm done"))


def _yes_no(yes: str, no: str) -> tuple[Choice, ...]:
    return (Choice("c:yes", yes), Choice("c:no", no))


def _choice(turn: Turn) -> str | None:
    choice = turn.inbound.choice if turn.inbound.kind is InboundKind.CHOICE else None
    return choice[2:] if choice and choice.startswith("c:") else None


# -- consent -----------------------------------------------------------------------------
# The prompts that do not depend on the conversation also label the story form (below).
def consent_prompt(turn: Turn | None = None) -> Prompt:
    text = _(
        "Before you start, please read this.\n\n"
        "What we collect: your story and the photos, voice notes or videos you send, "
        "where you come from and live now if you tell us, and how you want to be credited.\n\n"
        "How it may be published: a person on our team reads every story first. Approved "
        "stories may appear on the TOGETHER campaign's story wall and channels, credited "
        "exactly as you choose — you can stay anonymous. We may remove details that could "
        "identify you, such as phone numbers or addresses.\n\n"
        "Your choice, always: you can withdraw your story or erase all your data at any "
        "time with /mystories or /privacy.\n\n"
        "Do you agree to share your story on these terms?"
    )
    return Prompt(text, _yes_no(_("✅ I agree"), _("No, thank you")))


async def consent_accept(turn: Turn) -> Result:
    choice = _choice(turn)
    if choice == "yes":
        turn.draft["consent_version"] = record_consent(turn)
        return Next()
    if choice == "no":
        turn.say(
            _("That's completely fine. Nothing was saved. You can come back any time with /story.")
        )
        return Finish()
    return Invalid(_("Please choose one of the buttons."))


def record_consent(turn: Turn) -> str:
    """Record on the person that they agreed to the current terms; returns the version."""
    version = turn.deps.settings.consent_version
    turn.participant.consent_version = version
    turn.participant.consent_at = utcnow()
    return version


# -- age -----------------------------------------------------------------------------------
def age_prompt(turn: Turn | None = None) -> Prompt:
    return Prompt(
        _("Are you 18 or older?"), _yes_no(_("Yes, I am 18 or older"), _("No, I am under 18"))
    )


async def age_accept(turn: Turn) -> Result:
    choice = _choice(turn)
    if choice not in {"yes", "no"}:
        return Invalid(_("Please choose one of the buttons."))
    apply_age(turn.draft, choice == "yes")
    if choice == "no":
        turn.say(
            _(
                "Thank you for telling me. You can still share your story. Because you are "
                "under 18, someone from our safety team will read it first, and it will never "
                "be published with your name."
            )
        )
    return Next()


def apply_age(draft: dict[str, Any], is_adult: bool) -> None:
    """A storyteller under 18 is never published with their name."""
    draft["is_adult"] = is_adult
    if not is_adult:
        draft["credit_mode"] = CreditMode.ANONYMOUS.value
        draft.pop("credit_name", None)


# -- credit --------------------------------------------------------------------------------
def credit_prompt(turn: Turn | None = None) -> Prompt:
    return Prompt(
        _("If your story is published, how should we credit you?"),
        (
            Choice("c:" + CreditMode.FULL_NAME.value, _("My full name")),
            Choice("c:" + CreditMode.FIRST_NAME.value, _("My first name only")),
            Choice("c:" + CreditMode.ANONYMOUS.value, _("Anonymous")),
        ),
    )


async def credit_accept(turn: Turn) -> Result:
    choice = _choice(turn)
    if choice not in {mode.value for mode in CreditMode}:
        return Invalid(_("Please choose one of the buttons."))
    turn.draft["credit_mode"] = choice
    if choice == CreditMode.ANONYMOUS.value:
        turn.draft.pop("credit_name", None)
    return Next()


def _adult(turn: Turn) -> bool:
    return bool(turn.draft.get("is_adult", True))


def _named(turn: Turn) -> bool:
    return _adult(turn) and turn.draft.get("credit_mode") != CreditMode.ANONYMOUS.value


def credit_name_prompt(turn: Turn) -> Prompt:
    if turn.draft.get("credit_mode") == CreditMode.FIRST_NAME.value:
        return Prompt(_("What is your first name?"))
    return Prompt(full_name_question())


def full_name_question() -> str:
    return _("What is your full name, as it should appear?")


async def credit_name_accept(turn: Turn) -> Result:
    text = (turn.inbound.text or "").strip() if turn.inbound.kind is InboundKind.TEXT else ""
    problem = name_problem(text)
    if problem:
        return Invalid(problem)
    turn.draft["credit_name"] = text
    return Next()


def name_problem(text: str) -> str | None:
    if not text:
        return _("Please type your name.")
    if len(text) > NAME_MAX or "\n" in text:
        return _("That is a bit long for a name. Please use one line, up to 60 characters.")
    return None


# -- the story -------------------------------------------------------------------------------
def story_prompt(turn: Turn) -> Prompt:
    settings = turn.deps.settings
    parts = turn.draft.get("parts", [])
    media = turn.draft.get("media", [])
    if parts or media:
        text = _("Send more if you like, or tap “I'm done” when your story is complete.")
        return Prompt(
            text,
            (done_choice(), Choice("c:clear", _("🗑 Start the story again"))),
        )
    files, chars = settings.story_max_media, settings.story_max_chars
    text = "\n\n".join(
        (
            story_question(),
            _("You can send several messages, photos, voice notes and short videos.")
            + " "
            + ngettext(
                "You can attach up to {count} file (videos up to 3 minutes).",
                "You can attach up to {count} files (videos up to 3 minutes).",
                files,
            ).format(count=format_count(files, turn.locale))
            + " "
            + ngettext(
                "Your story can be up to {count} character long.",
                "Your story can be up to {count} characters long.",
                chars,
            ).format(count=format_count(chars, turn.locale)),
            _("Tap “I'm done” when you have finished."),
        )
    )
    return Prompt(text, (done_choice(),))


def story_question() -> str:
    return _(
        "Now, tell your story, in your own words. Where did you start from, what "
        "happened on the way, and what is your life like now?"
    )


def story_text(draft: Mapping[str, object]) -> str:
    parts = draft.get("parts") or []
    assert isinstance(parts, list)
    return "\n\n".join(str(p["text"]) for p in parts if str(p["text"]).strip())


async def story_accept(turn: Turn) -> Result:
    inbound = turn.inbound
    settings = turn.deps.settings
    parts: list[dict[str, str]] = list(turn.draft.get("parts", []))
    media: list[dict[str, object]] = list(turn.draft.get("media", []))
    if _choice(turn) == "done":
        if not parts and not media:
            return Invalid(_("Your story is still empty. Please write or send something first."))
        if problem := story_problem(turn.draft, settings, turn.locale):
            return Invalid(problem)
        return Next()
    if _choice(turn) == "clear":
        turn.draft["parts"], turn.draft["media"] = [], []
        turn.say(_("Your story is empty again. Start whenever you are ready."))
        return Stay()
    if inbound.kind is InboundKind.EDIT:
        for index, part in enumerate(parts):
            if inbound.edit_of and part.get("message_id") == inbound.edit_of:
                edited = [*parts[:index], {**part, "text": (inbound.text or "").strip()}]
                edited += parts[index + 1 :]
                length = len(story_text({"parts": edited}))
                if length > settings.story_max_chars:
                    # The part stays as it was accepted: an edit never loses it.
                    turn.say(edit_too_long(length, settings, turn.locale), (done_choice(),))
                    return Stay()
                turn.draft["parts"] = edited
                turn.say(_("I've updated that part of your story."), (done_choice(),))
                return Stay()
        return Stay()
    new_text = (inbound.text if inbound.kind is InboundKind.TEXT else inbound.caption) or ""
    new_text = new_text.strip()
    if inbound.kind is InboundKind.MEDIA and turn.flow == "revise":
        return Invalid(
            _(
                "A new version changes the text of your story. The files you sent before "
                "stay with it. Please send the new text as a message."
            )
        )
    # Files refused or not received on arrival, and (once) what was removed from photos.
    notes = note_texts(inbound.media_notes, settings, turn.locale)
    if refused_only(inbound) and not new_text:
        return Invalid("\n\n".join(notes))
    if inbound.kind is InboundKind.MEDIA:
        problem = _media_problem(turn, list(inbound.media), len(media))
        if problem:
            return Invalid(problem)
        media.extend(m.to_json() for m in inbound.media)
    elif inbound.kind is not InboundKind.TEXT or not new_text:
        return Invalid(
            _("Please write your story as a message, or send a photo, voice note or video.")
        )
    if new_text:
        total = len(story_text({"parts": [*parts, {"text": new_text}]}))
        if total > settings.story_max_chars:
            return Invalid(too_long(total, settings, turn.locale))
        parts.append({"text": new_text, "message_id": inbound.message_id or ""})
    turn.draft["parts"], turn.draft["media"] = parts, media
    count = len(story_text({"parts": parts}))
    got_it = (
        ngettext(
            "Got it — {count} character so far.",
            "Got it — {count} characters so far.",
            count,
        ).format(count=format_count(count, turn.locale))
        + "\n"
        + _("Send more, or tap “I'm done”.")
    )
    turn.say("\n\n".join([*notes, got_it]), (done_choice(),))
    return Stay()


def _over(length: int, settings: Settings, locale: str) -> tuple[int, dict[str, str]]:
    over = length - settings.story_max_chars
    return over, {
        "over": format_count(over, locale),
        "limit": format_count(settings.story_max_chars, locale),
    }


def too_long(length: int, settings: Settings, locale: str) -> str:
    """A new part that would make the story ``length`` characters: the limit, how far over."""
    over, numbers = _over(length, settings, locale)
    return ngettext(
        "That message would make your story {over} character longer than the limit of "
        "{limit} characters, so I couldn't add it. Could you shorten it and send it again?",
        "That message would make your story {over} characters longer than the limit of "
        "{limit} characters, so I couldn't add it. Could you shorten it and send it again?",
        over,
    ).format(**numbers)


def edit_too_long(length: int, settings: Settings, locale: str) -> str:
    """An edited part that would make the story ``length`` characters: it was not taken."""
    over, numbers = _over(length, settings, locale)
    return ngettext(
        "With that change your story would be {over} character longer than the limit of "
        "{limit} characters, so I kept that part as it was. Could you shorten your change?",
        "With that change your story would be {over} characters longer than the limit of "
        "{limit} characters, so I kept that part as it was. Could you shorten your change?",
        over,
    ).format(**numbers)


def story_too_long(length: int, settings: Settings, locale: str) -> str:
    """A whole story of ``length`` characters, over the limit (a form, a draft)."""
    over, numbers = _over(length, settings, locale)
    return ngettext(
        "Your story is {over} character longer than the limit of {limit} characters. "
        "Nothing is lost: please shorten it, then send it again.",
        "Your story is {over} characters longer than the limit of {limit} characters. "
        "Nothing is lost: please shorten it, then send it again.",
        over,
    ).format(**numbers)


def story_problem(draft: Mapping[str, Any], settings: Settings, locale: str) -> str | None:
    """What keeps a draft from being sent, whichever path built it: the length of the
    story, its number of files, the name's and the message's length."""
    length = len(story_text(draft))
    if length > settings.story_max_chars:
        return story_too_long(length, settings, locale)
    files = len(draft.get("media") or [])
    if files > settings.story_max_media:
        return ngettext(
            "A story can have up to {count} file, and this one has {files}. "
            "Please start the story again with fewer files.",
            "A story can have up to {count} files, and this one has {files}. "
            "Please start the story again with fewer files.",
            settings.story_max_media,
        ).format(
            count=format_count(settings.story_max_media, locale),
            files=format_count(files, locale),
        )
    if (name := draft.get("credit_name")) and (problem := name_problem(str(name))):
        return problem
    if (message := draft.get("community_message")) and (problem := message_problem(str(message))):
        return problem
    return None


def _media_problem(turn: Turn, files: list[MediaRef], already: int) -> str | None:
    settings = turn.deps.settings
    if already + len(files) > settings.story_max_media:
        return ngettext(
            "You can attach up to {count} file to a story. This one was not added.",
            "You can attach up to {count} files to a story. This one was not added.",
            settings.story_max_media,
        ).format(count=format_count(settings.story_max_media, turn.locale))
    for item in files:
        if item.kind not in ALLOWED_MEDIA:
            return _("Sorry, I can only take photos, voice notes, videos and documents.")
        if item.size is not None and item.size > settings.media_max_bytes:
            return _(
                "That file is too large (the limit is {mb} MB). Could you send a smaller one?"
            ).format(mb=format_count(settings.media_max_bytes // (1024 * 1024), turn.locale))
        if item.kind is MediaKind.VIDEO and (item.duration or 0) > VIDEO_MAX_SECONDS:
            return _("Videos can be up to 3 minutes long. Could you send a shorter one?")
        if item.kind is MediaKind.VOICE and (item.duration or 0) > VOICE_MAX_SECONDS:
            return _("Voice notes can be up to 10 minutes long. Could you send a shorter one?")
    return None


# -- message to the host community ---------------------------------------------------------
def message_prompt(turn: Turn | None = None) -> Prompt:
    return Prompt(
        _(
            "Optional: one line you would like to say to the people of the country where "
            "you live now."
        )
    )


async def message_accept(turn: Turn) -> Result:
    text = (turn.inbound.text or "").strip() if turn.inbound.kind is InboundKind.TEXT else ""
    if not text:
        return Invalid(_("Please type one line, or skip."))
    problem = message_problem(text)
    if problem:
        return Invalid(problem)
    turn.draft["community_message"] = text
    return Next()


def message_problem(text: str) -> str | None:
    if len(text) > MESSAGE_MAX or "\n" in text:
        return _("Please keep it to one line of up to 200 characters.")
    return None


# -- preview and submit ----------------------------------------------------------------------
def preview_prompt(turn: Turn) -> Prompt:
    d, locale = turn.draft, turn.locale
    credit = {
        CreditMode.FULL_NAME.value: _("Shown as: {name}"),
        CreditMode.FIRST_NAME.value: _("Shown as: {name}"),
    }.get(str(d.get("credit_mode")), _("Shown as: Anonymous"))
    lines = [
        _("Here is your story as we received it. Please check it."),
        "",
        credit.format(name=isolate(str(d.get("credit_name", "")), locale)),
        _("From: {country}").format(country=describe_country(d.get("origin"), locale)),
        _("Living in: {country}").format(country=describe_country(d.get("residence"), locale)),
        "",
        story_text(d) or _("(no text)"),
    ]
    media = d.get("media") or []
    if media:
        lines += [
            "",
            ngettext("{count} file attached", "{count} files attached", len(media)).format(
                count=format_count(len(media), locale)
            ),
        ]
    if d.get("community_message"):
        lines += [
            "",
            _("Your message: {message}").format(message=isolate(d["community_message"], locale)),
        ]
    return Prompt(
        "\n".join(lines),
        (
            Choice("c:submit", _("📨 Submit my story")),
            Choice("c:edit:story", _("✏️ Add to or change the story")),
            Choice("c:edit:credit", _("✏️ Change how your name is shown")),
            Choice("c:edit:countries", _("✏️ Change the countries")),
            Choice("c:edit:message", _("✏️ Change the message")),
        ),
    )


EDIT_PATHS = {
    "story": ["story"],
    "credit": ["credit", "credit_name"],
    "countries": ["origin", "residence"],
    "message": ["message"],
}


def make_preview_accept(engine: DialogEngine) -> Callable[[Turn], Awaitable[Result]]:
    async def preview_accept(turn: Turn) -> Result:
        choice = _choice(turn) or ""
        if choice.startswith("edit:") and choice[5:] in EDIT_PATHS:
            engine.edit_from(turn, EDIT_PATHS[choice[5:]], "preview")
            return Stay()
        if choice == "submit":
            if problem := story_problem(turn.draft, turn.deps.settings, turn.locale):
                return Invalid(problem)  # the draft stays; the preview offers the edits
            await submit(turn)
            return Finish()
        return Invalid(_("Please choose one of the buttons."))

    return preview_accept


async def submit(turn: Turn, draft: Mapping[str, Any] | None = None) -> None:
    """Store the story and its first revision, and put it in the moderation queue.

    Args:
        turn: the event being handled.
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
        ),
        text=story_text(d),
        media=[MediaRef.from_json(item) for item in d.get("media") or []],
        platform=turn.inbound.platform,
        screener=deps.screener,
    )
    story, item, screening = submitted.story, submitted.item, submitted.screening
    assert item.id is not None
    await ReviewService(deps).announce(turn.session, item.id)
    turn.after_commit.append(_wake_outbox(turn))
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


def _wake_outbox(turn: Turn) -> Callable[[], Awaitable[None]]:
    async def wake() -> None:
        turn.deps.outbox_wakeup.set()

    return wake


def origin_question() -> str:
    return _("Which country do you come from?")


def residence_question() -> str:
    return _("In which country do you live now?")


def build_story_flow(engine: DialogEngine) -> Flow:
    preview_accept = make_preview_accept(engine)

    def on_cancel(turn: Turn) -> None:
        turn.say(
            _(
                "Your story was not sent, and the draft is deleted. "
                "You can start again any time with /story."
            )
        )

    return Flow(
        name="story",
        resumable=True,
        on_cancel=on_cancel,
        steps=(
            Step("consent", consent_prompt, consent_accept),
            Step("age", age_prompt, age_accept),
            Step("credit", credit_prompt, credit_accept, when=_adult),
            Step("credit_name", credit_name_prompt, credit_name_accept, when=_named),
            Step(
                "origin",
                country_prompt(origin_question),
                country_accept("origin"),
                optional=True,
            ),
            Step(
                "residence",
                country_prompt(residence_question),
                country_accept("residence"),
                optional=True,
            ),
            Step("story", story_prompt, story_accept),
            Step("message", message_prompt, message_accept, optional=True),
            Step("preview", preview_prompt, preview_accept),
        ),
    )


# -- a whole story at once: the story form (a Slack modal) ---------------------------------


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


def story_form(settings: Settings) -> tuple[FormField, ...]:
    """The story form's questions, in the active locale."""
    consent, age, credit = consent_prompt(), age_prompt(), credit_prompt()
    country_hint = _("Type the name of the country, or skip.")
    return (
        FormField("consent", consent.text, FieldKind.CONSENT, consent.choices[:1]),
        FormField("is_adult", age.text, FieldKind.CHOICE, age.choices),
        FormField("credit_mode", credit.text, FieldKind.CHOICE, credit.choices),
        FormField(
            "credit_name", full_name_question(), FieldKind.LINE, optional=True, max_length=NAME_MAX
        ),
        FormField("origin", origin_question(), FieldKind.COUNTRY, optional=True, hint=country_hint),
        FormField(
            "residence", residence_question(), FieldKind.COUNTRY, optional=True, hint=country_hint
        ),
        FormField("text", story_question(), FieldKind.TEXT, max_length=settings.story_max_chars),
        FormField(
            "community_message",
            message_prompt().text,
            FieldKind.LINE,
            optional=True,
            max_length=MESSAGE_MAX,
        ),
    )


def form_draft(
    answers: Mapping[str, object], settings: Settings, locale: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The draft the chat flow builds from the same answers, and what is wrong with them.

    Call inside the locale's ``Translator.use``. The rules are the flow's own: consent,
    no name for anyone under 18, a name when named, one country per answer, the story's
    length, one short line to the host community.

    Returns:
        The draft for :func:`submit`, and a kind reason per field id (empty when none).
    """

    def answer(key: str) -> str:
        value = answers.get(key)
        return value.strip() if isinstance(value, str) else ""

    draft: dict[str, Any] = {}
    problems: dict[str, str] = {}
    if answer("consent") == "c:yes":
        draft["consent_version"] = settings.consent_version
    else:
        problems["consent"] = _("Please choose one of the buttons.")
    if answer("is_adult") not in {"c:yes", "c:no"}:
        problems["is_adult"] = _("Please choose one of the buttons.")
    credit = answer("credit_mode").removeprefix("c:")
    if credit in {mode.value for mode in CreditMode}:
        draft["credit_mode"] = credit
    else:
        problems["credit_mode"] = _("Please choose one of the buttons.")
    apply_age(draft, answer("is_adult") != "c:no")
    if draft["is_adult"] and credit in {CreditMode.FULL_NAME.value, CreditMode.FIRST_NAME.value}:
        name = answer("credit_name")
        if problem := name_problem(name):
            problems["credit_name"] = problem
        else:
            draft["credit_name"] = name
    for key in ("origin", "residence"):
        if typed := answer(key):
            matches = search_countries(typed, locale)
            if len(matches) == 1:
                draft[key] = matches[0][0]
            elif not matches:
                problems[key] = _(
                    "I couldn't find a country with that name. Please try another spelling."
                )
            else:
                names = ", ".join(name for _code, name in matches)
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


async def submit_form(turn: Turn) -> None:
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
    record_consent(turn)
    await submit(turn, draft)


# -- revising a story a moderator sent back ------------------------------------------------
def revise_prompt(turn: Turn) -> Prompt:
    if turn.draft.get("parts") or turn.draft.get("media"):
        return story_prompt(turn)
    return Prompt(
        _(
            "Please send the new version of your story #{number}, in one or more messages. "
            "It replaces the text you sent before. Tap “I'm done” when it is complete."
        ).format(number=turn.draft.get("story_id")),
        (done_choice(),),
    )


def revise_preview(turn: Turn) -> Prompt:
    return Prompt(
        _("Here is the new version. Send it to our team?") + "\n\n" + story_text(turn.draft),
        (Choice("c:submit", _("📨 Send the new version")),),
    )


async def revise_accept(turn: Turn) -> Result:
    if _choice(turn) != "submit":
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
    await ReviewService(turn.deps).story_changed(turn.session, story.id)
    turn.after_commit.append(_wake_outbox(turn))
    turn.say(_("Thank you! Your new version is with our team."))
    if screening.crisis:
        send_helplines(turn, story.current_country)
    return Finish()


def build_revise_flow() -> Flow:
    return Flow(
        name="revise",
        on_cancel=lambda turn: turn.say(_("Nothing was changed. Your story stays as it was.")),
        steps=(
            Step("story", revise_prompt, story_accept),
            Step("confirm", revise_preview, revise_accept),
        ),
    )
