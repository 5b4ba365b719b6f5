"""/start, the main menu, help, deep links and the command menu."""

from __future__ import annotations

from urllib.parse import quote

from bot.core.dialog import DialogEngine
from bot.core.events import Choice
from bot.core.turn import Turn
from bot.i18n import N_, _

STORY, PLEDGE = "story", "pledge"

# (command, description) in the order platforms show them; descriptions are translated
# per language by command_descriptions().
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("Open the menu")),
    ("story", N_("Share your story")),
    ("pledge", N_("Take the pledge")),
    ("stories", N_("Read stories")),
    ("facts", N_("Learn the facts")),
    ("mystories", N_("See what happened to your stories")),
    ("unpledge", N_("Withdraw your pledge")),
    ("updates", N_("Milestone updates: on or off")),
    ("language", N_("Choose your language")),
    ("privacy", N_("Privacy and your data")),
    ("help", N_("How this works")),
    ("cancel", N_("Stop the current question")),
)


def command_descriptions(translate_locale: str) -> list[tuple[str, str]]:
    """The command menu in ``translate_locale`` (call inside ``Translator.use``)."""
    del translate_locale  # the caller activates the locale; kept for a clear call site
    return [(name, _(description)) for name, description in COMMANDS]


def menu_choices(turn: Turn, engine: DialogEngine) -> tuple[Choice, ...]:
    story_label = (
        _("📖 Continue your story") if engine.has_draft(turn, STORY) else _("📖 Share your story")
    )
    return (
        Choice("menu:story", story_label),
        Choice("menu:pledge", _("🤝 Take the pledge")),
        Choice("menu:stories", _("📚 Read stories")),
        Choice("menu:facts", _("📊 Learn the facts")),
        Choice("menu:mystories", _("🗂 My stories")),
        Choice("menu:language", _("🌐 Language")),
        Choice("menu:privacy", _("🔒 Privacy & my data")),
        Choice("menu:help", _("❓ Help")),
    )


def show_menu(turn: Turn, engine: DialogEngine, text: str | None = None) -> None:
    turn.say(
        text or _("What would you like to do?"),
        menu_choices(turn, engine),
    )


def start_link(turn: Turn, payload: str) -> str:
    """A link that opens the bot with ``/start <payload>``: the Telegram bot for someone
    on Telegram (when its username is set), a chat with the bot's number for someone on
    WhatsApp (when WHATSAPP_PHONE_NUMBER is set: the payload is the message it fills in,
    which the WhatsApp adapter reads as ``/start <payload>``), else the web chat."""
    settings = turn.deps.settings
    username = settings.telegram_bot_username.lstrip("@")
    platform = turn.inbound.platform
    if platform == "telegram" and username:
        return f"https://t.me/{username}?start={quote(payload)}"
    if platform == "whatsapp" and settings.whatsapp_phone_number:
        return f"https://wa.me/{settings.whatsapp_phone_number}?text={quote(payload)}"
    return f"{settings.resolved_public_url}/?start={quote(payload)}"


def welcome_text() -> str:
    return _(
        "Welcome to TOGETHER — Respect, Safety and Dignity for All.\n\n"
        "Here you can tell your own migration story, in your own words, "
        "or take the pledge to stand with refugees and migrants."
    )


def help_text() -> str:
    return _(
        "How this works:\n"
        "• Share your story: I ask a few short questions, then you tell your story "
        "in messages, photos, voice notes or short videos. You can stop at any time "
        "and continue later.\n"
        "• Every story is read by a person before anything is published. "
        "You choose how you are credited, and you can withdraw your story at any time.\n"
        "• Take the pledge: one tap to stand with refugees and migrants.\n\n"
        "Commands: /start menu, /story, /pledge, /mystories, /language, /privacy, "
        "/cancel to stop the current question."
    )
