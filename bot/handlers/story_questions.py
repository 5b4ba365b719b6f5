"""The story's questions and the rules their answers follow.

The chat flow (:mod:`bot.handlers.story`), the story form (:mod:`bot.handlers.story_form`)
and a new version (:mod:`bot.handlers.revise`) ask and check the same way, so a story
is held to the same limits whichever path it takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.config import Settings
from bot.core.dialog import Prompt
from bot.core.events import Choice, InboundKind
from bot.core.turn import Turn
from bot.i18n import _, ngettext
from bot.i18n.formatting import format_count
from storage.models import CreditMode, utcnow

NAME_MAX = 60
MESSAGE_MAX = 200


def _yes_no(yes: str, no: str) -> tuple[Choice, ...]:
    return (Choice("c:yes", yes), Choice("c:no", no))


def chosen(turn: Turn) -> str | None:
    """The step's button the person tapped, without its ``c:`` prefix; None for anything else."""
    choice = turn.inbound.choice if turn.inbound.kind is InboundKind.CHOICE else None
    return choice[2:] if choice and choice.startswith("c:") else None


# -- the questions, without the conversation (they also label the form) --------------------
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


def record_consent(turn: Turn) -> str:
    """Record on the person that they agreed to the current terms; returns the version."""
    version = turn.deps.settings.consent_version
    turn.participant.consent_version = version
    turn.participant.consent_at = utcnow()
    return version


def age_prompt(turn: Turn | None = None) -> Prompt:
    return Prompt(
        _("Are you 18 or older?"), _yes_no(_("Yes, I am 18 or older"), _("No, I am under 18"))
    )


def apply_age(draft: dict[str, Any], is_adult: bool) -> None:
    """A storyteller under 18 is never published with their name."""
    draft["is_adult"] = is_adult
    if not is_adult:
        draft["credit_mode"] = CreditMode.ANONYMOUS.value
        draft.pop("credit_name", None)


def credit_prompt(turn: Turn | None = None) -> Prompt:
    return Prompt(
        _("If your story is published, how should we credit you?"),
        (
            Choice("c:" + CreditMode.FULL_NAME.value, _("My full name")),
            Choice("c:" + CreditMode.FIRST_NAME.value, _("My first name only")),
            Choice("c:" + CreditMode.ANONYMOUS.value, _("Anonymous")),
        ),
    )


def full_name_question() -> str:
    return _("What is your full name, as it should appear?")


def origin_question() -> str:
    return _("Which country do you come from?")


def residence_question() -> str:
    return _("In which country do you live now?")


def story_question() -> str:
    return _(
        "Now, tell your story, in your own words. Where did you start from, what "
        "happened on the way, and what is your life like now?"
    )


def message_prompt(turn: Turn | None = None) -> Prompt:
    return Prompt(
        _(
            "Optional: one line you would like to say to the people of the country where "
            "you live now."
        )
    )


# -- what the answers must be --------------------------------------------------------------
def name_problem(text: str) -> str | None:
    if not text:
        return _("Please type your name.")
    if len(text) > NAME_MAX or "\n" in text:
        return _("That is a bit long for a name. Please use one line, up to 60 characters.")
    return None


def message_problem(text: str) -> str | None:
    if len(text) > MESSAGE_MAX or "\n" in text:
        return _("Please keep it to one line of up to 200 characters.")
    return None


def story_text(draft: Mapping[str, object]) -> str:
    parts = draft.get("parts") or []
    assert isinstance(parts, list)
    return "\n\n".join(str(p["text"]) for p in parts if str(p["text"]).strip())


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
