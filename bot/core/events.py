"""Neutral events exchanged between platform adapters and the bot core.

An adapter turns a platform update into an :class:`Inbound` and renders each
:class:`Outgoing` natively (Telegram inline keyboards, Slack Block Kit, web-chat
buttons). Nothing here knows about any platform.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from storage.media import MediaKind as MediaKind  # one kind, in the store and in events


class InboundKind(enum.StrEnum):
    """What a person sent."""

    TEXT = "text"
    COMMAND = "command"
    CHOICE = "choice"
    MEDIA = "media"
    EDIT = "edit"  # an edited earlier message (text in ``text``, ``edit_of`` set)
    UNSUPPORTED = "unsupported"  # stickers, locations, polls...
    # A whole story form, its answers as JSON in ``text``. Made only by the adapter that
    # owns the form (the Slack modal's submission), never from anything a person types.
    FORM = "form"


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A reference to a media file held by a platform or the local media store.

    Args:
        kind: photo, voice, video or document.
        ref: the platform's file id, or ``local:<name>`` for a file in the media store
            (every file a person sends is kept there on arrival, cleaned).
        mime: the MIME type, when known.
        size: the size in bytes, when known.
        duration: seconds, for voice and video, when known.
    """

    kind: MediaKind
    ref: str
    mime: str | None = None
    size: int | None = None
    duration: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "ref": self.ref,
            "mime": self.mime,
            "size": self.size,
            "duration": self.duration,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MediaRef:
        return cls(
            kind=MediaKind(data["kind"]),
            ref=str(data["ref"]),
            mime=data.get("mime"),
            size=data.get("size"),
            duration=data.get("duration"),
        )


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a person did, in platform-neutral terms.

    Args:
        platform: ``telegram``, ``slack``, ``web`` or ``memory``.
        user_id: the platform's stable id of the person.
        chat_id: where replies go (a private chat, a DM channel, a web session).
        key: the platform's idempotency key for this event (update id, event id...).
        kind: what was sent.
        text: message text (for TEXT and EDIT).
        command: the command name without the slash (for COMMAND).
        args: what followed the command (a deep-link payload for ``/start``).
        choice: the id of the pressed choice (for CHOICE).
        media: attached media (for MEDIA).
        caption: text sent with media.
        locale_hint: the platform's language hint (``language_code``, a browser's
            Accept-Language header, a Slack locale).
        display_name: the name the platform shows for the person, if any.
        edit_of: the platform id of the message an EDIT replaces.
        message_id: the platform id of this message, when it has one.
        media_notes: what happened to attached files on arrival, as codes of
            :mod:`bot.core.media` (a file refused or not received, the first photo's
            location removed), for the handler to tell the person.
        raw: the original platform payload, as an escape hatch.
    """

    platform: str
    user_id: str
    chat_id: str
    key: str
    kind: InboundKind
    text: str | None = None
    command: str | None = None
    args: str = ""
    choice: str | None = None
    media: tuple[MediaRef, ...] = ()
    caption: str | None = None
    locale_hint: str | None = None
    display_name: str | None = None
    edit_of: str | None = None
    message_id: str | None = None
    media_notes: tuple[str, ...] = ()
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Choice:
    """A button: ``id`` comes back in :attr:`Inbound.choice`; ``label`` is shown.

    ``url`` makes it a link button (a share link) instead of a callback.
    """

    id: str
    label: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message the bot sends.

    Args:
        text: plain text; adapters must never interpret it as markup.
        choices: buttons, rendered in rows by the adapter.
        media: media to attach.
        edit_of: when set, edit this earlier platform message instead of sending.
        locale: the locale the text is in (adapters use it for direction, e.g. RTL).
        delete_of: when set, delete this earlier platform message (nothing is sent).
    """

    text: str
    choices: tuple[Choice, ...] = ()
    media: tuple[MediaRef, ...] = ()
    edit_of: str | None = None
    locale: str = "en"
    # When set, delete this earlier platform message instead (taking a post down).
    delete_of: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "choices": [{"id": c.id, "label": c.label, "url": c.url} for c in self.choices],
            "media": [m.to_json() for m in self.media],
            "edit_of": self.edit_of,
            "locale": self.locale,
            "delete_of": self.delete_of,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Outgoing:
        return cls(
            text=str(data["text"]),
            choices=tuple(
                Choice(id=c["id"], label=c["label"], url=c.get("url"))
                for c in data.get("choices", ())
            ),
            media=tuple(MediaRef.from_json(m) for m in data.get("media", ())),
            edit_of=data.get("edit_of"),
            locale=str(data.get("locale", "en")),
            delete_of=data.get("delete_of"),
        )
