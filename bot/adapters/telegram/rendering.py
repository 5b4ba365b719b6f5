"""Neutral :class:`~bot.core.events.Outgoing` -> Telegram Bot API calls.

Text is always sent as plain text: no ``parse_mode`` is ever set, so whatever a person
wrote (and the bot echoes back) is never read as HTML or Markdown. Long texts are split
on paragraph boundaries, then lines, then words, then anywhere; the keyboard goes on the
last message. ``edit_of`` edits a message in place, ``delete_of`` takes one down; media
are sent by file id, or uploaded from the media store (``local:<name>``: everything a
person sent, kept cleaned on arrival). An edit that carries media (a channel post whose
words changed, its file the same) edits each of its messages: a caption, a text; when
the new words no longer split the same way, the message is sent anew and the old one
deleted. A message Telegram no longer lets the bot delete (older than 48 hours) is
emptied in place instead (:func:`blank`), so what was taken down does not stay visible.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from PIL import Image
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    Message,
)
from telegram import error as tg

from bot.adapters import text as text_pieces
from bot.core.events import Choice, Outgoing

LOCAL = "local:"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
_ELLIPSIS = "…"
REMOVED = "🗑"  # what an emptied message says (the same in every language)
BLANK_SIZE = (320, 320)


class RenderError(ValueError):
    """The message cannot be expressed on Telegram (a bug in what the core produced)."""


class MediaFiles(Protocol):
    """Where local media are read from (:class:`storage.media.MediaStore`)."""

    async def read(self, name: str) -> bytes | None: ...


class PartKind(StrEnum):
    TEXT = "text"
    EDIT = "edit"
    EDIT_CAPTION = "edit_caption"
    DELETE = "delete"
    PHOTO = "photo"
    VOICE = "voice"
    VIDEO = "video"
    DOCUMENT = "document"


@dataclass(frozen=True, slots=True)
class Part:
    """One Bot API call of a rendered message.

    Args:
        kind: which method: a text, an edit, or a media kind.
        text: the text, or the caption of a media part.
        markup: the inline keyboard, on the last part only.
        file_id: the file id of a media part, or ``local:<name>`` for a file to upload.
        message_id: the message an edit replaces or a delete removes.
    """

    kind: PartKind
    text: str | None = None
    markup: InlineKeyboardMarkup | None = None
    file_id: str | None = None
    message_id: int | None = None


def utf16_len(text: str) -> int:
    """Telegram measures text in UTF-16 code units (an emoji can count as two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` UTF-16 units.

    Paragraph boundaries are preferred, then line breaks, then spaces; a run with none of
    them is cut hard (never inside a character). Empty chunks are dropped.
    """
    return text_pieces.split_text(text, limit, length=utf16_len)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 units, with an ellipsis when cut."""
    if utf16_len(text) <= limit:
        return text
    return text_pieces.hard_split(text, limit - 1, length=utf16_len)[0] + _ELLIPSIS


def keyboard(choices: Sequence[Choice]) -> InlineKeyboardMarkup | None:
    """Choices as an inline keyboard: short labels share a row, long ones get their own.

    Raises:
        RenderError: a choice id is longer than Telegram's 64-byte ``callback_data``.
    """
    if not choices:
        return None
    buttons = [_button(choice) for choice in choices]
    longest = max(len(choice.label) for choice in choices)
    per_row = 3 if longest <= 12 else 2 if longest <= 20 else 1
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    return InlineKeyboardMarkup(rows)


def _button(choice: Choice) -> InlineKeyboardButton:
    if choice.url:
        return InlineKeyboardButton(choice.label, url=choice.url)
    if len(choice.id.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        raise RenderError(f"choice id longer than {CALLBACK_DATA_LIMIT} bytes")
    return InlineKeyboardButton(choice.label, callback_data=choice.id)


def join_ids(ids: Sequence[str]) -> str | None:
    """The platform id of a message sent as several Telegram messages: ``"101,102"``."""
    return ",".join(ids) or None


def split_ids(joined: str) -> list[int]:
    """The Telegram message ids inside an id made by :func:`join_ids`.

    Raises:
        RenderError: it is not a Telegram message id (e.g. another platform's).
    """
    try:
        return [int(part) for part in joined.split(",")]
    except ValueError:
        raise RenderError("not a Telegram message id") from None


def plan(message: Outgoing) -> list[Part]:
    """The Bot API calls that show ``message``, in order.

    A message sent as several Telegram messages has the id ``"101,102,..."``: an edit
    changes the last one (it carries the keyboard), a delete removes them all.

    Raises:
        RenderError: the message cannot be sent on Telegram (an edit of a message id
            that is not Telegram's, a choice id over 64 bytes).
    """
    if message.delete_of is not None:
        return [Part(PartKind.DELETE, message_id=i) for i in split_ids(message.delete_of)]
    markup = keyboard(message.choices)
    if message.edit_of is not None and message.media:
        return _edit_with_media(message, split_ids(message.edit_of))
    if message.edit_of is not None:
        message_id = split_ids(message.edit_of)[-1]
        return [Part(PartKind.EDIT, truncate(message.text, TEXT_LIMIT), markup, None, message_id)]
    chunks = split_text(message.text)
    parts: list[Part] = []
    if message.media:
        caption = None
        if len(message.media) == 1 and len(chunks) == 1 and utf16_len(chunks[0]) <= CAPTION_LIMIT:
            caption, chunks = chunks[0], []
        for item in message.media:
            parts.append(Part(PartKind(item.kind.value), caption, None, item.ref))
    parts.extend(Part(PartKind.TEXT, chunk) for chunk in chunks)
    if parts and markup is not None:
        last = parts[-1]
        parts[-1] = Part(last.kind, last.text, markup, last.file_id, last.message_id)
    return parts


def _edit_with_media(message: Outgoing, ids: list[int]) -> list[Part]:
    """Each message of a post edited in place (its media stay as they are), or, when
    the new words do not split as before, the post sent anew and the old one deleted."""
    fresh = plan(without_edit(message))
    if len(fresh) != len(ids):
        return [*fresh, *(Part(PartKind.DELETE, message_id=i) for i in ids)]
    return [
        Part(
            PartKind.EDIT if part.kind is PartKind.TEXT else PartKind.EDIT_CAPTION,
            part.text or "",
            part.markup,
            None,
            message_id,
        )
        for part, message_id in zip(fresh, ids, strict=True)
    ]


def without_edit(message: Outgoing) -> Outgoing:
    """The same message, sent anew (when the one to edit is gone)."""
    return dataclasses.replace(message, edit_of=None)


def chat_ref(chat_id: str) -> int | str:
    """Telegram takes numeric chat ids as numbers and ``@channel`` names as text."""
    try:
        return int(chat_id)
    except ValueError:
        return chat_id


async def perform(
    bot: Bot, chat_id: str, part: Part, media: MediaFiles | None = None
) -> str | None:
    """Make the Bot API call of one part; returns the resulting message id.

    Raises:
        RenderError: a local file that is not in ``media`` (erased since).
    """
    chat = chat_ref(chat_id)
    result: Message | bool
    if part.kind is PartKind.TEXT:
        assert part.text is not None
        result = await bot.send_message(chat_id=chat, text=part.text, reply_markup=part.markup)
    elif part.kind is PartKind.DELETE:
        assert part.message_id is not None
        result = await bot.delete_message(chat_id=chat, message_id=part.message_id)
    elif part.kind is PartKind.EDIT:
        assert part.text is not None and part.message_id is not None
        result = await bot.edit_message_text(
            chat_id=chat, message_id=part.message_id, text=part.text, reply_markup=part.markup
        )
    elif part.kind is PartKind.EDIT_CAPTION:
        assert part.message_id is not None
        result = await bot.edit_message_caption(
            chat_id=chat, message_id=part.message_id, caption=part.text, reply_markup=part.markup
        )
    else:
        assert part.file_id is not None
        args = (chat, await _file(part.file_id, media))
        extra: dict[str, Any] = {"caption": part.text, "reply_markup": part.markup}
        if part.kind is PartKind.PHOTO:
            result = await bot.send_photo(*args, **extra)
        elif part.kind is PartKind.VOICE:
            result = await bot.send_voice(*args, **extra)
        elif part.kind is PartKind.VIDEO:
            result = await bot.send_video(*args, **extra)
        else:
            result = await bot.send_document(*args, **extra)
    if isinstance(result, Message):
        return str(result.message_id)
    return str(part.message_id) if part.message_id is not None else None


async def blank(bot: Bot, chat_id: str, message_id: int) -> None:
    """Empty a message that can no longer be deleted: a photo, video or file becomes a
    blank picture, its caption and any text become :data:`REMOVED`.

    Raises:
        telegram.error.TelegramError: Telegram refused both (mapped by the sender).
    """
    chat = chat_ref(chat_id)
    try:
        await bot.edit_message_media(
            chat_id=chat,
            message_id=message_id,
            media=InputMediaPhoto(InputFile(_blank_picture(), filename="removed.png"), REMOVED),
        )
    except tg.BadRequest as exc:
        if "not modified" in exc.message.lower():
            return
        # No media to replace: a text message.
        await bot.edit_message_text(chat_id=chat, message_id=message_id, text=REMOVED)


@functools.cache
def _blank_picture() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", BLANK_SIZE, (238, 238, 238)).save(out, format="PNG")
    return out.getvalue()


async def _file(file_id: str, media: MediaFiles | None) -> str | InputFile:
    """A Telegram file id as it is; a local file's bytes, to upload."""
    if not file_id.startswith(LOCAL):
        return file_id
    name = file_id[len(LOCAL) :]
    data = await media.read(name) if media is not None else None
    if data is None:
        raise RenderError("local media file not found")
    return InputFile(data, filename=name)
