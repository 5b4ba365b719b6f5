"""Every kind of WhatsApp message, parsed into the core's events (the real payload shape)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.adapters.whatsapp.parsing import (
    PLATFORM,
    Ignored,
    delivery_problem,
    event_key,
    parse_delivery,
)
from bot.core.events import Inbound, InboundKind, MediaKind
from tests.fakes.whatsapp_api import PHONE_ID, WhatsAppWebhooks

WA_ID = "15550123456"
hooks = WhatsAppWebhooks()


def one(payload: dict[str, Any]) -> Inbound | Ignored:
    assert delivery_problem(payload) is None
    [parsed] = parse_delivery(payload, PHONE_ID)
    return parsed


def inbound(payload: dict[str, Any]) -> Inbound:
    parsed = one(payload)
    assert isinstance(parsed, Inbound)
    assert (parsed.platform, parsed.user_id, parsed.chat_id) == (PLATFORM, WA_ID, WA_ID)
    return parsed


def test_text_with_the_person_s_profile_name() -> None:
    payload = hooks.text(WA_ID, "Hello\r\nthere\x00", name="Amina")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    parsed = inbound(payload)
    assert (parsed.kind, parsed.text, parsed.display_name) == (
        InboundKind.TEXT,
        "Hello\nthere",
        "Amina",
    )
    # The key and message id are a hash of the wamid, which encodes the phone number.
    assert parsed.key == parsed.message_id == event_key(message["id"])
    assert WA_ID not in parsed.key and message["id"] not in parsed.key
    assert parsed.locale_hint is None  # no language hint from WhatsApp


def test_a_typed_slash_word_is_a_command() -> None:
    parsed = inbound(hooks.text(WA_ID, "/start pledge"))
    assert (parsed.kind, parsed.command, parsed.args) == (InboundKind.COMMAND, "start", "pledge")


def test_reply_buttons_list_rows_and_template_quick_replies_are_choices() -> None:
    assert (
        inbound(hooks.button_reply(WA_ID, "c:pledge@4", "🤝 I take the pledge")).choice
        == "c:pledge@4"
    )
    assert (
        inbound(hooks.list_reply(WA_ID, "menu:story@2", "📖 Share your story")).choice
        == "menu:story@2"
    )
    quick = hooks.message(WA_ID, "button", {"payload": "menu:main", "text": "Menu"})
    parsed = inbound(quick)
    assert (parsed.kind, parsed.choice) == (InboundKind.CHOICE, "menu:main")


@pytest.mark.parametrize(
    ("kind", "mime", "fields", "expected"),
    [
        ("image", "image/jpeg", {"caption": "My street"}, MediaKind.PHOTO),
        ("audio", "audio/ogg; codecs=opus", {"voice": True}, MediaKind.VOICE),
        ("audio", "audio/mpeg", {}, MediaKind.VOICE),
        ("video", "video/mp4", {"caption": "Arrival"}, MediaKind.VIDEO),
        ("document", "application/pdf", {"filename": "letter.pdf"}, MediaKind.DOCUMENT),
    ],
)
def test_media_are_references_for_the_core_s_fetch(
    kind: str, mime: str, fields: dict[str, Any], expected: MediaKind
) -> None:
    parsed = inbound(hooks.media(WA_ID, kind, "1234567890", mime, **fields))
    assert parsed.kind is InboundKind.MEDIA
    [media] = parsed.media
    assert (media.kind, media.ref, media.mime) == (expected, "1234567890", mime.split(";")[0])
    assert parsed.caption == fields.get("caption")


def test_documents_of_other_types_stickers_locations_and_contacts_are_refused_kindly() -> None:
    cases = {
        "document_type": hooks.media(WA_ID, "document", "1", "application/zip", filename="a.zip"),
        "sticker": hooks.media(WA_ID, "sticker", "2", "image/webp"),
        "location": hooks.location(WA_ID),
        "contact": hooks.contacts(WA_ID),
        "unsupported": hooks.message(WA_ID, "unsupported", {}),
    }
    for tag, payload in cases.items():
        parsed = inbound(payload)
        assert (parsed.kind, parsed.args) == (InboundKind.UNSUPPORTED, tag)


def test_reactions_are_ignored() -> None:
    # Statuses are parsed for the outbox: tests/adapters/whatsapp/test_statuses.py.
    assert isinstance(one(hooks.reaction(WA_ID, "wamid.X")), Ignored)


def test_malformed_messages_are_ignored_not_raised() -> None:
    payload = hooks.text(WA_ID, "hi")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["from"] = 15550123456  # a number, where Meta sends a string
    assert one(payload) == Ignored("malformed message")
    assert delivery_problem(
        {
            "object": "whatsapp_business_account",
            "entry": [{"changes": [{"value": {"messages": "x"}}]}],
        }
    )
