"""Locale negotiation, CLDR plural rules and number formats in every supported locale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from babel import Locale

from bot.i18n import ngettext
from bot.i18n.check import SUPPORTED_LOCALES
from bot.i18n.formatting import format_ago, format_count, format_duration, language_name
from bot.i18n.translator import Translator, is_rtl

PLEDGED = ("{count} person has taken the pledge.", "{count} people have taken the pledge.")


@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator()


def test_all_ten_locales_are_compiled(translator: Translator) -> None:
    assert set(translator.locales) == set(SUPPORTED_LOCALES)


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("pt-BR", "en"),
        ("zh-CN", "zh_Hans"),
        ("zh-Hans-SG", "zh_Hans"),
        ("ar-EG", "ar"),
        ("fa-IR", "fa"),
        ("uk-UA", "uk"),
        ("ja-JP,ja;q=0.9,en;q=0.5", "ja"),
        ("de-DE,de;q=0.9,fr;q=0.8,en;q=0.7", "fr"),
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
    ],
)
def test_counts_in_each_locale(locale: str, expected: str) -> None:
    assert format_count(12345, locale) == expected


@pytest.mark.parametrize("locale", ["en", "ar", "ru", "uk"])
def test_plural_forms_follow_cldr(translator: Translator, locale: str) -> None:
    """0, 1, 2, 3, 11 and 100 pick the CLDR category's own form, different per category."""
    categories: dict[str, set[str]] = {}
    with translator.use(locale):
        for n in (0, 1, 2, 3, 11, 100):
            text = ngettext(*PLEDGED, n).format(count=n)
            categories.setdefault(Locale.parse(locale).plural_form(n), set()).add(
                text.replace(str(n), "#")
            )
    forms = {frozenset(v) for v in categories.values()}
    expected_categories = {
        "en": {"one", "other"},
        "ar": {"zero", "one", "two", "few", "many", "other"},
        "ru": {"one", "few", "many"},
        "uk": {"one", "few", "many"},
    }[locale]
    assert set(categories) == expected_categories
    assert all(len(v) == 1 for v in categories.values())  # one form per category
    assert len(forms) == len(categories)  # and each category has its own form


def test_language_names_are_in_their_own_language() -> None:
    names = {code: language_name(code) for code in SUPPORTED_LOCALES}
    assert names["ja"] == "日本語" and names["ar"] == "العربية" and names["ru"] == "Русский"
    assert names["fa"] == "فارسی" and names["uk"] == "Українська" and names["tr"] == "Türkçe"


def test_right_to_left_locales() -> None:
    assert [code for code in SUPPORTED_LOCALES if is_rtl(code)] == ["ar", "fa"]


@pytest.mark.parametrize(
    ("locale", "digit"),
    [("en", "3"), ("fr", "3"), ("ar", "٣"), ("fa", "۳")],
)
def test_waits_and_ages_use_the_locale_s_digits(locale: str, digit: str) -> None:
    """A moderator reading Arabic or Persian sees "3 days" in their digits, as counts are."""
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert digit in format_duration(timedelta(days=3), locale)
    assert digit in format_ago(now - timedelta(days=3), now, locale)
    if digit != "3":
        assert "3" not in format_duration(timedelta(days=3), locale)
