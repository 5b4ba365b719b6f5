"""/language: the supported languages, each in its own name."""

from __future__ import annotations

from bot.core.events import Choice
from bot.core.turn import Turn
from bot.i18n import _
from bot.i18n.formatting import language_name


def language_choices(turn: Turn) -> tuple[Choice, ...]:
    return tuple(
        Choice(f"lang:{code}", language_name(code)) for code in turn.deps.translator.locales
    )


def ask_language(turn: Turn) -> None:
    turn.say(_("Which language would you like me to use?"), language_choices(turn))


def choose_language(turn: Turn, code: str) -> bool:
    """Store the person's explicit choice. False for a language we do not have."""
    if not turn.deps.translator.supports(code):
        turn.say(_("Sorry, that language is not available yet."))
        ask_language(turn)
        return False
    turn.set_locale(code)
    # Translators: say the name of *your* language here, not "English".
    turn.say(_("From now on I will write to you in English."))
    return True
