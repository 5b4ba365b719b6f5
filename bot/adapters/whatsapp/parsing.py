"""A WhatsApp webhook delivery -> neutral :class:`~bot.core.events.Inbound` events.

One POST carries ``entry[].changes[].value``; a value holds a person's ``messages[]``
(with ``contacts[]``: their ``wa_id`` and profile name) or the ``statuses[]`` of what the
bot sent. Every message becomes one :class:`Inbound` or one :class:`Ignored`:

=====================================  ==================================================
``text``                               TEXT (``/word`` typed: COMMAND)
``interactive`` ``button_reply`` /     CHOICE, the button's or row's id
``list_reply``; ``button`` (a
template's quick reply)
``image``, ``audio`` (voice notes      MEDIA: the media id, for :mod:`bot.core.media`'s
too), ``video``, ``document``          fetch (``GET /<media id>``, then its URL)
``location``, ``contacts``,            UNSUPPORTED, named in ``args``: the core's kind
``sticker``, anything else             refusal ("I can't use this kind of message here")
``statuses[]`` (of what the bot sent)  :class:`Status`: the message's key, ``sent`` /
                                       ``delivered`` / ``read`` / ``failed`` and its
                                       error code (:mod:`bot.adapters.whatsapp.window`)
``reaction``, other fields, another    Ignored (answered 200, no effect)
phone number's messages
=====================================  ==================================================

A person is their ``wa_id`` (the phone number WhatsApp gives): the participant's
external id and chat id, needed to answer. A message id (``wamid.…``) encodes that
number, so the event's key and message id are a hash of it: they dedupe a redelivery
without putting the number anywhere else. WhatsApp gives no language hint (the number's
country says nothing certain about the language): the language choice is the person's.

A share link (``https://wa.me/<number>?text=pledge``, :func:`bot.handlers.menu.start_link`)
fills in a word for the person to send. A message of that word alone (``story``,
``pledge``, ``pledge-<campaign>``, ``s-<story id>``, ``ref-<code>``, in any case) is
``/start <word>``, as Telegram's ``?start=`` is; the same word in a sentence is text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.adapters.normalise import normalise_optional, normalise_text
from bot.adapters.shapes import is_str, list_of, shape
from bot.core.events import Inbound, InboundKind, MediaKind, MediaRef

PLATFORM = "whatsapp"
NAME_MAX = 128  # the participant's column
CHOICE_MAX = 256  # a reply button's id (a list row's: 200)
# What a person may send into a story as a document; everything else is "unsupported".
DOCUMENT_TYPES: tuple[str, ...] = ("image/", "audio/", "video/", "application/pdf")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:\s+(.*))?$", re.DOTALL)
# The payloads of /start (bot/handlers/routes.py) a share link may fill in.
_START_WORD = re.compile(
    r"(story|pledge|(?:pledge|ref)-[A-Za-z0-9_-]{1,48}|s-[0-9]{1,12})", re.IGNORECASE
)
_MEDIA_KINDS: dict[str, MediaKind] = {
    "image": MediaKind.PHOTO,
    "audio": MediaKind.VOICE,
    "video": MediaKind.VIDEO,
    "document": MediaKind.DOCUMENT,
}
_UNSUPPORTED_NAMES = {"contacts": "contact"}


@dataclass(frozen=True, slots=True)
class Ignored:
    """Nothing to do; ``reason`` is a short tag for debug logs (never content)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Status:
    """A delivery status of a message the bot sent.

    Args:
        key: :func:`event_key` of the message's id (which encodes the phone number).
        status: ``sent``, ``delivered``, ``read`` or ``failed``.
        error: WhatsApp's error code when it failed (131047: outside the window).
        at: when WhatsApp says it happened.
    """

    key: str
    status: str
    error: int | None = None
    at: datetime | None = None


STATUSES = ("sent", "delivered", "read", "failed")

Parsed = Inbound | Ignored | Status

_MEDIA = shape(id=(is_str, True), mime_type=(is_str, False), caption=(is_str, False))
_MESSAGE = shape(**{"from": (is_str, True)}, id=(is_str, True), type=(is_str, True))
_CONTACT = shape(wa_id=(is_str, True))
_STATUS = shape(id=(is_str, True), status=(is_str, True))
_VALUE = shape(
    messages=(list_of(lambda m: isinstance(m, Mapping)), False),
    contacts=(list_of(lambda c: isinstance(c, Mapping)), False),
    statuses=(list_of(lambda s: isinstance(s, Mapping)), False),
    metadata=(shape(phone_number_id=(is_str, True)), False),
)


def event_key(message_id: str) -> str:
    """The dedupe key of a message: a hash of its id (which encodes the phone number)."""
    return "m:" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:48]


def delivery_problem(data: object) -> str | None:
    """Why ``data`` (a POST's decoded JSON) is not a webhook delivery as Meta sends one,
    or None. A short tag for logs, never content."""
    if not isinstance(data, Mapping):
        return "not an object"
    if data.get("object") != "whatsapp_business_account":
        return "not a whatsapp_business_account delivery"
    entries = data.get("entry")
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        return "no entry list"
    for entry in entries:
        changes = entry.get("changes", [])
        if not isinstance(changes, list) or not all(isinstance(c, Mapping) for c in changes):
            return "malformed changes"
        for change in changes:
            if not _VALUE(change.get("value")):
                return "malformed value"
    return None


