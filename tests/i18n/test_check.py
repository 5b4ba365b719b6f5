"""The catalog checker: it must catch what it promises to catch."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog

from bot.i18n.check import catalog_problems, fstrings_in_translations


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
