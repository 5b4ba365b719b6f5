"""``together-bot i18n check``: are the catalogs complete, correct and current?

Fails on: an untranslated or fuzzy entry, a placeholder missing from or added to a
translation, a catalog out of date with the source (strings missing or obsolete), an
f-string passed to ``_()``, a supported locale without a catalog, and a ``Plural-Forms``
header that is not CLDR's as Babel writes it (:func:`plural_header_problems`: French with
two forms instead of three would give a million people the "other" form, not "many").

It also fails on a button label longer than a WhatsApp reply button shows (20 characters)
in a locale when its short form (:mod:`bot.i18n.short_labels`, what WhatsApp shows
instead) is missing, untranslated or too long as well (:func:`short_label_problems`).
"""

from __future__ import annotations

import ast
import gettext
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from bot.i18n.short_labels import CONTEXT as SHORT_CONTEXT
from bot.i18n.short_labels import english_short_forms
from bot.i18n.translator import DOMAIN, LOCALES_DIR

SUPPORTED_LOCALES = (
    *("en", "ja", "ar", "es", "fr", "ru", "zh_Hans", "uk", "fa", "tr"),
    *("ps", "ur", "bn", "so", "ti", "am", "sw", "de", "it", "pt", "zh_Hant"),
)
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
TRANSLATION_FUNCTIONS = {"_", "gettext", "ngettext", "pgettext", "npgettext", "N_"}
PLACEHOLDER = re.compile(r"\{(\w*)(?:![rsa])?(?::[^{}]*)?\}")
ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("bot", "moderation")
# A WhatsApp reply button's title, in UTF-16 code units (as bot.adapters.whatsapp counts).
BUTTON_LABEL_LIMIT = 20
# Where the buttons people (not moderators, who stay off WhatsApp) see are made.
BUTTON_SOURCE_DIRS = ("bot/handlers", "bot/core")
# The counts a Plural-Forms expression is compared on: every category of every CLDR rule
# shows up below 200 or at the round thousands and millions ("many" in fr, es, it, pt).
PLURAL_SAMPLES = (*range(200), 1000, 1001, 10_000, 100_000, 10**6, 10**6 + 1, 2 * 10**6, 10**9)


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


def plural_header_problems(locale: str, catalog: Catalog) -> Iterator[Problem]:
    """The catalog's ``Plural-Forms`` against CLDR's rule for ``locale`` as Babel writes
    it: the same number of forms, and the same form chosen for every sample count."""
    where = f"{locale}/messages.po"
    cldr = get_plural(locale)
    header = f"nplurals={catalog.num_plurals}; plural={catalog.plural_expr};"
    if catalog.num_plurals != cldr.num_plurals:
        yield Problem(
            where,
            f"Plural-Forms has {catalog.num_plurals} form(s), CLDR has {cldr.num_plurals} "
            f"(Babel: {cldr.plural_forms!r}; this catalog: {header!r})",
        )
        return
    try:
        ours, theirs = gettext.c2py(catalog.plural_expr), gettext.c2py(cldr.plural_expr)
    except (ValueError, SyntaxError):
        yield Problem(where, f"Plural-Forms cannot be read: {header!r}")
        return
    differ = [n for n in PLURAL_SAMPLES if ours(n) != theirs(n)]
    if differ:
        yield Problem(
            where,
            f"Plural-Forms picks another form than CLDR for {differ[:5]} (Babel: "
            f"{cldr.plural_forms!r}; this catalog: {header!r})",
        )


def catalog_problems(locale: str, catalog: Catalog, expected: set[str]) -> Iterator[Problem]:
    where = f"{locale}/messages.po"
    yield from plural_header_problems(locale, catalog)
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
    problems.extend(short_label_problems(locales_dir, locales, root))
    return problems


def _translated_literals(node: ast.AST) -> set[str]:
    """The msgids of the ``_("…")`` / ``N_("…")`` / ``pgettext("ctx", "…")`` calls in ``node``."""
    found: set[str] = set()
    for call in ast.walk(node):
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id in TRANSLATION_FUNCTIONS
        ):
            continue
        texts = [
            a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
        ]
        if call.func.id in ("pgettext", "npgettext") and len(texts) >= 2:
            found.add(f"{texts[0]}\x04{texts[1]}")
        elif texts:
            found.add(texts[0])
    return found


