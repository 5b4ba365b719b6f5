"""Short forms of button labels: every label of every locale is a reply button on WhatsApp
(its short form where the translation is too long), a list row shows the short form with
the whole label underneath, an untranslated short form is never mixed into a translated
menu, and ``together-bot i18n check`` fails on a short form that is too long too."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

from bot.adapters.whatsapp.rendering import (
    BUTTON_TITLE_LIMIT,
    ELLIPSIS,
    ROW_TITLE_LIMIT,
    PartKind,
    plan,
    width,
)
from bot.core.events import Choice, Outgoing
from bot.i18n import _, pgettext
from bot.i18n.check import SUPPORTED_LOCALES, button_label_messages, short_label_problems
from bot.i18n.formatting import country_name
from bot.i18n.short_labels import CONTEXT, english_short_forms, short_label
from bot.i18n.translator import Translator

WORDS = {"list_button": "Choose", "more": "More choices:"}
LABELS = sorted(button_label_messages())


def shown(msgid: str, locale: str) -> str:
    """A label as a handler makes it, in the current locale, its placeholders filled."""
    context, _sep, message = msgid.rpartition("\x04")
    text = pgettext(context, message) if context else _(message)
    return text.format(number=1234, country=country_name("SY", locale))


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_label_is_a_reply_button_in_every_locale(locale: str) -> None:
    translator = Translator()
    with translator.use(locale):
        for msgid in LABELS:
            label = shown(msgid, locale)
            [part] = plan(Outgoing("?", (Choice("c:x", label),), locale=locale), **WORDS)
            assert part.kind is PartKind.BUTTONS, f"{locale}: {label!r} became a list"
            [option] = part.options
            assert 0 < width(option.title) <= BUTTON_TITLE_LIMIT
            assert ELLIPSIS not in option.title
            if option.title != label:
                assert option.title == short_label(label)


def test_three_long_labels_stay_buttons_with_their_short_forms() -> None:
    with Translator().use("fr"):
        choices = (
            Choice("a", _("Withdraw story #{number}").format(number=12)),
            Choice("b", _("➡️ Another story from {country}").format(country="Syrie")),
            Choice("c", _("👧 A child's story I am sharing with them")),
        )
        [part] = plan(Outgoing("?", choices, locale="fr"), **WORDS)
    assert part.kind is PartKind.BUTTONS
    assert [o.title for o in part.options] == [
        "Retirer #12",
        "➡️ Autre (Syrie)",
        "👧 Récit d'un enfant",
    ]


def test_a_list_row_shows_the_short_form_and_the_whole_label_underneath() -> None:
    with Translator().use("es"):
        long_label = _("📄 Send me a copy of my data")
        choices = (Choice("copy", long_label), *(Choice(f"c:{n}", f"Opción {n}") for n in range(3)))
        [part] = plan(Outgoing("?", choices, locale="es"), **WORDS)
    assert part.kind is PartKind.LIST
    row = part.options[0]
    assert width(long_label) > ROW_TITLE_LIMIT
    assert (row.title, row.description) == ("📄 Copia de datos", long_label)


def test_a_label_without_a_short_form_is_still_shortened_in_a_list() -> None:
    label = "A label written nowhere in the catalogs, far too long"
    [part] = plan(Outgoing("?", (Choice("x", label),)), **WORDS)
    assert part.kind is PartKind.LIST and part.options[0].title.endswith(ELLIPSIS)


def _compiled(tmp_path: Path, locale: str, catalog: Catalog) -> Translator:
    where = tmp_path / locale / "LC_MESSAGES"
    where.mkdir(parents=True)
    with (where / "messages.mo").open("wb") as out:
        write_mo(out, catalog)
    return Translator(tmp_path)


def test_an_untranslated_short_form_is_never_put_in_a_translated_menu(tmp_path: Path) -> None:
    catalog = Catalog(locale="fr")
    catalog.add("🗑 Start the story again", "🗑 Recommencer l'histoire depuis le début")
    translator = _compiled(tmp_path, "fr", catalog)
    with translator.use("fr"):
        label = _("🗑 Start the story again")
        assert short_label(label) is None  # not "🗑 Start again" in English
        [part] = plan(Outgoing("?", (Choice("c:restart", label),)), **WORDS)
    assert part.kind is PartKind.LIST
    assert part.options[0].title.startswith("🗑 Recommencer")
    assert part.options[0].title.endswith(ELLIPSIS)
    # Untranslated both: the English short form goes with the English label.
    assert short_label("🗑 Start the story again") == "🗑 Start again"


# -- the check ---------------------------------------------------------------------------
SOURCE = """
from bot.core.events import Choice
from bot.i18n import _


