"""Slack payloads -> neutral :class:`~bot.core.events.Inbound` events (pure functions).

Idempotency keys: an Events API event is keyed by its ``event_id`` (Slack's retries carry
the same one); an interaction (a button, a slash command, a submitted modal) by a hash of
what identifies that one click: ``action_ts``, the person, the action and its value.

Slack writes a message's text with its own markup: ``&``, ``<`` and ``>`` arrive as
entities, and mentions and links as ``<@U123>``, ``<!channel>``, ``<https://x|label>``.
:func:`plain_text` turns that back into what the person saw, so the story keeps their
words and the bot never echoes a live mention.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.adapters.normalise import normalise_optional, normalise_text
from bot.core.events import Inbound, InboundKind, MediaKind, MediaRef

PLATFORM = "slack"
_MARKUP = re.compile(r"<([^<>]*)>")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:\s+(.*))?$", re.DOTALL)
# Message subtypes that are a person writing (everything else is ignored).
_WRITTEN = frozenset({None, "thread_broadcast", "file_share", "message_changed"})


@dataclass(frozen=True, slots=True)
class Person:
    """What the adapter knows of a Slack user: their DM channel and language."""

    user_id: str
    dm_channel: str
    locale_hint: str | None = None
    display_name: str | None = None


def plain_text(text: str) -> str:
    """Slack's message markup as the person saw it: ``<@U1>`` -> ``@U1``, ``&lt;`` -> ``<``."""

    def visible(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _sep, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):  # <!channel>, <!here>, <!subteam^S1|@team>, <!date^…|…>
            return label or "@" + target[1:].split("^")[0]
        return label or target

    return normalise_text(html.unescape(_MARKUP.sub(visible, text)))


def interaction_key(kind: str, *parts: object) -> str:
    """A stable key for one interaction: ``kind`` and a hash of what identifies it."""
    joined = "\x1f".join(str(p) for p in parts)
    # surrogatepass: a forged half emoji in a value still hashes (to a key of its own).
    digest = hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{kind}:{digest[:40]}"


def action_key(body: Mapping[str, Any], action: Mapping[str, Any]) -> str:
    """The key of one button click: its ``action_ts``, the person, the action, its value."""
    return interaction_key(
        "act",
        action.get("action_ts", ""),
        _user_id(body),
        action.get("action_id", ""),
        action.get("value", ""),
    )


def _user_id(body: Mapping[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, Mapping):
        return str(user.get("id", ""))
    return str(body.get("user_id", ""))


def message_inbound(event: Mapping[str, Any], event_id: str, person: Person) -> Inbound | None:
    """A direct message (``message.im``) as an ``Inbound``, or None for anything else:
    bots (the app itself included), joins, deletions, other channels."""
    if event.get("channel_type") != "im" or event.get("subtype") not in _WRITTEN:
        return None
    body: Mapping[str, Any] = event
    kind = InboundKind.TEXT
    edit_of = None
    if event.get("subtype") == "message_changed":
        changed = event.get("message")
        if not isinstance(changed, Mapping):
            return None
        body, kind, edit_of = changed, InboundKind.EDIT, str(changed.get("ts", ""))
    if body.get("bot_id") or body.get("user") != person.user_id:
        return None
    text = plain_text(normalise_optional(body.get("text")) or "")
    common: dict[str, Any] = {
        "platform": PLATFORM,
        "user_id": person.user_id,
        "chat_id": person.dm_channel,
        "key": event_id,
        "locale_hint": person.locale_hint,
        "display_name": person.display_name,
        "message_id": str(body.get("ts", "")) or None,
        "raw": event,
    }
    if kind is InboundKind.EDIT:
        return Inbound(kind=kind, text=text, edit_of=edit_of, **common)
    files = body.get("files")
    if isinstance(files, list) and files:
        media = tuple(m for m in (_media(f) for f in files) if m is not None)
        if not media:
            return Inbound(kind=InboundKind.UNSUPPORTED, **common)
        return Inbound(kind=InboundKind.MEDIA, media=media, caption=text or None, **common)
    match = _COMMAND.match(text.strip())
    if match:
        command, args = match.groups()
        return Inbound(
            kind=InboundKind.COMMAND, command=command.lower(), args=args or "", text=text, **common
        )
    return Inbound(kind=InboundKind.TEXT, text=text, **common)


def _media(file: object) -> MediaRef | None:
    if not isinstance(file, Mapping) or not file.get("id"):
        return None
    mime = str(file.get("mimetype") or "")
    if mime.startswith("image/"):
        kind = MediaKind.PHOTO
    elif mime.startswith("audio/"):
        kind = MediaKind.VOICE
    elif mime.startswith("video/"):
        kind = MediaKind.VIDEO
    else:
        kind = MediaKind.DOCUMENT
    size = file.get("size")
    duration_ms = file.get("duration_ms")
    return MediaRef(
        kind=kind,
        ref=str(file["id"]),
        mime=mime or None,
        size=int(size) if isinstance(size, int) else None,
        duration=int(duration_ms) // 1000 if isinstance(duration_ms, int) else None,
    )


def _from(person: Person, key: str, kind: InboundKind, **fields: Any) -> Inbound:
    """An event of ``person``, answered in their DM."""
    return Inbound(
        platform=PLATFORM,
        user_id=person.user_id,
        chat_id=person.dm_channel,
        key=key,
        kind=kind,
        locale_hint=person.locale_hint,
        display_name=person.display_name,
        **fields,
    )


def command_inbound(
    person: Person, key: str, command: str, args: str = "", raw: Mapping[str, Any] | None = None
) -> Inbound:
    """A command (``/pledge``, a Home tab button) from ``person``."""
    return _from(person, key, InboundKind.COMMAND, command=command, args=args, raw=raw)


def form_inbound(person: Person, key: str, answers_json: str) -> Inbound:
    """The story form's answers (a submitted modal), as JSON: never a command."""
    return _from(person, key, InboundKind.FORM, text=answers_json)


def choice_inbound(person: Person, key: str, choice: str, raw: Mapping[str, Any]) -> Inbound:
    """A pressed button under one of the bot's direct messages."""
    return _from(person, key, InboundKind.CHOICE, choice=normalise_text(choice), raw=raw)