def button_label_messages(root: Path = ROOT) -> set[str]:
    """The msgids shown as button labels: the label of every ``Choice(id, label)`` in the
    source, written there or held by a name the module assigns (``label = _("…")``)."""
    found: set[str] = set()
    for directory in BUTTON_SOURCE_DIRS:
        for path in sorted((root / directory).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            names: dict[str, set[str]] = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        if isinstance(target, ast.Name):
                            names.setdefault(target.id, set()).update(
                                _translated_literals(node.value)
                            )
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or _called(node) != "Choice":
                    continue
                labels = node.args[1:2] + [k.value for k in node.keywords if k.arg == "label"]
                for label in labels:
                    found |= _translated_literals(label)
                    for name in ast.walk(label):
                        if isinstance(name, ast.Name):
                            found |= names.get(name.id, set())
    return found


def _called(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _width(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def long_button_labels(
    locales_dir: Path = LOCALES_DIR,
    locales: Iterable[str] = SUPPORTED_LOCALES,
    root: Path = ROOT,
    limit: int = BUTTON_LABEL_LIMIT,
) -> list[Problem]:
    """Every button label whose text (the msgid in English, else its translation) is
    longer than ``limit``, per locale."""
    labels = sorted(button_label_messages(root))
    found: list[Problem] = []
    for locale in locales:
        translations = _translations(locales_dir, locale)
        for msgid in labels:
            text = msgid.split("\x04")[-1] if locale == "en" else translations.get(msgid)
            if text is not None and _width(text) > limit:
                found.append(
                    Problem(
                        f"{locale}/messages.po",
                        f"button label of {_width(text)} characters (WhatsApp shows "
                        f"{limit}): {msgid.replace(chr(4), ' | ')!r} -> {text!r}",
                    )
                )
    return found


def _translations(locales_dir: Path, locale: str) -> dict[str, str]:
    """A locale's translated singular entries (``context\x04msgid`` -> text); none for
    English, the source language."""
    translations: dict[str, str] = {}
    po = locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale != "en" and po.exists():
        with po.open("rb") as fp:
            for message in read_po(fp, locale=locale):
                if message.id and isinstance(message.string, str) and message.string:
                    translations[_key(message.id, message.context)] = message.string
    return translations


def short_label_problems(
    locales_dir: Path = LOCALES_DIR,
    locales: Iterable[str] = SUPPORTED_LOCALES,
    root: Path = ROOT,
    limit: int = BUTTON_LABEL_LIMIT,
    short_forms: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Every button label too long for ``limit`` in a locale whose short form is missing,
    untranslated (while the label is translated) or too long too; and every short form
    of no button label, or with a placeholder its label has not.

    Args:
        short_forms: label msgid -> short form msgid (:mod:`bot.i18n.short_labels`).
    """
    shorts = english_short_forms() if short_forms is None else short_forms
    labels = sorted(button_label_messages(root))
    table = "bot/i18n/short_labels.py"
    found: list[Problem] = []
    for msgid, form in shorts.items():
        if msgid not in labels:
            found.append(Problem(table, f"a short form of no button label: {msgid!r}"))
        if placeholders(form) - placeholders(msgid):
            found.append(Problem(table, f"a placeholder its label has not in {form!r}"))
    for locale in locales:
        translations = _translations(locales_dir, locale)
        where = f"{locale}/messages.po"
        for msgid in labels:
            english = msgid.split("\x04")[-1]
            shown = translations.get(msgid, english)
            if _width(shown) <= limit:
                continue
            label = f"{msgid.replace(chr(4), ' | ')!r} -> {shown!r}"
            short = shorts.get(msgid)
            if short is None:
                found.append(
                    Problem(
                        where,
                        f"button label of {_width(shown)} characters (WhatsApp shows {limit}) "
                        f"without a short form in {table}: {label}",
                    )
                )
                continue
            translated = translations.get(f"{SHORT_CONTEXT}\x04{short}")
            if translated is None and msgid in translations:
                found.append(Problem(where, f"short form untranslated: {short!r} of {label}"))
                continue
            short_shown = translated or short
            if _width(short_shown) > limit:
                found.append(
                    Problem(
                        where,
                        f"short form of {_width(short_shown)} characters too (WhatsApp shows "
                        f"{limit}): {short_shown!r} of {label}",
                    )
                )
    return found


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem)
    if problems:
        print(f"i18n check: {len(problems)} problem(s)")
        return 1
    print(f"i18n check: {len(SUPPORTED_LOCALES)} locales complete and current")
    return 0