def buttons():
    return (
        Choice("c:a", _("Withdraw story #{number}")),
        Choice("c:b", _("Fine")),
    )
"""
SHORT = {"Withdraw story #{number}": "Withdraw #{number}"}


def _tree(tmp_path: Path, **translations: str) -> Path:
    handlers = tmp_path / "bot" / "handlers"
    handlers.mkdir(parents=True)
    (handlers / "example.py").write_text(SOURCE)
    catalog = Catalog(locale="tr")
    catalog.add("Withdraw story #{number}", "#{number} numaralı hikâyeyi geri çek")  # 36
    catalog.add("Fine", "Tamam")
    for short, text in translations.items():
        catalog.add(short, text, context=CONTEXT)
    locales = tmp_path / "locales"
    (locales / "tr" / "LC_MESSAGES").mkdir(parents=True)
    with (locales / "tr" / "LC_MESSAGES" / "messages.po").open("wb") as out:
        write_po(out, catalog)
    return locales


def _problems(tmp_path: Path, locales: Path, shorts: dict[str, str] = SHORT) -> list[str]:
    found = short_label_problems(locales, ("en", "tr"), tmp_path, short_forms=shorts)
    return [str(p) for p in found]


def test_the_check_passes_a_short_form_that_fits(tmp_path: Path) -> None:
    locales = _tree(tmp_path, **{"Withdraw #{number}": "#{number} geri çek"})
    assert _problems(tmp_path, locales) == []


def test_the_check_fails_on_a_short_form_too_long_as_well(tmp_path: Path) -> None:
    locales = _tree(tmp_path, **{"Withdraw #{number}": "#{number} numaralı hikâyeyi çek"})
    [problem] = _problems(tmp_path, locales)
    assert problem.startswith("tr/messages.po: short form of 31 characters too")
    assert "'Withdraw story #{number}'" in problem


def test_the_check_fails_on_a_missing_or_untranslated_short_form(tmp_path: Path) -> None:
    locales = _tree(tmp_path)
    [untranslated] = _problems(tmp_path, locales)
    assert untranslated.startswith("tr/messages.po: short form untranslated: 'Withdraw #{number}'")
    english, turkish = _problems(tmp_path, locales, shorts={})
    assert english.startswith("en/messages.po: button label of 24 characters")
    assert turkish.startswith("tr/messages.po: button label of 36 characters")
    assert "without a short form" in english and "without a short form" in turkish


def test_the_check_fails_on_a_stale_or_ill_formed_short_form(tmp_path: Path) -> None:
    locales = _tree(tmp_path, **{"Withdraw #{number}": "#{number} geri çek"})
    shorts = {**SHORT, "Gone": "Gone", "Fine": "Fine {name}"}
    assert _problems(tmp_path, locales, shorts) == [
        "bot/i18n/short_labels.py: a short form of no button label: 'Gone'",
        "bot/i18n/short_labels.py: a placeholder its label has not in 'Fine {name}'",
    ]


def test_the_shipped_catalogs_have_a_short_form_wherever_a_label_is_too_long() -> None:
    assert short_label_problems() == []
    english = english_short_forms()
    assert all(width(short) <= BUTTON_TITLE_LIMIT for short in english.values())
