"""Translations, locale negotiation and CLDR formatting.

``_``, ``ngettext`` and ``pgettext`` translate into the locale of the event being
handled, taken from a context variable set per event (never a process-wide gettext).
"""

from bot.i18n.translator import (
    N_,
    Translator,
    _,
    current_locale,
    ngettext,
    pgettext,
)

__all__ = ["N_", "Translator", "_", "current_locale", "ngettext", "pgettext"]
