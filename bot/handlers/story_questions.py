"""The story's questions and the rules their answers follow.

The chat flow (:mod:`bot.handlers.story`), the story form (:mod:`bot.handlers.story_form`)
and a new version (:mod:`bot.handlers.revise`) ask and check the same way, so a story
is held to the same limits whichever path it takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bot.config import Settings
from bot.core.dialog import Prompt
from bot.core.events import Choice, InboundKind
from bot.core.turn import Turn
from bot.i18n import _, ngettext
from bot.i18n.formatting import format_count
from storage.models import CreditMode, StoryKind, utcnow

NAME_MAX = 60
MESSAGE_MAX = 200
FILM_TITLE_MAX = 120
FILM_ABOUT_MAX = 500
FILM_LINK_MAX = 300
# Films too large to send here are linked on one of these hosts, over https only.
FILM_HOSTS = frozenset(
    {"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "vimeo.com", "www.vimeo.com"}
)
CHILD = "child"  # the age step's answer of an adult sharing a child's story


def _yes_no(yes: str, no: str) -> tuple[Choice, ...]:
    return (Choice("c:yes", yes), Choice("c:no", no))


def chosen(turn: Turn) -> str | None:
    """The step's button the person tapped, without its ``c:`` prefix; None for anything else."""
    choice = turn.inbound.choice if turn.inbound.kind is InboundKind.CHOICE else None
    return choice[2:] if choice and choice.startswith("c:") else None


def story_kind(draft: Mapping[str, Any]) -> StoryKind:
    """The kind of story the draft is; a draft from before the question is a migrant's."""
    try:
        return StoryKind(str(draft.get("kind", StoryKind.MIGRANT.value)))
    except ValueError:
        return StoryKind.MIGRANT


# -- the questions, without the conversation (they also label the form) --------------------
def kind_choices() -> tuple[Choice, ...]:
    return (
        Choice("c:" + StoryKind.MIGRANT.value, _("🧳 My own migration story")),
        Choice("c:" + StoryKind.HOST_COMMUNITY.value, _("🏡 Welcoming newcomers in my community")),
        Choice("c:" + StoryKind.FILM.value, _("🎬 A short film")),
    )


def kind_question() -> str:
    return _(
        "Are you sharing your own migration story, or a story of welcoming newcomers in "
        "your community?"
    )


def kind_prompt(turn: Turn | None = None) -> Prompt:
    return Prompt(
        kind_question() + " " + _("Young filmmakers can also share a short film."),
        kind_choices(),
    )


def kind_label(kind: StoryKind) -> str:
    """The kind, as the storyteller chose it (the preview's first line)."""
    labels = {choice.id[2:]: choice.label for choice in kind_choices()}
    return labels[kind.value]


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


def child_choice() -> Choice:
    return Choice("c:" + CHILD, _("👧 A child's story I am sharing with them"))


def under_18_text() -> str:
    return _(
        "Thank you for wanting to share your story. Because you are under 18, a parent, "
        "guardian or teacher needs to share it with you: ask them to open this chat and "
        "choose “A child's story I am sharing with them”."
    )


def guardian_prompt(turn: Turn | None = None) -> Prompt:
    return Prompt(
        _(
            "Because this is a child's story, we will not ask for the child's name. Our "
            "safety team reads it first, and it is never published with a name.\n\n"
            "Please confirm: you are the child's parent, guardian or teacher, and the "
            "child agrees to share this story."
        ),
        _yes_no(_("✅ I confirm"), _("No")),
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


def community_question() -> str:
    return _("Where is your community?")


def story_question(kind: StoryKind = StoryKind.MIGRANT) -> str:
    if kind is StoryKind.HOST_COMMUNITY:
        return _(
            "Now, tell your community's story, in your own words. Who arrived, how were "
            "they welcomed, and what changed when the newcomers arrived?"
        )
    return _(
        "Now, tell your story, in your own words. Where did you start from, what "
        "happened on the way, and what is your life like now?"
    )


def host_message_question() -> str:
    return _("Optional: one line you would like to say to the newcomers in your community.")


def message_prompt(turn: Turn | None = None) -> Prompt:
    if turn is not None and story_kind(turn.draft) is StoryKind.HOST_COMMUNITY:
        return Prompt(host_message_question())
    return Prompt(
        _(
            "Optional: one line you would like to say to the people of the country where "
            "you live now."
        )
    )


def film_prompt(settings: Settings, locale: str) -> Prompt:
    mb = format_count(settings.media_max_bytes // (1024 * 1024), locale)
    return Prompt(
        _(
            "Please send your film as one video. Here a video can be up to {mb} MB.\n\n"
            "Is your film larger? Then send a link to it on YouTube or Vimeo instead, "
            "starting with https://"
        ).format(mb=mb)
    )


def film_title_question() -> str:
    return _("What is your film's title?")


def film_about_question() -> str:
    return _("Describe your film in a few sentences: what is it about?")


# -- what the answers must be --------------------------------------------------------------
def name_problem(text: str) -> str | None:
    if not text:
        return _("Please type your name.")
    if len(text) > NAME_MAX or "\n" in text:
        return _("That is a bit long for a name. Please use one line, up to 60 characters.")
    return None


def film_link(text: str) -> str | None:
    """``text`` as a link to a film on a known host (https, no user, no port), or None."""
    if not text or len(text) > FILM_LINK_MAX or any(c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or port is not None or parts.username or parts.password:
        return None
    if (parts.hostname or "") not in FILM_HOSTS or parts.path.strip("/") == "":
        return None
    if not text.isprintable():
        return None
    return text


def film_title_problem(text: str) -> str | None:
    if not text:
        return _("Please type the title of your film.")
    if len(text) > FILM_TITLE_MAX or "\n" in text:
        return _("Please keep the title to one line of up to 120 characters.")
    return None


def film_about_problem(text: str) -> str | None:
    if not text:
        return _("Please describe your film in a few sentences.")
    if len(text) > FILM_ABOUT_MAX:
        return _("Please keep the description to 500 characters or fewer.")
    return None


def message_problem(text: str) -> str | None:
    if len(text) > MESSAGE_MAX or "\n" in text:
        return _("Please keep it to one line of up to 200 characters.")
    return None


def story_text(draft: Mapping[str, object]) -> str:
    """The text of the story's first revision. A film's is its title (the first line,
    so the wall's first-sentence title is the maker's), its description and its link."""
    if story_kind(draft) is StoryKind.FILM:
        lines = (draft.get("film_title"), draft.get("film_about"), draft.get("film_link"))
        return "\n\n".join(str(line) for line in lines if line)
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
