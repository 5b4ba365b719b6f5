"""The story flow: consent, age, credit, countries, the story, a message, preview, submit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

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
from bot.handlers.review import Review
from bot.handlers.story_questions import (
    age_prompt,
    apply_age,
    chosen,
    consent_prompt,
    credit_prompt,
    edit_too_long,
    full_name_question,
    message_problem,
    message_prompt,
    name_problem,
    origin_question,
    record_consent,
    residence_question,
    story_problem,
    story_question,
    story_text,
    too_long,
)
from bot.handlers.story_submit import submit
from bot.i18n import _, ngettext
from bot.i18n.formatting import format_count, isolate
from storage.models import CreditMode

ALLOWED_MEDIA = {MediaKind.PHOTO, MediaKind.VOICE, MediaKind.VIDEO, MediaKind.DOCUMENT}
VIDEO_MAX_SECONDS = 180
VOICE_MAX_SECONDS = 600


def done_choice() -> Choice:
    return Choice("c:done", _("✅ I'm done"))


# -- consent -------------------------------------------------------------------------------
async def consent_accept(turn: Turn) -> Result:
    choice = chosen(turn)
    if choice == "yes":
        turn.draft["consent_version"] = record_consent(turn)
        return Next()
    if choice == "no":
        turn.say(
            _("That's completely fine. Nothing was saved. You can come back any time with /story.")
        )
        return Finish()
    return Invalid(_("Please choose one of the buttons."))


# -- age -----------------------------------------------------------------------------------
async def age_accept(turn: Turn) -> Result:
    choice = chosen(turn)
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


# -- credit --------------------------------------------------------------------------------
async def credit_accept(turn: Turn) -> Result:
    choice = chosen(turn)
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


async def credit_name_accept(turn: Turn) -> Result:
    text = (turn.inbound.text or "").strip() if turn.inbound.kind is InboundKind.TEXT else ""
    problem = name_problem(text)
    if problem:
        return Invalid(problem)
    turn.draft["credit_name"] = text
    return Next()


# -- the story -----------------------------------------------------------------------------
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


async def story_accept(turn: Turn) -> Result:
    inbound = turn.inbound
    settings = turn.deps.settings
    parts: list[dict[str, str]] = list(turn.draft.get("parts", []))
    media: list[dict[str, object]] = list(turn.draft.get("media", []))
    if chosen(turn) == "done":
        if not parts and not media:
            return Invalid(_("Your story is still empty. Please write or send something first."))
        if problem := story_problem(turn.draft, settings, turn.locale):
            return Invalid(problem)
        return Next()
    if chosen(turn) == "clear":
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
async def message_accept(turn: Turn) -> Result:
    text = (turn.inbound.text or "").strip() if turn.inbound.kind is InboundKind.TEXT else ""
    if not text:
        return Invalid(_("Please type one line, or skip."))
    problem = message_problem(text)
    if problem:
        return Invalid(problem)
    turn.draft["community_message"] = text
    return Next()


# -- preview and submit --------------------------------------------------------------------
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


def make_preview_accept(
    engine: DialogEngine, review: Review
) -> Callable[[Turn], Awaitable[Result]]:
    async def preview_accept(turn: Turn) -> Result:
        choice = chosen(turn) or ""
        if choice.startswith("edit:") and choice[5:] in EDIT_PATHS:
            engine.edit_from(turn, EDIT_PATHS[choice[5:]], "preview")
            return Stay()
        if choice == "submit":
            if problem := story_problem(turn.draft, turn.deps.settings, turn.locale):
                return Invalid(problem)  # the draft stays; the preview offers the edits
            await submit(turn, review)
            return Finish()
        return Invalid(_("Please choose one of the buttons."))

    return preview_accept


def build_story_flow(engine: DialogEngine, review: Review) -> Flow:
    preview_accept = make_preview_accept(engine, review)

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
