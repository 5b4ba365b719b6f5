"""Locale negotiation, CLDR plural rules and number formats in every supported locale."""

from __future__ import annotations

import gettext
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.plurals import get_plural

from bot.i18n import ngettext
from bot.i18n.check import SUPPORTED_LOCALES
from bot.i18n.formatting import format_ago, format_count, format_duration, language_name
from bot.i18n.translator import Translator, is_rtl

PLEDGED = ("{count} person has taken the pledge.", "{count} people have taken the pledge.")


@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator()


def test_every_supported_locale_is_compiled(translator: Translator) -> None:
    assert set(translator.locales) == set(SUPPORTED_LOCALES)


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("pt-BR", "pt"),
        ("pt-PT", "pt"),
        ("zh-CN", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("zh-TW", "zh_Hant"),
        ("zh-HK", "zh_Hant"),
        ("zh-MO", "zh_Hant"),
        ("zh-Hant", "zh_Hant"),
        ("zh-hant", "zh_Hant"),
        ("zh-hans", "zh_Hans"),
        ("fa-AF", "fa"),
        ("prs-AF", "fa"),
        ("ps-AF", "ps"),
        ("ur-PK", "ur"),
        ("bn-BD", "bn"),
        ("so-SO", "so"),
        ("ti-ER", "ti"),
        ("am-ET", "am"),
        ("sw-KE", "sw"),
        ("de-AT", "de"),
        ("it-IT", "it"),
        ("nb-NO,de;q=0.5", "de"),
        ("gsw", "en"),
        ("zh-Hans-SG", "zh_Hans"),
        ("ar-EG", "ar"),
        ("fa-IR", "fa"),
        ("uk-UA", "uk"),
        ("ja-JP,ja;q=0.9,en;q=0.5", "ja"),
        ("de-DE,de;q=0.9,fr;q=0.8,en;q=0.7", "de"),
        ("nl-NL,nl;q=0.9,fr;q=0.8,en;q=0.7", "fr"),
        ("tr", "tr"),
        ("es-419", "es"),
        ("", "en"),
        ("*", "en"),
        ("not a language!!", "en"),
    ],
)
def test_negotiation(translator: Translator, hint: str, expected: str) -> None:
    assert translator.negotiate(hint) == expected


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "12,345"),
        ("ja", "12,345"),
        ("zh_Hans", "12,345"),
        ("fr", "12\u202f345"),
        ("ru", "12\xa0345"),
        ("uk", "12\xa0345"),
        ("es", "12.345"),
        ("tr", "12.345"),
        ("ar", "١٢٬٣٤٥"),
        ("fa", "۱۲٬۳۴۵"),
        ("ps", "۱۲٬۳۴۵"),
        ("ur", "12,345"),
        ("bn", "১২,৩৪৫"),
        ("so", "12,345"),
        ("ti", "12,345"),
        ("am", "12,345"),
        ("sw", "12,345"),
        ("de", "12.345"),
        ("it", "12.345"),
        ("pt", "12.345"),
        ("zh_Hant", "12,345"),
    ],
)
def test_counts_in_each_locale(locale: str, expected: str) -> None:
    assert format_count(12345, locale) == expected


SAMPLE_COUNTS = (0, 1, 2, 3, 11, 100, 1_000_000)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_plural_forms_follow_cldr(translator: Translator, locale: str) -> None:
    """0, 1, 2, 3, 11, 100 and 1,000,000 pick the form Babel's CLDR rule picks, and the
    counts of one CLDR category read the same form."""
    rule = gettext.c2py(get_plural(locale).plural_expr)
    catalog = translator.catalog(locale)
    by_category: dict[str, set[str]] = {}
    with translator.use(locale):
        for n in SAMPLE_COUNTS:
            text = ngettext(*PLEDGED, n)
            if locale != "en":
                assert text == catalog.ngettext(*PLEDGED, n)
                assert getattr(catalog, "plural")(n) == rule(n), n  # noqa: B009
            by_category.setdefault(Locale.parse(locale).plural_form(n), set()).add(text)
    assert all(len(texts) == 1 for texts in by_category.values()), by_category


@pytest.mark.parametrize(
    ("locale", "categories"),
    [
        ("en", {"one", "other"}),
        ("ar", {"zero", "one", "two", "few", "many", "other"}),
        ("ru", {"one", "few", "many"}),
        ("uk", {"one", "few", "many"}),
        ("fr", {"one", "many", "other"}),
        ("es", {"one", "many", "other"}),
        ("it", {"one", "many", "other"}),
        ("pt", {"one", "many", "other"}),
    ],
)
def test_each_plural_category_has_its_own_form(
    translator: Translator, locale: str, categories: set[str]
) -> None:
    """A million people in French is "1 000 000 de personnes": "many", not "other"."""
    by_category: dict[str, set[str]] = {}
    with translator.use(locale):
        for n in SAMPLE_COUNTS:
            category = Locale.parse(locale).plural_form(n)
            by_category.setdefault(category, set()).add(ngettext(*PLEDGED, n))
    assert set(by_category) == categories
    assert len({frozenset(texts) for texts in by_category.values()}) == len(categories)


def test_a_million_pledges_in_french_and_spanish() -> None:
    translator = Translator()
    with translator.use("fr"):
        text = ngettext(*PLEDGED, 1_000_000).format(count=format_count(1_000_000, "fr"))
    assert text == "1\u202f000\u202f000 de personnes ont pris l'engagement."
    with translator.use("es"):
        text = ngettext(*PLEDGED, 2_000_000).format(count=format_count(2_000_000, "es"))
    assert text == "2.000.000 de personas han firmado el compromiso."


def test_language_names_are_in_their_own_language() -> None:
    names = {code: language_name(code) for code in SUPPORTED_LOCALES}
    assert names["ja"] == "日本語" and names["ar"] == "العربية" and names["ru"] == "Русский"
    assert names["fa"] == "فارسی" and names["uk"] == "Українська" and names["tr"] == "Türkçe"


def test_right_to_left_locales() -> None:
    assert [code for code in SUPPORTED_LOCALES if is_rtl(code)] == ["ar", "fa", "ps", "ur"]


@pytest.mark.parametrize(
    ("locale", "digit"),
    [("en", "3"), ("fr", "3"), ("ar", "٣"), ("fa", "۳"), ("ps", "۳"), ("bn", "৩"), ("ur", "3")],
)
def test_waits_and_ages_use_the_locale_s_digits(locale: str, digit: str) -> None:
    """A moderator reading Arabic or Persian sees "3 days" in their digits, as counts are."""
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert digit in format_duration(timedelta(days=3), locale)
    assert digit in format_ago(now - timedelta(days=3), now, locale)
    if digit != "3":
        assert "3" not in format_duration(timedelta(days=3), locale)


def test_the_readme_lists_every_language_with_its_review_status() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip().strip("`"): line
        for line in readme.splitlines()
        if line.startswith("| `") and line.count("|") == 9
    }
    assert set(SUPPORTED_LOCALES) <= set(rows)
    for code in SUPPORTED_LOCALES:
        assert language_name(code) in rows[code], code
        assert ("review" in rows[code]) != (code == "en"), code
