"""The story flow: its kind, consent, age, credit, countries, the story (or the film), a
message, preview, submit.

A host community's story asks where the community is instead of the two countries; a
short film asks for one video or a link, a title and a description instead of the
story and the message. An adult may share a child's story: the child is never named.
"""

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
from bot.core.media import not_received, note_texts, refused_only
from bot.core.turn import Turn
from bot.handlers.countries import country_accept, country_prompt, describe_country
from bot.handlers.review import Review
from bot.handlers.story_questions import (
    CHILD,
    age_prompt,
    apply_age,
    child_choice,
    chosen,
    community_question,
    consent_prompt,
    credit_prompt,
    edit_too_long,
    film_about_problem,
    film_about_question,
    film_link,
    film_prompt,
    film_title_problem,
    film_title_question,
    full_name_question,
    guardian_prompt,
    kind_label,
    kind_prompt,
    message_problem,
    message_prompt,
    name_problem,
    origin_question,
    record_consent,
    residence_question,
    story_kind,
    story_problem,
    story_question,
    story_text,
    too_long,
    under_18_text,
)
from bot.handlers.story_submit import FILES_NOT_RECEIVED, submit
from bot.i18n import _, ngettext
from bot.i18n.formatting import format_count, isolate
from storage.media import Refusal
from storage.models import CreditMode, StoryKind, utcnow

ALLOWED_MEDIA = {MediaKind.PHOTO, MediaKind.VOICE, MediaKind.VIDEO, MediaKind.DOCUMENT}
VIDEO_MAX_SECONDS = 180
VOICE_MAX_SECONDS = 600


def done_choice() -> Choice:
    return Choice("c:done", _("✅ I'm done"))


# -- which kind of story -------------------------------------------------------------------
async def kind_accept(turn: Turn) -> Result:
    choice = chosen(turn)
    if choice not in {kind.value for kind in StoryKind}:
        return Invalid(_("Please choose one of the buttons."))
    turn.draft["kind"] = choice
    return Next()


def _film(turn: Turn) -> bool:
    return story_kind(turn.draft) is StoryKind.FILM


def _host(turn: Turn) -> bool:
    return story_kind(turn.draft) is StoryKind.HOST_COMMUNITY


def _told(turn: Turn) -> bool:
    """A story told in messages (a migrant's or a host community's), not a film."""
    return not _film(turn)


def _from_and_in(turn: Turn) -> bool:
    """The two countries are asked of everyone but a host community (its one place)."""
    return not _host(turn)


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
def chat_age_prompt(turn: Turn) -> Prompt:
    prompt = age_prompt()
    return Prompt(prompt.text, (*prompt.choices, child_choice()))


async def age_accept(turn: Turn) -> Result:
    choice = chosen(turn)
    if choice == "no":
        # A child shares only with an adult who answers for them (the child's story path).
        turn.say(under_18_text())
        return Finish()
    if choice not in {"yes", CHILD}:
        return Invalid(_("Please choose one of the buttons."))
    apply_age(turn.draft, choice == "yes")
    turn.draft["child"] = choice == CHILD
    if choice != CHILD:
        turn.draft.pop("guardian_consent", None)  # answered again after going back
    return Next()


def _child(turn: Turn) -> bool:
    return bool(turn.draft.get("child"))


async def guardian_accept(turn: Turn) -> Result:
    choice = chosen(turn)
    if choice == "yes":
        turn.draft["guardian_consent"] = True
        return Next()
    if choice == "no":
        turn.say(
            _(
                "Thank you. A child's story can only be shared with that agreement. "
                "Nothing was saved. You can come back any time with /story."
            )
        )
        return Finish()
    return Invalid(_("Please choose one of the buttons."))


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
            story_question(story_kind(turn.draft)),
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
        turn.draft.pop(FILES_NOT_RECEIVED, None)
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
    count_not_received(turn)
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


def count_not_received(turn: Turn) -> None:
    """Keep on the draft how many files could not be downloaded, for the moderators."""
    missing = not_received(turn.inbound.media_notes)
    if missing:
        turn.draft[FILES_NOT_RECEIVED] = int(turn.draft.get(FILES_NOT_RECEIVED) or 0) + missing


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


# -- a short film --------------------------------------------------------------------------
def film_step_prompt(turn: Turn) -> Prompt:
    return film_prompt(turn.deps.settings, turn.locale)


