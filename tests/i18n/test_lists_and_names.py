"""Lists and the credit line in every locale: CLDR's list patterns, the catalog's message
patterns, and a name in Latin letters isolated inside right-to-left text."""

from __future__ import annotations

import unicodedata

import pytest

from bot.i18n.check import SUPPORTED_LOCALES
from bot.i18n.formatting import FSI, PDI, country_name, format_alternatives, format_items
from bot.i18n.translator import Translator, is_rtl
from bot.review.delivery import credit_line
from storage.models import Story

# What CLDR says, written out here (not read back from Babel): "A, B and C", "A, B or C".
LISTS = {
    "en": ("A, B, and C", "A, B, or C"),
    "ja": ("A、B、C", "A、B、またはC"),
    "ar": ("A وB وC", "A أو B أو C"),
    "es": ("A, B y C", "A, B o C"),
    "fr": ("A, B et C", "A, B ou C"),
    "ru": ("A, B и C", "A, B или C"),
    "zh_Hans": ("A、B和C", "A、B或C"),
    "uk": ("A, B і C", "A, B або C"),
    "fa": ("A،\u200f B، و C", "A،\u200f B، یا C"),
    "tr": ("A, B ve C", "A, B veya C"),
    "ps": ("A، B، او C", "A, B, یا C"),
    "ur": ("A، B، اور C", "A، B، یا C"),
    "bn": ("A, B এবং C", "A, B, বা C"),
    "so": ("A, B iyo C", "A, B ama C"),
    "ti": ("A፣ Bን Cን", "A፣ B ወይ C"),
    "am": ("A፣ B እና C", "A፣ B ወይም C"),
    "sw": ("A, B na C", "A, B au C"),
    "de": ("A, B und C", "A, B oder C"),
    "it": ("A, B e C", "A, B o C"),
    "pt": ("A, B e C", "A, B ou C"),
    "zh_Hant": ("A、B和C", "A、B或C"),
}


def test_every_locale_has_its_lists_written_out() -> None:
    assert set(LISTS) == set(SUPPORTED_LOCALES)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_lists_the_locale_s_way(locale: str) -> None:
    both, either = LISTS[locale]
    assert format_items(["A", "B", "C"], locale) == both
    assert format_alternatives(["A", "B", "C"], locale) == either
    assert format_items(["A"], locale) == "A"


def story(name: str | None, origin: str | None = "SY", residence: str | None = "JP") -> Story:
    return Story(
        locale="en",
        credit_mode="first_name" if name else "anonymous",
        credit_name=name,
        origin_country=origin,
        current_country=residence,
        consent_version="1",
    )


def first_strong_direction(text: str) -> str | None:
    """The paragraph direction Unicode's rule P2 finds: the first L, R or AL character,
    skipping what is inside isolates."""
    depth = 0
    for char in text:
        if char in (FSI, "\u2066", "\u2067"):
            depth += 1
        elif char == PDI:
            depth = max(depth - 1, 0)
        elif depth == 0:
            kind = unicodedata.bidirectional(char)
            if kind == "L":
                return "ltr"
            if kind in ("R", "AL"):
                return "rtl"
    return None


def test_the_english_credit_line() -> None:
    assert credit_line(story("Amina Haddad"), "en") == "— Amina, from Syria, living in Japan"
    assert credit_line(story("Amina", residence=None), "en") == "— Amina, from Syria"
    assert credit_line(story("Amina", origin=None), "en") == "— Amina, living in Japan"
    assert credit_line(story(None, None, None), "en") == "— Anonymous"


def test_the_arabic_credit_line_reads_right_to_left_around_a_latin_name() -> None:
    with Translator().use("ar"):
        line = credit_line(story("Amina"), "ar")
    assert line == f"— {FSI}Amina{PDI}، من سوريا، مكان الإقامة: اليابان"
    assert first_strong_direction(line) == "rtl"
    assert ", " not in line  # Arabic commas, not English ones


@pytest.mark.parametrize("locale", [code for code in SUPPORTED_LOCALES if code != "en"])
def test_the_credit_line_in_every_locale(locale: str) -> None:
    with Translator().use(locale):
        line = credit_line(story("Amina"), locale)
        anonymous = credit_line(story(None), locale)
    for country in ("SY", "JP"):
        assert country_name(country, locale) in line
    assert "from" not in line and "living" not in line and "Anonymous" not in anonymous
    if is_rtl(locale):
        # The name alone is isolated, and the line keeps the language's direction.
        assert f"{FSI}Amina{PDI}" in line and line.count(FSI) == 1
        assert first_strong_direction(line) == "rtl"
        assert first_strong_direction(anonymous) == "rtl"
    else:
        assert FSI not in line and "Amina" in line
