"""The facts data file: read once at start-up, refused whole when any fact is broken.

A fact is only worth stating with its figure, its year, its source and the day someone
checked it against that source, so a fact missing any of them stops the bot from
starting rather than reaching a person unsourced. A missing translation is not an
error: that fact is shown in English (``together-bot facts check`` lists them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.i18n.check import SUPPORTED_LOCALES

DEFAULT_FACTS_FILE = Path(__file__).with_name("facts.json")
SOURCE_LANGUAGE = "en"
FACT_ID = re.compile(r"^[a-z0-9_-]{1,32}$")
YEAR = re.compile(r"\b(19|20)\d\d\b")
# Longest texts, in characters: a card fits a phone screen, a question fits a button.
LIMITS = {"question": 64, "figure": 48, "as_of": 40, "answer": 420}
TEXT_FIELDS = tuple(LIMITS)
FACT_FIELDS = frozenset({"id", "source", "checked", "text"})
SOURCE_FIELDS = frozenset({"title", "publisher", "url"})
TOP_FIELDS = frozenset({"about", "facts"})


class FactsError(ValueError):
    """The facts file cannot be used; the message names the fact and the field."""


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    url: str
    publisher: str = ""

    @property
    def label(self) -> str:
        """``Title, Publisher`` (or the title alone)."""
        return f"{self.title}, {self.publisher}" if self.publisher else self.title


@dataclass(frozen=True, slots=True)
class FactText:
    """One fact in one language."""

    question: str
    figure: str
    as_of: str
    answer: str


@dataclass(frozen=True, slots=True)
class Fact:
    id: str
    source: Source
    checked: date
    texts: Mapping[str, FactText]  # always holds SOURCE_LANGUAGE

    def text(self, locale: str) -> FactText:
        """The fact in ``locale``, or in English when it has no translation there."""
        return self.texts.get(locale) or self.texts[SOURCE_LANGUAGE]

    def missing_languages(self) -> tuple[str, ...]:
        return tuple(sorted(code for code in SUPPORTED_LOCALES if code not in self.texts))


@dataclass(frozen=True, slots=True)
class FactBook:
    """The facts in the order of the file (the first is shown first)."""

    facts: tuple[Fact, ...]

    def get(self, fact_id: str) -> Fact | None:
        return next((fact for fact in self.facts if fact.id == fact_id), None)

    def after(self, fact_id: str) -> Fact:
        """The fact following ``fact_id``, the first after the last (or for an unknown id)."""
        ids = [fact.id for fact in self.facts]
        index = ids.index(fact_id) + 1 if fact_id in ids else 0
        return self.facts[index % len(self.facts)]

    def missing_translations(self) -> dict[str, tuple[str, ...]]:
        """Fact id -> the supported languages it is shown in English in."""
        return {fact.id: missing for fact in self.facts if (missing := fact.missing_languages())}


def load_facts(path: Path | None = None) -> FactBook:
    """Read and check the facts file (the packaged one when ``path`` is None).

    Raises:
        FactsError: the file is missing or not JSON, or a fact lacks its source title,
            an https source address, its year, an ISO checked date or its English text.
    """
    path = path or DEFAULT_FACTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FactsError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FactsError(f"{path}: not a JSON file ({exc})") from exc
    return parse_facts(data, name=str(path))


def parse_facts(data: Any, *, name: str = "facts") -> FactBook:
    """The facts of ``data`` (the file's decoded JSON), every one checked."""
    if not isinstance(data, dict) or not isinstance(data.get("facts"), list):
        raise FactsError(f'{name}: expected an object with a "facts" list')
    _no_unknown(data, TOP_FIELDS, name)
    if not data["facts"]:
        raise FactsError(f"{name}: the facts list is empty")
    facts: list[Fact] = []
    for number, raw in enumerate(data["facts"], start=1):
        fact = _fact(raw, name, number)
        if any(known.id == fact.id for known in facts):
            raise FactsError(f"{name}: fact {fact.id!r}: id: used twice")
        facts.append(fact)
    return FactBook(tuple(facts))


def _fact(raw: Any, name: str, number: int) -> Fact:
    if not isinstance(raw, dict):
        raise FactsError(f"{name}: fact #{number}: expected an object")
    fact_id = raw.get("id")
    if not isinstance(fact_id, str) or not FACT_ID.match(fact_id):
        raise FactsError(
            f"{name}: fact #{number}: id: 1 to 32 of a-z, 0-9, _ and -, e.g. 'displaced'"
        )
    where = f"{name}: fact {fact_id!r}"
    _no_unknown(raw, FACT_FIELDS, where)
    return Fact(
        id=fact_id,
        source=_source(raw.get("source"), where),
        checked=_checked(raw.get("checked"), where),
        texts=_texts(raw.get("text"), where),
    )


def _source(raw: Any, where: str) -> Source:
    if not isinstance(raw, dict):
        raise FactsError(f"{where}: source: missing (title, url, optional publisher)")
    _no_unknown(raw, SOURCE_FIELDS, f"{where}: source")
    title = _string(raw, "title", f"{where}: source.title")
    url = _string(raw, "url", f"{where}: source.url")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or " " in url:
        raise FactsError(f"{where}: source.url: an https:// address, not {url[:80]!r}")
    publisher = raw.get("publisher", "")
    if not isinstance(publisher, str):
        raise FactsError(f"{where}: source.publisher: expected text")
    return Source(title=title, url=url, publisher=publisher.strip())


def _checked(raw: Any, where: str) -> date:
    # date.fromisoformat also takes 20261205 and week dates: the file spells YYYY-MM-DD.
    if not isinstance(raw, str) or not re.fullmatch(r"\d{4}-\d\d-\d\d", raw):
        raise FactsError(f"{where}: checked: the day it was checked, as YYYY-MM-DD")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise FactsError(f"{where}: checked: not a real day ({raw})") from exc


def _texts(raw: Any, where: str) -> dict[str, FactText]:
    if not isinstance(raw, dict) or SOURCE_LANGUAGE not in raw:
        raise FactsError(f"{where}: text.{SOURCE_LANGUAGE}: missing (the English text)")
    texts: dict[str, FactText] = {}
    for locale, fields in raw.items():
        if locale not in SUPPORTED_LOCALES:
            known = ", ".join(SUPPORTED_LOCALES)
            raise FactsError(f"{where}: text.{locale}: not a supported language ({known})")
        texts[locale] = _text(fields, f"{where}: text.{locale}")
    if not YEAR.search(texts[SOURCE_LANGUAGE].as_of):
        raise FactsError(
            f"{where}: text.{SOURCE_LANGUAGE}.as_of: must name the year, e.g. 'end of 2024'"
        )
    return texts


def _text(raw: Any, where: str) -> FactText:
    # A partial translation would mix two languages on one card: refused, not patched.
    if not isinstance(raw, dict):
        raise FactsError(f"{where}: expected an object with {', '.join(TEXT_FIELDS)}")
    _no_unknown(raw, frozenset(TEXT_FIELDS), where)
    values = {field: _string(raw, field, f"{where}.{field}") for field in TEXT_FIELDS}
    for field, limit in LIMITS.items():
        if len(values[field]) > limit:
            raise FactsError(
                f"{where}.{field}: {len(values[field])} characters, at most {limit} "
                "(a card must fit a phone screen)"
            )
    return FactText(**values)


def _string(raw: Mapping[str, Any], field: str, where: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value.strip():
        raise FactsError(f"{where}: missing")
    return value.strip()


def _no_unknown(raw: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise FactsError(
            f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )
