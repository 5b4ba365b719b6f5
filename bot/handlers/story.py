"""The story flow: consent, age, credit, countries, the story, a message, preview, submit."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select
from sqlmodel import col

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
from bot.core.turn import Turn
from bot.handlers.countries import country_accept, country_prompt, describe_country
from bot.handlers.safety import send_helplines
from bot.i18n import _, ngettext
from bot.i18n.formatting import format_count, isolate
from bot.review.service import ReviewService
from moderation.errors import NotAllowed
from moderation.intake import receive_story
from storage.models import CreditMode, Story, StoryMedia, StoryRevision, utcnow

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
def consent_prompt(turn: Turn) -> Prompt:
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
        version = turn.deps.settings.consent_version
        turn.participant.consent_version = version
        turn.participant.consent_at = utcnow()
        turn.draft["consent_version"] = version
        return Next()
    if choice == "no":
        turn.say(
            _("That's completely fine. Nothing was saved. You can come back any time with /story.")
        )
        return Finish()
    return Invalid(_("Please choose one of the buttons."))


# -- age -----------------------------------------------------------------------------------
def age_prompt(turn: Turn) -> Prompt:
    return Prompt(
        _("Are you 18 or older?"), _yes_no(_("Yes, I am 18 or older"), _("No, I am under 18"))
    )


async def age_accept(turn: Turn) -> Result:
    choice = _choice(turn)
    if choice not in {"yes", "no"}:
        return Invalid(_("Please choose one of the buttons."))
    turn.draft["is_adult"] = choice == "yes"
    if choice == "no":
        turn.say(
            _(
                "Thank you for telling me. You can still share your story. Because you are "
                "under 18, someone from our safety team will read it first, and it will never "
                "be published with your name."
            )
        )
        turn.draft["credit_mode"] = CreditMode.ANONYMOUS.value
        turn.draft.pop("credit_name", None)
    return Next()


# -- credit --------------------------------------------------------------------------------
def credit_prompt(turn: Turn) -> Prompt:
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
    return Prompt(_("What is your full name, as it should appear?"))


async def credit_name_accept(turn: Turn) -> Result:
    text = (turn.inbound.text or "").strip() if turn.inbound.kind is InboundKind.TEXT else ""
    if not text:
        return Invalid(_("Please type your name."))
    if len(text) > NAME_MAX or "\n" in text:
        return Invalid(
            _("That is a bit long for a name. Please use one line, up to 60 characters.")
        )
    turn.draft["credit_name"] = text
    return Next()


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
            _(
                "Now, tell your story, in your own words. Where did you start from, what "
                "happened on the way, and what is your life like now?"
            ),
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


def story_text(draft: dict[str, object]) -> str:
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
        return Next()
    if _choice(turn) == "clear":
        turn.draft["parts"], turn.draft["media"] = [], []
        turn.say(_("Your story is empty again. Start whenever you are ready."))
        return Stay()
    if inbound.kind is InboundKind.EDIT:
        for part in parts:
            if inbound.edit_of and part.get("message_id") == inbound.edit_of:
                part["text"] = (inbound.text or "").strip()
                turn.draft["parts"] = parts
                turn.say(_("I've updated that part of your story."), (done_choice(),))
                return Stay()
        return Stay()
    new_text = (inbound.text if inbound.kind is InboundKind.TEXT else inbound.caption) or ""
    new_text = new_text.strip()
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
        total = len(story_text({"parts": parts})) + len(new_text)
        if total > settings.story_max_chars:
            return Invalid(
                _(
                    "That message would make your story longer than {chars} characters, so I "
                    "couldn't add it. Could you shorten it and send it again?"
                ).format(chars=format_count(settings.story_max_chars, turn.locale))
            )
        parts.append({"text": new_text, "message_id": inbound.message_id or ""})
    turn.draft["parts"], turn.draft["media"] = parts, media
    count = len(story_text({"parts": parts}))
    turn.say(
        ngettext(
            "Got it — {count} character so far.",
            "Got it — {count} characters so far.",
            count,
        ).format(count=format_count(count, turn.locale))
        + "\n"
        + _("Send more, or tap “I'm done”."),
        (done_choice(),),
    )
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
def message_prompt(turn: Turn) -> Prompt:
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
    if len(text) > MESSAGE_MAX or "\n" in text:
        return Invalid(_("Please keep it to one line of up to 200 characters."))
    turn.draft["community_message"] = text
    return Next()


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
            await submit(turn)
            return Finish()
        return Invalid(_("Please choose one of the buttons."))

    return preview_accept


async def submit(turn: Turn) -> None:
    """Store the story and its first revision, and put it in the moderation queue."""
    d, deps, session = turn.draft, turn.deps, turn.session
    text = story_text(d)
    story = Story(
        participant_id=turn.participant_id,
        locale=turn.locale,
        credit_mode=str(d.get("credit_mode", CreditMode.ANONYMOUS.value)),
        credit_name=d.get("credit_name"),
        origin_country=d.get("origin"),
        current_country=d.get("residence"),
        community_message=d.get("community_message"),
        is_adult=bool(d.get("is_adult", True)),
        consent_version=str(d.get("consent_version", deps.settings.consent_version)),
    )
    session.add(story)
    await session.flush()
    assert story.id is not None
    revision = StoryRevision(
        story_id=story.id,
        number=1,
        text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        author="storyteller",
    )
    session.add(revision)
    for position, item in enumerate(d.get("media") or []):
        ref = MediaRef.from_json(item)
        session.add(
            StoryMedia(
                story_id=story.id,
                position=position,
                kind=ref.kind.value,
                platform=turn.inbound.platform,
                ref=ref.ref,
                mime=ref.mime,
                size=ref.size,
                duration=ref.duration,
            )
        )
    await session.flush()
    screening = await deps.screener.screen(
        text + "\n" + str(d.get("community_message") or ""),
        locale=turn.locale,
        is_adult=story.is_adult,
        region_hint=d.get("residence"),
    )
    item = await receive_story(session, story=story, revision=revision, screening=screening)
    assert item.id is not None
    await ReviewService(deps).announce(session, item.id)
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
                country_prompt(lambda: _("Which country do you come from?")),
                country_accept("origin"),
                optional=True,
            ),
            Step(
                "residence",
                country_prompt(lambda: _("In which country do you live now?")),
                country_accept("residence"),
                optional=True,
            ),
            Step("story", story_prompt, story_accept),
            Step("message", message_prompt, message_accept, optional=True),
            Step("preview", preview_prompt, preview_accept),
        ),
    )


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
    story = await turn.session.get(Story, int(turn.draft.get("story_id") or 0))
    if story is None or story.id is None or story.participant_id != turn.participant_id:
        turn.say(_("That story can't be changed any more."))
        return Finish()
    last = (
        await turn.session.execute(
            select(func.max(col(StoryRevision.number))).where(
                col(StoryRevision.story_id) == story.id
            )
        )
    ).scalar_one()
    text = story_text(turn.draft)
    revision = StoryRevision(
        story_id=story.id,
        number=int(last or 0) + 1,
        text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        author="storyteller",
    )
    turn.session.add(revision)
    await turn.session.flush()
    screening = await turn.deps.screener.screen(
        text + "\n" + str(story.community_message or ""),
        locale=story.locale,
        is_adult=story.is_adult,
        region_hint=story.current_country,
    )
    try:
        await receive_story(turn.session, story=story, revision=revision, screening=screening)
    except NotAllowed:
        turn.say(_("That story can't be changed any more."))
        return Finish()
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