def parse_delivery(data: Mapping[str, Any], phone_id: str) -> list[Parsed]:
    """Every message of one delivery (checked by :func:`delivery_problem`), in order.

    Args:
        data: the delivery's JSON.
        phone_id: this bot's phone number id; other numbers' messages are ignored.
    """
    parsed: list[Parsed] = []
    for entry in data["entry"]:
        for change in entry.get("changes", []):
            value = change["value"]
            if change.get("field") != "messages":
                parsed.append(Ignored(f"field {change.get('field')}"))
                continue
            metadata = value.get("metadata") or {}
            if metadata.get("phone_number_id", phone_id) != phone_id:
                parsed.append(Ignored("another phone number"))
                continue
            names = {
                contact["wa_id"]: _profile_name(contact)
                for contact in value.get("contacts") or []
                if _CONTACT(contact)
            }
            parsed.extend(parse_status(status) for status in value.get("statuses") or [])
            for message in value.get("messages") or []:
                parsed.append(parse_message(message, names))
    return parsed


def parse_message(message: Mapping[str, Any], names: Mapping[str, str | None]) -> Parsed:
    """One message of a person (see the module's table)."""
    if not _MESSAGE(message):
        return Ignored("malformed message")
    wa_id = message["from"]
    kind = message["type"]
    base: dict[str, Any] = {
        "platform": PLATFORM,
        "user_id": wa_id,
        "chat_id": wa_id,
        "key": event_key(message["id"]),
        "message_id": event_key(message["id"]),
        "display_name": names.get(wa_id),
        "raw": message,
    }
    content = message.get(kind)
    if kind == "text":
        text = normalise_optional(content.get("body") if isinstance(content, Mapping) else None)
        if not text:
            return Ignored("empty text")
        match = _COMMAND.match(text.strip())
        if match is not None:
            command, args = match.groups()
            return Inbound(
                kind=InboundKind.COMMAND,
                command=command.lower(),
                args=(args or "").strip(),
                text=text,
                **base,
            )
        payload = start_payload(text)
        if payload is not None:
            return Inbound(
                kind=InboundKind.COMMAND, command="start", args=payload, text=text, **base
            )
        return Inbound(kind=InboundKind.TEXT, text=text, **base)
    if kind in ("interactive", "button"):
        choice = _choice(kind, content)
        if choice is None:
            return Inbound(kind=InboundKind.UNSUPPORTED, args=kind, **base)
        return Inbound(kind=InboundKind.CHOICE, choice=choice, **base)
    if kind in _MEDIA_KINDS:
        return _media(kind, content, base)
    if kind in ("reaction", "system", "request_welcome", "errors"):
        return Ignored(kind)
    tag = _UNSUPPORTED_NAMES.get(kind, kind)[:32]  # a type name from the payload: bounded
    return Inbound(kind=InboundKind.UNSUPPORTED, args=tag, **base)


def parse_status(status: Mapping[str, Any]) -> Parsed:
    """One delivery status (a kind WhatsApp may add later is ignored)."""
    if not _STATUS(status) or status["status"] not in STATUSES:
        return Ignored("status")
    errors = status.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else None
    code = first.get("code") if isinstance(first, Mapping) else None
    return Status(
        event_key(status["id"]),
        status["status"],
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        sent_at(status),
    )


def sent_at(data: Mapping[str, Any]) -> datetime | None:
    """A message's or status's ``timestamp`` (seconds since the epoch, as a string)."""
    stamp = data.get("timestamp")
    if not isinstance(stamp, str) or not stamp.isdigit() or len(stamp) > 12:
        return None
    return datetime.fromtimestamp(int(stamp), UTC)


def start_payload(text: str) -> str | None:
    """The ``/start`` payload a message of a share link's word alone means, or None
    (``PLEDGE-Spring`` -> ``pledge-Spring``: the word in lower case, a campaign as
    written)."""
    word = text.strip()
    if _START_WORD.fullmatch(word) is None:
        return None
    keyword, dash, rest = word.partition("-")
    return keyword.lower() + dash + rest


def _profile_name(contact: Mapping[str, Any]) -> str | None:
    profile = contact.get("profile")
    name = normalise_optional(profile.get("name") if isinstance(profile, Mapping) else None)
    return name[:NAME_MAX] if name else None


def _choice(kind: str, content: object) -> str | None:
    """The id of the pressed reply button, list row or template quick reply."""
    if not isinstance(content, Mapping):
        return None
    if kind == "button":
        value = content.get("payload")
    else:
        reply = content.get(str(content.get("type")))
        value = reply.get("id") if isinstance(reply, Mapping) else None
    choice = normalise_optional(value)
    return choice[:CHOICE_MAX] if choice else None


def _media(kind: str, content: object, base: dict[str, Any]) -> Parsed:
    if not _MEDIA(content):
        return Inbound(kind=InboundKind.UNSUPPORTED, args=kind, **base)
    assert isinstance(content, Mapping)
    mime = (content.get("mime_type") or "").split(";")[0].strip().lower() or None
    if kind == "document" and not (
        mime
        and any(
            mime == allowed or (allowed.endswith("/") and mime.startswith(allowed))
            for allowed in DOCUMENT_TYPES
        )
    ):
        return Inbound(kind=InboundKind.UNSUPPORTED, args="document_type", **base)
    caption = normalise_optional(content.get("caption"))
    return Inbound(
        kind=InboundKind.MEDIA,
        media=(MediaRef(_MEDIA_KINDS[kind], normalise_text(content["id"]), mime),),
        caption=caption or None,
        **base,
    )
