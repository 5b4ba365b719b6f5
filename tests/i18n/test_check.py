"""The catalog checker: it must catch what it promises to catch."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.i18n.check import catalog_problems, fstrings_in_translations, plural_header_problems


def catalog(*entries: tuple[object, object], fuzzy: bool = False) -> Catalog:
    result = Catalog(locale="ru")
    for msgid, msgstr in entries:
        result.add(msgid, msgstr, flags=("fuzzy",) if fuzzy else ())
    return result


def problems(cat: Catalog, expected: set[str]) -> list[str]:
    return [p.what for p in catalog_problems("ru", cat, expected)]


def test_complete_catalog_passes() -> None:
    cat = catalog(
        ("Hello {name}", "Привет, {name}"),
        (("{count} file", "{count} files"), ("{count} файл", "{count} файла", "{count} файлов")),
    )
    assert problems(cat, {"Hello {name}", "{count} file"}) == []


def test_untranslated_fuzzy_and_placeholders_are_caught() -> None:
    assert problems(catalog(("Hi", "")), {"Hi"}) == ["untranslated: 'Hi'"]
    assert problems(catalog(("Hi", "Привет"), fuzzy=True), {"Hi"}) == ["fuzzy entry: 'Hi'"]
    assert problems(catalog(("Hi {name}", "Привет")), {"Hi {name}"}) == [
        "missing placeholder in 'Hi {name}'"
    ]
    assert problems(catalog(("Hi", "Привет {name}")), {"Hi"}) == ["extra placeholder in 'Hi'"]


def test_out_of_date_catalog_is_caught() -> None:
    found = problems(catalog(("Old", "Старое")), {"New"})
    assert any("missing 'New'" in p for p in found)
    assert any("obsolete 'Old'" in p for p in found)


def test_fstrings_in_translation_calls_are_caught(tmp_path: Path) -> None:
    (tmp_path / "bot").mkdir()
    (tmp_path / "moderation").mkdir()
    (tmp_path / "bot" / "bad.py").write_text('name = "x"\n_(f"Hello {name}")\n_("fine")\n')
    found = list(fstrings_in_translations(tmp_path))
    assert [p.where for p in found] == ["bot/bad.py:2"]


def with_plural_header(locale: str, header: str) -> Catalog:
    po = f'msgid ""\nmsgstr ""\n"Language: {locale}\\n"\n"Plural-Forms: {header}\\n"\n'
    return read_po(BytesIO(po.encode()), locale=locale)


@pytest.mark.parametrize(
    ("locale", "header", "found"),
    [
        # French before: two forms, so 1,000,000 got "other", not CLDR's "many".
        ("fr", "nplurals=2; plural=(n > 1);", "has 2 form(s), CLDR has 3"),
        ("es", "nplurals=2; plural=(n != 1);", "has 2 form(s), CLDR has 3"),
        # The right number of forms, the wrong rule: Turkish 0 is "other", not "one".
        ("tr", "nplurals=2; plural=(n > 1);", "another form than CLDR for [0]"),
        # Russian with "few" and "many" swapped.
        (
            "ru",
            "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
            "(n%100<10 || n%100>=20) ? 2 : 1);",
            "another form than CLDR for [0, 2, 3, 4, 5]",
        ),
        ("ja", "nplurals=1; plural=n +;", "cannot be read"),
    ],
)
def test_a_plural_header_other_than_cldr_s_is_caught(locale: str, header: str, found: str) -> None:
    problems = [p.what for p in plural_header_problems(locale, with_plural_header(locale, header))]
    assert len(problems) == 1 and found in problems[0], problems


@pytest.mark.parametrize(
    ("locale", "header"),
    [
        ("fr", "nplurals=3; plural=(n == 0 || n == 1) ? 0 : n != 0 && n % 1000000 == 0 ? 1 : 2;"),
        # Written otherwise than Babel writes it, choosing the same forms: accepted.
        ("fa", "nplurals=2; plural=(n > 1);"),
        (
            "ar",
            "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 "
            ": n%100>=11 ? 4 : 5);",
        ),
    ],
)
def test_cldr_s_plural_rule_passes_however_it_is_written(locale: str, header: str) -> None:
    assert list(plural_header_problems(locale, with_plural_header(locale, header))) == []
