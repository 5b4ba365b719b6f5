"""``together-bot i18n check`` reports every button label longer than a WhatsApp reply
button shows (20 characters) in any locale, without failing the check for it."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from bot.i18n.check import button_label_messages, long_button_labels

SOURCE = """
from bot.core.events import Choice
from bot.i18n import N_, _

BACK = N_("Back")


def buttons(flag):
    label = _("A label far too long for a button") if flag else _("Short")
    return (
        Choice("c:yes", _("Yes")),
        Choice("c:back", _(BACK)),
        Choice("c:x", label),
        Choice("c:ctx", pgettext("pledge", "Sign")),
    )


def text():
    return _("A sentence that is no button at all, and long")
"""


def test_the_labels_of_choices_are_found_written_or_through_a_name(tmp_path: Path) -> None:
    handlers = tmp_path / "bot" / "handlers"
    handlers.mkdir(parents=True)
    (handlers / "example.py").write_text(SOURCE)
    assert button_label_messages(tmp_path) == {
        "Yes",
        "Back",
        "A label far too long for a button",
        "Short",
        "pledge\x04Sign",
    }


def test_labels_too_long_in_a_locale_are_reported(tmp_path: Path) -> None:
    handlers = tmp_path / "bot" / "handlers"
    handlers.mkdir(parents=True)
    (handlers / "example.py").write_text(SOURCE)
    locales = tmp_path / "locales"
    catalog = Catalog(locale="fr")
    catalog.add("Yes", "Oui")
    catalog.add("Back", "Revenir à la question précédente")  # 32
    catalog.add("Short", "")  # untranslated: English is shown, which fits
    (locales / "fr" / "LC_MESSAGES").mkdir(parents=True)
    with (locales / "fr" / "LC_MESSAGES" / "messages.po").open("wb") as out:
        write_po(out, catalog)
    found = [str(p) for p in long_button_labels(locales, ("en", "fr"), tmp_path)]
    assert len(found) == 2
    assert found[0].startswith("en/messages.po: button label of 33 characters")
    assert "'A label far too long for a button'" in found[0]
    assert found[1].startswith("fr/messages.po: button label of 32 characters")
    assert "'Back' -> 'Revenir à la question précédente'" in found[1]
