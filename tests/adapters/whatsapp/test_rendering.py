"""WhatsApp's limits shape the rendering: reply buttons, lists, splits, links, and labels
never cut inside a grapheme; every locale's menus pass the fake Graph API's limit checks."""

from __future__ import annotations

import pytest
import regex

from bot.adapters.whatsapp.rendering import (
    BODY_LIMIT,
    ELLIPSIS,
    TEXT_LIMIT,
    PartKind,
    plan,
    shorten,
    width,
)
from bot.core.events import Choice, Outgoing
from bot.i18n.check import SUPPORTED_LOCALES
from bot.i18n.formatting import language_name
from tests.adapters.whatsapp.conftest import Phone
from tests.fakes.whatsapp_api import interactive_of, options_of

WORDS = {"list_button": "Choose", "more": "More choices:"}


def choices(count: int, label: str = "Option {n}") -> tuple[Choice, ...]:
    return tuple(Choice(f"c:{n}", label.format(n=n)) for n in range(count))


def test_up_to_three_short_choices_are_reply_buttons() -> None:
    [part] = plan(Outgoing("Ready?", choices(3)), **WORDS)
    assert (part.kind, part.text) == (PartKind.BUTTONS, "Ready?")
    assert [o.id for o in part.options] == ["c:0", "c:1", "c:2"]


def test_more_choices_or_longer_labels_make_a_list_of_ten_rows_at_most() -> None:
    [four] = plan(Outgoing("Pick", choices(4)), **WORDS)
    assert (four.kind, four.button) == (PartKind.LIST, "Choose")
    long_label = "A label much longer than twenty-four characters"
    [listed] = plan(Outgoing("Pick", (Choice("c:x", long_label),)), **WORDS)
    row = listed.options[0]
    assert listed.kind is PartKind.LIST and width(row.title) <= 24 and row.title.endswith(ELLIPSIS)
    assert row.description == long_label  # shown whole under the shortened title
    parts = plan(Outgoing("Pick a country", choices(23)), **WORDS)
    assert [p.kind for p in parts] == [PartKind.LIST] * 3
    assert [len(p.options) for p in parts] == [8, 8, 7]  # shared evenly, never a list of 1
    assert [p.text for p in parts] == ["Pick a country", "More choices:", "More choices:"]
    assert [o.id for p in parts for o in p.options] == [f"c:{n}" for n in range(23)]
    assert [len(p.options) for p in plan(Outgoing("Pick", choices(21)), **WORDS)] == [7, 7, 7]
    assert [len(p.options) for p in plan(Outgoing("Pick", choices(11)), **WORDS)] == [6, 5]
    assert [len(p.options) for p in plan(Outgoing("Pick", choices(10)), **WORDS)] == [10]


def test_a_long_text_is_split_and_the_choices_go_with_the_last_part() -> None:
    paragraphs = [f"Paragraph {n}. " + "word " * 150 for n in range(7)]
    text = "\n\n".join(paragraphs)
    parts = plan(Outgoing(text, choices(2)), **WORDS)
    assert [p.kind for p in parts[:-1]] == [PartKind.TEXT] * (len(parts) - 1)
    assert parts[-1].kind is PartKind.BUTTONS
    assert all(width(p.text) <= TEXT_LIMIT for p in parts[:-1])
    assert width(parts[-1].text) <= BODY_LIMIT
    assert "".join(p.text for p in parts).replace("\n", "").replace(" ", "") == text.replace(
        "\n", ""
    ).replace(" ", "")
    assert all(p.text.startswith("Paragraph") for p in parts)  # split between paragraphs
    assert len(parts) == 3  # 7 paragraphs of ~760: five in a text, one, then the last
    assert [p.kind for p in plan(Outgoing(text), **WORDS)] == [PartKind.TEXT] * 2


def test_links_are_a_cta_button_alone_or_written_into_the_text() -> None:
    share = Choice("share", "📣 Share the pledge", url="https://example.org/?start=pledge")
    [alone] = plan(Outgoing("Thank you!", (share,)), **WORDS)
    assert (alone.kind, alone.button, alone.url) == (PartKind.LINK, share.label, share.url)
    [mixed] = plan(Outgoing("Thank you!", (share, Choice("menu:main", "Menu"))), **WORDS)
    assert mixed.kind is PartKind.BUTTONS and [o.id for o in mixed.options] == ["menu:main"]
    assert f"{share.label}: {share.url}" in mixed.text


def test_no_delete_or_edit_on_whatsapp() -> None:
    assert plan(Outgoing("", delete_of="wamid.1"), **WORDS) == []
    [edit] = plan(Outgoing("Fixed", edit_of="wamid.1"), **WORDS)
    assert (edit.kind, edit.text) == (PartKind.TEXT, "Fixed")
    [empty] = plan(Outgoing("", choices(2)), **WORDS)
    assert empty.text == "More choices:"  # an interactive message needs a body


@pytest.mark.parametrize(
    "label",
    [
        "👍🏽" * 15,  # emoji with a skin tone: two code points, four UTF-16 units
        "🇯🇵🇸🇾🇺🇦" * 5,  # flags: pairs of regional indicators
        "👨‍👩‍👧 " * 6,  # a family joined by zero-width joiners
        "مَرْحَبًا بِكُمْ فِي قِصَّتِنَا",  # Arabic letters with their marks
        "क्षत्रिय क्षमा क्षेत्र क्षितिज",  # Devanagari conjuncts
        "é" * 30,  # e + a combining accent
    ],
)
def test_shortening_never_cuts_inside_a_grapheme(label: str) -> None:
    short = shorten(label, 20)
    assert width(short) <= 20 and short.endswith(ELLIPSIS)
    kept = short.removesuffix(ELLIPSIS).rstrip()
    graphemes = regex.findall(r"\X", label)
    assert kept == "".join(graphemes[: len(regex.findall(r"\X", kept))])


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
async def test_every_locale_s_menus_fit_whatsapp_s_limits(phone: Phone, locale: str) -> None:
    person = phone.person("15550123456")
    await person.send("hello")
    await person.tap("Language")
    await person.tap(language_name(locale))
    for label in ("menu:pledge", "menu:privacy", "menu:story"):
        call = next(
            c for c in reversed(person.seen) if any(i.startswith(label) for _t, i in options_of(c))
        )
        title = next(t for t, i in options_of(call) if i.startswith(label))
        await person.tap(title)
        shown = [c for c in person.last if interactive_of(c)]
        assert shown, f"{locale}: no choices after {label}"
        await person.send("/menu")
    # The fake refuses (error 131009) any message beyond WhatsApp's limits.
    refused = [c for c in phone.api.calls("messages", ok_only=False) if not c.ok]
    assert refused == []
    assert all(c.params["to"] == person.wa_id for c in person.seen)
