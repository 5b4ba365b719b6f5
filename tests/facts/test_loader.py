"""The facts file is refused whole when a fact lacks its source, year, checked day or
English text, and the message names the fact and the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.facts.loader import FactsError, load_facts, parse_facts


def fact(**changes: Any) -> dict[str, Any]:
    """A valid fact; ``changes`` replace its fields (None removes one)."""
    base: dict[str, Any] = {
        "id": "children",
        "source": {
            "title": "Global Trends: Forced Displacement in 2024",
            "publisher": "UNHCR",
            "url": "https://www.unhcr.org/global-trends",
        },
        "checked": "2026-12-05",
        "text": {
            "en": {
                "question": "How many of them are children?",
                "figure": "About 40%",
                "as_of": "end of 2024",
                "answer": "At the end of 2024, about 40% of all forcibly displaced people "
                "were children.",
            },
            "fr": {
                "question": "Combien d’entre eux sont des enfants ?",
                "figure": "Environ 40 %",
                "as_of": "fin 2024",
                "answer": "Fin 2024, environ 40 % des personnes déplacées de force "
                "étaient des enfants.",
            },
        },
    }
    return changed(base, changes)


def with_text(locale: str, **changes: Any) -> dict[str, Any]:
    """A valid fact whose ``locale`` text has ``changes`` (None removes a field)."""
    result = fact()
    changed(result["text"][locale], changes)
    return result


def with_source(**changes: Any) -> dict[str, Any]:
    """A valid fact whose source has ``changes`` (None removes a field)."""
    result = fact()
    changed(result["source"], changes)
    return result


def changed(target: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for field, value in changes.items():
        if value is None:
            target.pop(field, None)
        else:
            target[field] = value
    return target


def refused(*facts: dict[str, Any]) -> str:
    with pytest.raises(FactsError) as caught:
        parse_facts({"facts": list(facts)}, name="facts.json")
    return str(caught.value)


def test_a_complete_fact_is_read_with_its_source_year_and_checked_day() -> None:
    book = parse_facts({"about": "a note for operators", "facts": [fact()]})
    (children,) = book.facts
    assert children.source.label == "Global Trends: Forced Displacement in 2024, UNHCR"
    assert children.source.url == "https://www.unhcr.org/global-trends"
    assert children.checked.isoformat() == "2026-12-05"
    assert children.text("fr").figure == "Environ 40 %"
    assert children.text("en").as_of == "end of 2024"


def test_a_missing_translation_falls_back_to_english_and_is_reported() -> None:
    book = parse_facts({"facts": [fact()]})
    assert book.facts[0].text("ja").question == "How many of them are children?"
    missing = book.missing_translations()
    assert set(missing) == {"children"}
    assert "ja" in missing["children"] and "ar" in missing["children"]
    assert "fr" not in missing["children"] and "en" not in missing["children"]


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (with_source(title=None), "fact 'children': source.title: missing"),
        (with_source(title="  "), "fact 'children': source.title: missing"),
        (with_source(url=None), "fact 'children': source.url: missing"),
        (with_source(url="http://www.unhcr.org/global-trends"), "source.url: an https://"),
        (with_source(url="https://"), "fact 'children': source.url: an https://"),
        (fact(source=None), "fact 'children': source: missing"),
        (fact(checked=None), "fact 'children': checked: the day it was checked"),
        (fact(checked="05/12/2026"), "fact 'children': checked: the day it was checked"),
        (fact(checked="20261205"), "fact 'children': checked: the day it was checked"),
        (fact(checked="2026-02-30"), "fact 'children': checked: not a real day"),
        (fact(text=None), "fact 'children': text.en: missing"),
        (fact(text={"fr": fact()["text"]["fr"]}), "fact 'children': text.en: missing"),
        (with_text("en", answer=None), "fact 'children': text.en.answer: missing"),
        (with_text("en", figure=""), "fact 'children': text.en.figure: missing"),
        (with_text("en", as_of=None), "fact 'children': text.en.as_of: missing"),
        (with_text("en", as_of="recently"), "fact 'children': text.en.as_of: must name the year"),
        (with_text("fr", answer=None), "fact 'children': text.fr.answer: missing"),
        (with_text("en", answer="x" * 421), "text.en.answer: 421 characters, at most 420"),
        (with_text("en", question="x" * 65), "text.en.question: 65 characters, at most 64"),
        (with_text("en", sources="UNHCR"), "fact 'children': text.en: unknown field 'sources'"),
        (fact(sorce="UNHCR"), "fact 'children': unknown field 'sorce'"),
        (fact(id="Children!"), "fact #1: id:"),
        (fact(id=None), "fact #1: id:"),
    ],
)
def test_a_broken_fact_is_refused_naming_the_fact_and_the_field(
    broken: dict[str, Any], message: str
) -> None:
    assert message in refused(broken)


def test_a_translation_in_an_unknown_language_is_refused() -> None:
    broken = fact()
    broken["text"]["zh"] = copy.deepcopy(broken["text"]["en"])
    assert "fact 'children': text.zh: not a supported language" in refused(broken)


def test_two_facts_with_one_id_are_refused() -> None:
    assert "fact 'children': id: used twice" in refused(fact(), fact())


def test_the_second_broken_fact_is_named_by_its_id() -> None:
    assert "fact 'remittances': checked" in refused(fact(), fact(id="remittances", checked=""))


def test_a_file_that_is_not_a_facts_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FactsError, match="cannot be read"):
        load_facts(tmp_path / "missing.json")
    broken = tmp_path / "facts.json"
    broken.write_text('{"facts": [', encoding="utf-8")
    with pytest.raises(FactsError, match="not a JSON file"):
        load_facts(broken)
    broken.write_text("[]", encoding="utf-8")
    with pytest.raises(FactsError, match='expected an object with a "facts" list'):
        load_facts(broken)
    broken.write_text('{"facts": []}', encoding="utf-8")
    with pytest.raises(FactsError, match="the facts list is empty"):
        load_facts(broken)


def test_the_message_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ours.json"
    path.write_text(json.dumps({"facts": [with_source(url="ftp://x")]}), encoding="utf-8")
    with pytest.raises(FactsError, match=r"ours\.json: fact 'children': source\.url"):
        load_facts(path)
