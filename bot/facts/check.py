"""``together-bot facts check``: can the facts file be used, and is every fact in every
supported language?

A broken file (a fact without its source, year, checked day or English text) is what
stops the bot from starting; a missing translation only makes that fact English for
the people of that language, so it is listed here for the translators.
"""

from __future__ import annotations

from pathlib import Path

from bot.facts.loader import FactBook, FactsError, load_facts
from bot.i18n.check import SUPPORTED_LOCALES


def missing_report(book: FactBook) -> list[str]:
    """One line per fact that some supported language shows in English."""
    return [
        f"fact {fact_id!r}: no {', '.join(languages)} translation (shown in English)"
        for fact_id, languages in book.missing_translations().items()
    ]


def main(path: Path | None = None) -> int:
    """Print what is wrong with the facts file; 1 when anything is, 0 otherwise."""
    try:
        book = load_facts(path)
    except FactsError as exc:
        print(f"facts check: {exc}")
        return 1
    problems = missing_report(book)
    for problem in problems:
        print(problem)
    if problems:
        print(f"facts check: {len(problems)} fact(s) missing a language")
        return 1
    print(f"facts check: {len(book.facts)} facts in all {len(SUPPORTED_LOCALES)} languages")
    return 0