def _too_large_for_film(turn: Turn) -> str:
    mb = format_count(turn.deps.settings.media_max_bytes // (1024 * 1024), turn.locale)
    return _(
        "That video is larger than {mb} MB, the most I can take here. Please send a link "
        "to your film on YouTube or Vimeo instead, starting with https://"
    ).format(mb=mb)


async def film_accept(turn: Turn) -> Result:
    inbound, settings = turn.inbound, turn.deps.settings
    if inbound.kind is InboundKind.TEXT:
        link = film_link((inbound.text or "").strip())
        if link is None:
            return Invalid(
                _(
                    "Please send the film as a video, or a link to it on YouTube or Vimeo "
                    "starting with https://"
                )
            )
        turn.draft["film_link"], turn.draft["media"] = link, []
        return Next()
    if inbound.kind is not InboundKind.MEDIA:
        return Invalid(_("Please send your film as one video."))
    count_not_received(turn)
    if refused_only(inbound):
        if Refusal.TOO_LARGE in inbound.media_notes:
            return Invalid(_too_large_for_film(turn))
        return Invalid("\n\n".join(note_texts(inbound.media_notes, settings, turn.locale)))
    videos = [m for m in inbound.media if m.kind is MediaKind.VIDEO]
    if len(inbound.media) != 1 or not videos:
        return Invalid(_("Please send your film as one video."))
    video = videos[0]
    if video.size is not None and video.size > settings.media_max_bytes:
        return Invalid(_too_large_for_film(turn))
    turn.draft["media"] = [video.to_json()]
    turn.draft.pop("film_link", None)
    return Next()


def film_title_prompt(turn: Turn) -> Prompt:
    return Prompt(film_title_question())


def film_about_prompt(turn: Turn) -> Prompt:
    return Prompt(film_about_question())


def typed_answer(
    field: str, problem_of: Callable[[str], str | None]
) -> Callable[[Turn], Awaitable[Result]]:
    """Accept typed text into ``field`` of the draft, unless ``problem_of`` finds one."""

    async def accept(turn: Turn) -> Result:
        inbound = turn.inbound
        text = (inbound.text or "").strip() if inbound.kind is InboundKind.TEXT else ""
        if problem := problem_of(text):
            return Invalid(problem)
        turn.draft[field] = text
        return Next()

    return accept


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
    kind = story_kind(d)
    lines = [
        _("Here is your story as we received it. Please check it."),
        "",
        kind_label(kind),
        credit.format(name=isolate(str(d.get("credit_name", "")), locale)),
    ]
    if kind is StoryKind.HOST_COMMUNITY:
        lines.append(
            _("Community in: {country}").format(
                country=describe_country(d.get("residence"), locale)
            )
        )
    else:
        lines += [
            _("From: {country}").format(country=describe_country(d.get("origin"), locale)),
            _("Living in: {country}").format(country=describe_country(d.get("residence"), locale)),
        ]
    lines += ["", story_text(d) or _("(no text)")]
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
    choices = [Choice("c:submit", _("📨 Submit my story"))]
    if kind is StoryKind.FILM:
        choices.append(Choice("c:edit:story", _("✏️ Change the film, its title or description")))
    else:
        choices.append(Choice("c:edit:story", _("✏️ Add to or change the story")))
    if _adult(turn):
        choices.append(Choice("c:edit:credit", _("✏️ Change how your name is shown")))
    if kind is StoryKind.HOST_COMMUNITY:
        choices.append(Choice("c:edit:countries", _("✏️ Change where your community is")))
    else:
        choices.append(Choice("c:edit:countries", _("✏️ Change the countries")))
    if kind is not StoryKind.FILM:
        choices.append(Choice("c:edit:message", _("✏️ Change the message")))
    return Prompt("\n".join(lines), tuple(choices))


# Each path lists the steps of every kind; only those that apply to the draft are asked.
EDIT_PATHS = {
    "story": ["story", "film", "film_title", "film_about"],
    "credit": ["credit", "credit_name"],
    "countries": ["origin", "residence", "community"],
    "message": ["message"],
}


def make_preview_accept(
    engine: DialogEngine, review: Review
) -> Callable[[Turn], Awaitable[Result]]:
    async def preview_accept(turn: Turn) -> Result:
        choice = chosen(turn) or ""
        flow = engine.active(turn)
        if choice.startswith("edit:") and choice[5:] in EDIT_PATHS and flow is not None:
            # The engine checks each later step as it comes (a name once named).
            steps = list(EDIT_PATHS[choice[5:]])
            while steps and not ((step := flow.step(steps[0])) and step.applies(turn)):
                steps.pop(0)
            if steps:
                engine.edit_from(turn, steps, "preview")
                return Stay()
        if choice == "submit":
            if problem := story_problem(turn.draft, turn.deps.settings, turn.locale):
                return Invalid(problem)  # the draft stays; the preview offers the edits
            await submit(turn, review)
            return Finish()
        return Invalid(_("Please choose one of the buttons."))

    return preview_accept


def story_started(turn: Turn) -> None:
    """The first step of the funnel on the Stats page: when they last began a story
    (a time, nothing of what they write)."""
    turn.participant.story_started_at = utcnow()


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
        on_start=story_started,
        steps=(
            Step("kind", kind_prompt, kind_accept),
            Step("consent", consent_prompt, consent_accept),
            Step("age", chat_age_prompt, age_accept),
            Step("guardian", guardian_prompt, guardian_accept, when=_child),
            Step("credit", credit_prompt, credit_accept, when=_adult),
            Step("credit_name", credit_name_prompt, credit_name_accept, when=_named),
            Step(
                "origin",
                country_prompt(origin_question),
                country_accept("origin"),
                optional=True,
                when=_from_and_in,
            ),
            Step(
                "residence",
                country_prompt(residence_question),
                country_accept("residence"),
                optional=True,
                when=_from_and_in,
            ),
            Step(
                "community",
                country_prompt(community_question),
                country_accept("residence"),
                optional=True,
                when=_host,
            ),
            Step("story", story_prompt, story_accept, when=_told),
            Step("film", film_step_prompt, film_accept, when=_film),
            Step(
                "film_title",
                film_title_prompt,
                typed_answer("film_title", film_title_problem),
                when=_film,
            ),
            Step(
                "film_about",
                film_about_prompt,
                typed_answer("film_about", film_about_problem),
                when=_film,
            ),
            Step("message", message_prompt, message_accept, optional=True, when=_told),
            Step("preview", preview_prompt, preview_accept),
        ),
    )
