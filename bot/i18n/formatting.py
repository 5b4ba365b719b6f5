"""Numbers, dates, country and language names from Babel/CLDR, in a given locale."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_timedelta
from babel.lists import format_list
from babel.numbers import format_decimal

from bot.i18n.translator import is_rtl

# CLDR "territories" include regions and groupings; these are not places people live.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB", "XK_", "AQ"})
FSI, PDI = "\u2068", "\u2069"  # first-strong isolate / pop directional isolate


def babel_locale(locale: str) -> Locale:
    return Locale.parse(locale)


# Digits of the numbering systems CLDR names for our locales (Babel formats the
# separators of a numbering system but always writes ASCII digits).
_DIGITS = {
    "arab": "٠١٢٣٤٥٦٧٨٩",
    "arabext": "۰۱۲۳۴۵۶۷۸۹",
    "beng": "০১২৩৪৫৬৭৮৯",
}
# Languages written here in their native digits where CLDR's default is Latin: CLDR made
# ``latn`` the default for ``ar``; many Arabic readers, and this campaign's Arabic texts,
# use ``arab``. (Urdu keeps CLDR's Latin digits, as Pakistan's Urdu press and phones do.)
_NATIVE_DIGITS = frozenset({"ar"})


def numbering_system(locale: str) -> str:
    """The locale's CLDR default numbering system (``beng`` for Bengali, ``arabext`` for
    Persian and Pashto, ``latn`` for most), or its native one for :data:`_NATIVE_DIGITS`."""
    parsed = babel_locale(locale)
    default = str(parsed.default_numbering_system)
    native = parsed.other_numbering_systems.get("native")
    if parsed.language in _NATIVE_DIGITS and native in _DIGITS:
        return str(native)
    return default


def format_count(n: int, locale: str) -> str:
    """``12345`` -> ``12,345`` (en), ``12 345`` (fr), ``١٢٬٣٤٥`` (ar), as CLDR says."""
    system = numbering_system(locale)
    text = format_decimal(n, locale=babel_locale(locale), numbering_system=system)
    return native_digits(text, system)


def native_digits(text: str, system: str) -> str:
    """ASCII digits written in the numbering system's own (Babel writes ASCII)."""
    digits = _DIGITS.get(system)
    return text.translate(str.maketrans("0123456789", digits)) if digits else text


def format_duration(waited: timedelta, locale: str) -> str:
    """``2 days``, ``75 minutes``: a wait in the locale's words and digits, in its
    largest unit (rounded)."""
    text = format_timedelta(
        max(waited, timedelta()), threshold=2, format="long", locale=babel_locale(locale)
    )
    return native_digits(text, numbering_system(locale))


def format_day(moment: datetime, locale: str) -> str:
    """``6 December 2026``, ``٦ ديسمبر ٢٠٢٦``: the locale's long date in its digits."""
    text = _format_date(moment, format="long", locale=babel_locale(locale))
    return native_digits(text, numbering_system(locale))


def format_ago(moment: datetime, now: datetime, locale: str) -> str:
    text = format_timedelta(moment - now, add_direction=True, locale=babel_locale(locale))
    return native_digits(text, numbering_system(locale))


def format_items(items: Sequence[str], locale: str) -> str:
    """``Published: 1, Waiting: 2 and Rejected: 1``: a list the locale's way (CLDR's
    "standard" list pattern: "A, B y C", "A وB وC", "A、B和C", "A፣ B እና C")."""
    return format_list(list(items), style="standard", locale=babel_locale(locale))


def format_alternatives(items: Sequence[str], locale: str) -> str:
    """``Syria, Somalia or Sudan``: a choice the locale's way (CLDR's "or" pattern)."""
    return format_list(list(items), style="or", locale=babel_locale(locale))


def isolate(text: str, locale: str) -> str:
    """Wrap user text in Unicode isolates inside right-to-left messages.

    A Latin name or a number inside Arabic text otherwise reorders the punctuation
    around it; isolates keep each run readable. Left-to-right messages are unchanged.
    """
    return f"{FSI}{text}{PDI}" if is_rtl(locale) else text


@lru_cache(maxsize=64)
def countries(locale: str) -> tuple[tuple[str, str], ...]:
    """(ISO code, name) of every country, sorted by its name in ``locale``."""
    names = babel_locale(locale).territories
    items = [
        (code, name)
        for code, name in names.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    ]
    return tuple(sorted(items, key=lambda item: _fold(item[1])))


def country_name(code: str, locale: str) -> str:
    return str(babel_locale(locale).territories.get(code, code))


def language_name(locale: str) -> str:
    """A language's name in that language: ``ja`` -> 日本語, ``ar`` -> العربية."""
    parsed = babel_locale(locale)
    name = parsed.get_display_name(parsed) or locale
    return name[:1].upper() + name[1:]


def search_countries(query: str, locale: str, limit: int = 8) -> list[tuple[str, str]]:
    """Countries whose name (in ``locale`` or English) or code matches what was typed.

    Accents and case are ignored; names that start with the query come first.
    """
    needle = _fold(query)
    if not needle:
        return []
    english = dict(countries("en"))
    starts: list[tuple[str, str]] = []
    contains: list[tuple[str, str]] = []
    for code, name in countries(locale):
        folded = {_fold(name), _fold(english.get(code, ""))}
        if needle == code.casefold() or any(f == needle for f in folded):
            return [(code, name)]
        if any(f.startswith(needle) for f in folded):
            starts.append((code, name))
        elif len(needle) >= 3 and any(needle in f for f in folded):
            contains.append((code, name))
    return (starts + contains)[:limit]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold().strip())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
