"""``together-bot i18n check``: are the catalogs complete, correct and current?

Fails on: an untranslated or fuzzy entry, a placeholder missing from or added to a
translation, a catalog out of date with the source (strings missing or obsolete), an
f-string passed to ``_()``, and a supported locale without a catalog.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n.translator import DOMAIN, LOCALES_DIR

SUPPORTED_LOCALES = ("en", "ja", "ar", "es", "fr", "ru", "zh_Hans", "uk", "fa", "tr")
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
TRANSLATION_FUNCTIONS = {"_", "gettext", "ngettext", "pgettext", "npgettext", "N_"}
PLACEHOLDER = re.compile(r"\{(\w*)(?:![rsa])?(?::[^{}]*)?\}")
ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("bot", "moderation")


@dataclass(frozen=True, slots=True)
class Problem:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def source_messages(root: Path = ROOT) -> set[str]:
    """Every msgid the source code marks for translation (singular forms)."""
    found: set[str] = set()
    for directory in SOURCE_DIRS:
        for _filename, _lineno, message, _comments, context in extract_from_dir(
            str(root / directory),
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.add(f"{context}\x04{msgid}" if context else msgid)
    return found


def fstrings_in_translations(root: Path = ROOT) -> Iterator[Problem]:
    for directory in SOURCE_DIRS:
        for path in sorted((root / directory).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in TRANSLATION_FUNCTIONS
                    and any(isinstance(arg, ast.JoinedStr) for arg in node.args)
                ):
                    where = f"{path.relative_to(root)}:{node.lineno}"
                    yield Problem(where, f"an f-string is passed to {node.func.id}()")


def _key(message_id: object, context: str | None) -> str:
    msgid = message_id[0] if isinstance(message_id, tuple | list) else str(message_id)
    return f"{context}\x04{msgid}" if context else msgid


def catalog_problems(locale: str, catalog: Catalog, expected: set[str]) -> Iterator[Problem]:
    where = f"{locale}/messages.po"
    present: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        key = _key(message.id, message.context)
        present.add(key)
        label = key.replace("\x04", " | ")[:60]
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if message.fuzzy:
            yield Problem(where, f"fuzzy entry: {label!r}")
        if not all(strings):
            yield Problem(where, f"untranslated: {label!r}")
            continue
        if isinstance(message.id, tuple | list):
            # A plural form may spell out its number ("one person"): {count} may go.
            wanted = placeholders(message.id[0]) | placeholders(message.id[1])
            optional = {"count"}
        else:
            wanted, optional = placeholders(message.id), set()
        for text in (str(s) for s in strings):
            if placeholders(text) - wanted:
                yield Problem(where, f"extra placeholder in {label!r}")
            if wanted - optional - placeholders(text):
                yield Problem(where, f"missing placeholder in {label!r}")
    for missing in sorted(expected - present):
        yield Problem(where, f"out of date: missing {missing[:60]!r} (run make i18n-update)")
    for obsolete in sorted(present - expected):
        yield Problem(where, f"out of date: obsolete {obsolete[:60]!r} (run make i18n-update)")


def check(
    locales_dir: Path = LOCALES_DIR,
    locales: Iterable[str] = SUPPORTED_LOCALES,
    root: Path = ROOT,
) -> list[Problem]:
    problems: list[Problem] = list(fstrings_in_translations(root))
    expected = source_messages(root)
    for locale in locales:
        if locale == "en":
            continue  # English is the source language
        po = locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not po.exists():
            problems.append(Problem(f"{locale}/messages.po", "no catalog for a supported locale"))
            continue
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=locale)
        problems.extend(catalog_problems(locale, catalog, expected))
    return problems


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem)
    if problems:
        print(f"i18n check: {len(problems)} problem(s)")
        return 1
    print(f"i18n check: {len(SUPPORTED_LOCALES)} locales complete and current")
    return 0
