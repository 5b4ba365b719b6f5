"""Telegram ``Update`` -> neutral :class:`~bot.core.events.Inbound` (or what else to do).

Only private chats reach the core. The moderators' group goes to the moderation surface;
every other group, supergroup or channel is ignored. A ``my_chat_member`` change in a
private chat says whether the person blocked or unblocked the bot.

Everything a person typed (text, captions, names, button data, a deep link's payload) is
normalised here (:func:`~bot.adapters.normalise.normalise_text`). :func:`update_problem`
checks an update's JSON before python-telegram-bot reads it: Telegram never sends
anything else, so an update of another shape is acknowledged and dropped, never retried.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telegram import Chat, ChatMember, Message, Update, User

from bot.adapters.normalise import normalise_optional, normalise_text
from bot.adapters.shapes import Check, is_bool, is_int, is_str, list_of, shape
from bot.adapters.telegram.periods import whole_seconds
from bot.core.events import Inbound, InboundKind, MediaKind, MediaRef

PLATFORM = "telegram"

# What a person may send into a story as a document; everything else is "unsupported".
DEFAULT_DOCUMENT_TYPES: tuple[str, ...] = ("image/", "audio/", "video/", "application/pdf")

# Message contents the bot cannot use; the first one present names the kind in ``args``.
UNSUPPORTED_CONTENT: tuple[str, ...] = (
    "sticker",
    "animation",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
    "invoice",
    "paid_media",
    "checklist",
    "giveaway",
    "passport_data",
)

# Voice notes, audio files, videos and round video notes: (attribute, kind, MIME if unsaid).
_TIMED_MEDIA: tuple[tuple[str, MediaKind, str | None], ...] = (
    ("voice", MediaKind.VOICE, "audio/ogg"),
    ("audio", MediaKind.VOICE, None),
    ("video", MediaKind.VIDEO, "video/mp4"),
    ("video_note", MediaKind.VIDEO, "video/mp4"),
)

# "/start", "/start@together_bot payload": Telegram's command syntax (ASCII, <= 32 chars).
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ParseConfig:
    """What parsing needs to know about this deployment.

    Args:
        moderation_chat_id: the moderators' group, whose updates go to the moderation
            surface instead of the core.
        bot_username: this bot's username, to ignore ``/command@other_bot``.
        document_types: MIME types (or ``type/`` prefixes) accepted as documents.
        safety_chat_id: the safety team's group, handled like the moderators' group.
    """

    moderation_chat_id: int | None = None
    bot_username: str | None = None
    document_types: tuple[str, ...] = DEFAULT_DOCUMENT_TYPES
    safety_chat_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReachabilityChange:
    """The person blocked (``reachable=False``) or unblocked the bot."""

    user_id: str
    reachable: bool


@dataclass(frozen=True, slots=True)
class GroupUpdate:
    """An update from the moderators' group, for the moderation surface."""

    chat_id: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """Nothing to do; ``reason`` is a short tag for debug logs (never content)."""

    reason: str


Parsed = Inbound | ReachabilityChange | GroupUpdate | Ignored


def parse_update(
    update: Update, config: ParseConfig, raw: Mapping[str, Any] | None = None
) -> Parsed:
    """Decide what one Telegram update means.

    Args:
        update: the update as python-telegram-bot parsed it.
        config: this deployment's moderation group, username and media rules.
        raw: the update's JSON, when the caller has it (saves re-serialising).

    Returns:
        An :class:`Inbound` for the core, a :class:`ReachabilityChange`, a
        :class:`GroupUpdate` for the moderation surface, or :class:`Ignored`.
    """
    chat = update.effective_chat
    if chat is not None and chat.type != Chat.PRIVATE:
        if chat.id in (config.moderation_chat_id, config.safety_chat_id):
            return GroupUpdate(str(chat.id))
        return Ignored(f"chat type {chat.type}")
    if update.my_chat_member is not None:
        status = update.my_chat_member.new_chat_member.status
        user = update.my_chat_member.from_user
        return ReachabilityChange(str(user.id), status == ChatMember.MEMBER)
    payload = raw if raw is not None else update.to_dict()
    if update.callback_query is not None:
        return _callback(update, payload)
    if update.message is not None:
        return _message(update.update_id, update.message, config, payload)
    if update.edited_message is not None:
        return _edit(update.update_id, update.edited_message, payload)
    return Ignored("update type")


