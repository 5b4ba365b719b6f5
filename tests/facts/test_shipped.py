"""The facts the bot ships: every one in every language, and no figure in them that
is not in the publications listed in bot/facts/FACTS.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.facts import DEFAULT_FACTS_FILE, Fact, load_facts
from bot.i18n.check import SUPPORTED_LOCALES

SOURCES = (Path(DEFAULT_FACTS_FILE).parent / "FACTS.md").read_text(encoding="utf-8")
# "1,531,345", "123.2", "40" of "40%", "2024" of "mid-2024"
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Arabic-Indic, Persian and Bengali digits, read as ASCII digits.
DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹০১২৩৪৫৬৭৮৯", "0123456789" * 3)
FACTS = load_facts().facts


def numbers(text: str) -> set[str]:
    return set(NUMBER.findall(text))


def english(fact: Fact) -> str:
    text = fact.texts["en"]
    return " ".join((text.question, text.figure, text.as_of, text.answer))


def test_at_least_eight_facts_every_one_in_every_language() -> None:
    assert len(FACTS) >= 8
    for fact in FACTS:
        assert set(fact.texts) == set(SUPPORTED_LOCALES), fact.id


@pytest.mark.parametrize("fact", FACTS, ids=lambda fact: fact.id)
def test_every_figure_in_the_english_text_is_in_the_sources(fact: Fact) -> None:
    made_up = numbers(english(fact)) - numbers(SOURCES)
    assert made_up == set(), f"{fact.id}: figures not in FACTS.md: {sorted(made_up)}"


def test_the_figure_check_catches_a_made_up_figure() -> None:
    assert numbers("At the end of 2024, 125.9 million people") - numbers(SOURCES) == {"125.9"}


@pytest.mark.parametrize("fact", FACTS, ids=lambda fact: fact.id)
def test_every_source_and_checked_day_is_the_one_listed(fact: Fact) -> None:
    assert fact.source.title in SOURCES
    assert fact.source.publisher in SOURCES
    assert fact.source.url in SOURCES
    rows = [line for line in SOURCES.splitlines() if fact.checked.isoformat() in line]
    assert rows, f"{fact.id}: checked day {fact.checked} not in FACTS.md"


@pytest.mark.parametrize("fact", FACTS, ids=lambda fact: fact.id)
def test_every_translation_keeps_the_year(fact: Fact) -> None:
    years = set(re.findall(r"\b(?:19|20)\d\d\b", fact.texts["en"].as_of))
    for locale, text in fact.texts.items():
        as_of = text.as_of.translate(DIGITS)
        answer = text.answer.translate(DIGITS)
        for year in years:
            assert year in as_of and year in answer, f"{fact.id} ({locale}): year {year}"
