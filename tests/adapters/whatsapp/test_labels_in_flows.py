"""In every language, every screen of up to three choices reaches a WhatsApp user as reply
buttons, never as a list: the privacy choices and the erasure's confirmation, a story's
first questions, a published story's card and its thanks, the storyteller's switch."""

from __future__ import annotations

import pytest

from bot.i18n.check import SUPPORTED_LOCALES
from bot.i18n.formatting import language_name
from tests.adapters.whatsapp.conftest import Person, Phone
from tests.adapters.whatsapp.test_reading import published
from tests.fakes.whatsapp_api import interactive_of, options_of

WA_ID = "15550123456"


def lists_of_few(person: Person) -> list[list[str]]:
    """The lists of three rows or fewer the person was sent (each should be buttons)."""
    found = []
    for call in person.seen:
        shown = interactive_of(call)
        if shown.get("type") == "list" and len(options_of(call)) <= 3:
            found.append([title for title, _id in options_of(call)])
    return found


async def tap_id(person: Person, prefix: str) -> None:
    """Tap the latest option whose id starts with ``prefix`` (its title is translated)."""
    for call in reversed(person.seen):
        for title, choice_id in options_of(call):
            if choice_id.startswith(prefix):
                await person.tap(title)
                return
    raise AssertionError(f"no option {prefix!r}")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
async def test_three_choices_or_fewer_are_reply_buttons_in_every_language(
    phone: Phone, locale: str
) -> None:
    await published(phone.bot, "amina")
    person = phone.person(WA_ID)
    await person.send("hello")
    await person.tap("Language")
    await person.tap(language_name(locale))
    await tap_id(person, "menu:privacy")
    await tap_id(person, "privacy:erase")  # the question: "Yes, erase everything" or not
    await tap_id(person, "menu:privacy")  # "No, keep my data": back to the privacy choices
    await person.send("/stories")
    await tap_id(person, "thank:")
    await tap_id(person, "c:own")
    await person.send("Merci 💛")
    await tap_id(person, "c:anonymous")
    await person.send("/cancel")
    await person.send("/start story")
    await tap_id(person, "c:migrant")
    assert lists_of_few(person) == [], locale
    assert all(c.ok for c in phone.api.calls("messages", ok_only=False))
    buttons = [c for c in person.seen if interactive_of(c).get("type") == "button"]
    assert len(buttons) >= 4  # the erasure's question, the thanks' steps, consent