def _base(user: User, chat_id: int, key: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    hint = normalise_optional(user.language_code)
    return {
        "platform": PLATFORM,
        "user_id": str(user.id),
        "chat_id": str(chat_id),
        "key": key,
        "locale_hint": hint[:LOCALE_HINT_MAX] if hint else None,
        "display_name": normalise_text(user.full_name)[:NAME_MAX] or None,
        "raw": payload,
    }


def _callback(update: Update, payload: Mapping[str, Any]) -> Parsed:
    query = update.callback_query
    assert query is not None
    if not isinstance(query.data, str):
        return Ignored("callback without data")
    message = query.message
    chat_id = message.chat.id if message is not None else query.from_user.id
    return Inbound(
        kind=InboundKind.CHOICE,
        choice=normalise_text(query.data),
        message_id=str(message.message_id) if message is not None else None,
        **_base(query.from_user, chat_id, f"cb:{query.id}", payload),
    )


def _message(
    update_id: int, message: Message, config: ParseConfig, payload: Mapping[str, Any]
) -> Parsed:
    user = message.from_user
    if user is None or user.is_bot:
        return Ignored("no human sender")
    base = _base(user, message.chat.id, str(update_id), payload)
    message_id = str(message.message_id)
    text = normalise_optional(message.text)
    if text is not None:
        match = _COMMAND.match(text)
        if match is not None:
            command, addressee, args = match.groups()
            if addressee and config.bot_username and addressee.lower() != config.bot_username:
                return Ignored("command for another bot")
            return Inbound(
                kind=InboundKind.COMMAND,
                command=command.lower(),
                args=(args or "").strip(),
                text=text,
                message_id=message_id,
                **base,
            )
        return Inbound(kind=InboundKind.TEXT, text=text, message_id=message_id, **base)
    unsupported = _unsupported_kind(message)
    if unsupported is not None:
        return Inbound(
            kind=InboundKind.UNSUPPORTED, args=unsupported, message_id=message_id, **base
        )
    media = _media(message, config)
    if isinstance(media, str):
        return Inbound(kind=InboundKind.UNSUPPORTED, args=media, message_id=message_id, **base)
    if media is None:
        return Ignored("service message")
    return Inbound(
        kind=InboundKind.MEDIA,
        media=(media,),
        caption=normalise_optional(message.caption),
        message_id=message_id,
        **base,
    )


def _edit(update_id: int, message: Message, payload: Mapping[str, Any]) -> Parsed:
    user = message.from_user
    if user is None or user.is_bot:
        return Ignored("no human sender")
    text = normalise_optional(message.text if message.text is not None else message.caption)
    if text is None:
        return Ignored("edit without text")
    return Inbound(
        kind=InboundKind.EDIT,
        text=text,
        edit_of=str(message.message_id),
        message_id=str(message.message_id),
        **_base(user, message.chat.id, str(update_id), payload),
    )


def _unsupported_kind(message: Message) -> str | None:
    for name in UNSUPPORTED_CONTENT:
        if getattr(message, name, None):
            return name
    return None


def _media(message: Message, config: ParseConfig) -> MediaRef | str | None:
    """The message's media, a tag saying why it is unsupported, or None (no media)."""
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return MediaRef(MediaKind.PHOTO, largest.file_id, "image/jpeg", largest.file_size)
    for attribute, kind, default_mime in _TIMED_MEDIA:
        item = getattr(message, attribute)
        if item is not None:
            return MediaRef(
                kind,
                item.file_id,
                getattr(item, "mime_type", None) or default_mime,
                item.file_size,
                whole_seconds(item, "duration"),
            )
    if message.document is not None:
        document = message.document
        mime = (document.mime_type or "").lower()
        if not mime or not any(
            mime == allowed or (allowed.endswith("/") and mime.startswith(allowed))
            for allowed in config.document_types
        ):
            return "document_type"
        return MediaRef(MediaKind.DOCUMENT, document.file_id, mime, document.file_size)
    return None


# -- the shape of an update, checked before python-telegram-bot reads it ----------------------
LOCALE_HINT_MAX = 64  # the participant's columns
NAME_MAX = 128
_USER = shape(
    id=(is_int, True),
    is_bot=(is_bool, True),
    first_name=(is_str, True),
    last_name=(is_str, False),
    username=(is_str, False),
    language_code=(is_str, False),
)
_CHAT = shape(id=(is_int, True), type=(is_str, True))
_FILE = shape(
    file_id=(is_str, True),
    file_unique_id=(is_str, True),
    file_size=(is_int, False),
    duration=(is_int, False),
    mime_type=(is_str, False),
)
_PHOTO = shape(
    file_id=(is_str, True),
    file_unique_id=(is_str, True),
    width=(is_int, True),
    height=(is_int, True),
    file_size=(is_int, False),
)
_MESSAGE = shape(
    message_id=(is_int, True),
    date=(is_int, True),
    chat=(_CHAT, True),
    **{"from": (_USER, False)},
    text=(is_str, False),
    caption=(is_str, False),
    edit_date=(is_int, False),
    photo=(list_of(_PHOTO), False),
    voice=(_FILE, False),
    audio=(_FILE, False),
    video=(_FILE, False),
    video_note=(_FILE, False),
    document=(_FILE, False),
)
_MEMBER = shape(status=(is_str, True), user=(_USER, True))
_UPDATE_KINDS: dict[str, Check] = {
    "message": _MESSAGE,
    "edited_message": _MESSAGE,
    "callback_query": shape(
        id=(is_str, True),
        **{"from": (_USER, True)},
        data=(is_str, False),
        message=(_MESSAGE, False),
    ),
    "my_chat_member": shape(
        chat=(_CHAT, True),
        **{"from": (_USER, True)},
        date=(is_int, True),
        old_chat_member=(_MEMBER, True),
        new_chat_member=(_MEMBER, True),
    ),
}


def update_problem(data: object) -> str | None:
    """Why ``data`` (an update's decoded JSON) is not an update as Telegram sends one, or
    None when every field the bot reads has the type Telegram documents.

    The answer is a short tag for logs (never content).
    """
    if not isinstance(data, Mapping):
        return "not an object"
    if not is_int(data.get("update_id")):
        return "no update_id"
    for kind, check in _UPDATE_KINDS.items():
        if kind in data and not check(data[kind]):
            return f"malformed {kind}"
    return None
