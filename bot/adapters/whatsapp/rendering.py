"""Neutral :class:`~bot.core.events.Outgoing` -> the WhatsApp messages that show it.

WhatsApp's limits shape what is sent (measured in UTF-16 code units, as WhatsApp's
clients count an emoji, so a label that fits here fits there):

- a text message holds at most 4,096 characters; an interactive message's body 1,024.
  A longer text is split on paragraphs, then lines, then words
  (:mod:`bot.adapters.text`); the choices go with the last part.
- up to 3 choices whose labels fit 20 characters: reply buttons. Otherwise a list: rows
  of up to 24 characters (a longer label is shortened and shown whole as the row's
  description, up to 72), at most 10 rows a list; more choices go into further list
  messages, whose body is ``more``, the rows shared evenly (21 languages: 7, 7 and 7).
- a label too long for its button or row is replaced by its short form from the catalog
  (:mod:`bot.i18n.short_labels`, in the current locale) when that fits: three choices
  stay reply buttons in every language; a row then shows the whole label underneath.
- a link (a share link) alone is a CTA URL button; links beside other choices, or more
  than one, are written into the text as "label: URL".

Nothing is ever cut inside a grapheme cluster (an emoji with its skin tone, a letter with
its marks, a Devanagari conjunct): :func:`shorten`. WhatsApp cannot edit or delete a
message: an edit is sent as a new message, and a delete sends nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import regex

from bot.adapters import text as text_pieces
from bot.core.events import Choice, MediaRef, Outgoing
from bot.i18n.short_labels import short_label

TEXT_LIMIT = 4096
BODY_LIMIT = 1024
BUTTONS_MAX = 3
BUTTON_TITLE_LIMIT = 20
ROWS_MAX = 10
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
LIST_BUTTON_LIMIT = 20
ELLIPSIS = "…"
_GRAPHEME = regex.compile(r"\X")


def width(text: str) -> int:
    """How long WhatsApp counts ``text`` (UTF-16 code units: an emoji can count as two)."""
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int) -> str:
    """``text`` within ``limit``, cut between grapheme clusters with an ellipsis."""
    if width(text) <= limit:
        return text
    kept = ""
    for grapheme in _GRAPHEME.findall(text):
        if width(kept) + width(grapheme) > limit - width(ELLIPSIS):
            break
        kept += grapheme
    return kept.rstrip() + ELLIPSIS


def fitted(label: str, limit: int) -> str | None:
    """``label`` if it fits ``limit``, else its short form if that fits, else None.

    The short form is looked up in the current locale (the sender renders inside the
    message's locale)."""
    if 0 < width(label) <= limit:
        return label
    short = short_label(label)
    return short if short is not None and 0 < width(short) <= limit else None


class PartKind(enum.StrEnum):
    TEXT = "text"
    BUTTONS = "buttons"
    LIST = "list"
    LINK = "link"  # an interactive CTA URL button
    MEDIA = "media"


@dataclass(frozen=True, slots=True)
class Option:
    """A reply button or a list row: ``id`` comes back as the choice."""

    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """One message to send.

    Args:
        kind: a text, reply buttons, a list, a link button, or a file.
        text: the text, or the interactive message's body.
        options: the buttons or the list's rows.
        button: the list's button (which opens it), or the link button's text.
        url: the link button's address.
        media: the file of a MEDIA part.
    """

    kind: PartKind
    text: str = ""
    options: tuple[Option, ...] = ()
    button: str | None = None
    url: str | None = None
    media: MediaRef | None = None


def plan(message: Outgoing, *, list_button: str, more: str) -> list[Part]:
    """The messages that show ``message``, in order.

    Args:
        message: what to show.
        list_button: the label of the button that opens a list (localised).
        more: the body of a second or later list of the same choices (localised).
    """
    if message.delete_of is not None:
        return []
    parts = [Part(PartKind.MEDIA, media=media) for media in message.media]
    callbacks = [c for c in message.choices if c.url is None]
    links = [c for c in message.choices if c.url is not None]
    text = message.text
    if links and (callbacks or len(links) > 1):
        text = "\n\n".join(
            piece for piece in (text, "\n".join(f"{c.label}: {c.url}" for c in links)) if piece
        )
        links = []
    if not callbacks and not links:
        return parts + [Part(PartKind.TEXT, chunk) for chunk in split(text, TEXT_LIMIT)]
    chunks = split(text, TEXT_LIMIT)
    body = chunks.pop() if chunks else ""
    if width(body) > BODY_LIMIT:
        # The last piece that fits an interactive body carries the choices; what comes
        # before it goes in as few text messages as it takes.
        last = body
        body = split(last, BODY_LIMIT)[-1]
        chunks += split(last[: last.rfind(body)].rstrip(), TEXT_LIMIT)
    parts += [Part(PartKind.TEXT, chunk) for chunk in chunks]
    body = body or more
    if links:
        link = links[0]
        title = fitted(link.label, BUTTON_TITLE_LIMIT) or shorten(link.label, BUTTON_TITLE_LIMIT)
        return [*parts, Part(PartKind.LINK, body, button=title, url=link.url)]
    titles = [fitted(c.label, BUTTON_TITLE_LIMIT) for c in callbacks[: BUTTONS_MAX + 1]]
    # WhatsApp refuses two reply buttons of one title (two short forms may meet).
    if len(callbacks) <= BUTTONS_MAX and all(titles) and len(set(titles)) == len(titles):
        options = tuple(Option(c.id, t) for c, t in zip(callbacks, titles, strict=True) if t)
        return [*parts, Part(PartKind.BUTTONS, body, options)]
    button = shorten(list_button, LIST_BUTTON_LIMIT)
    # As few lists as the choices need, as even as can be: 21 languages are three lists
    # of 7, not 10, 10 and a list of one.
    lists = -(-len(callbacks) // ROWS_MAX)
    size = -(-len(callbacks) // lists)
    for start in range(0, len(callbacks), size):
        rows = tuple(_row(c) for c in callbacks[start : start + size])
        parts.append(Part(PartKind.LIST, body if start == 0 else more, rows, button=button))
    return parts


def split(text: str, limit: int) -> list[str]:
    return text_pieces.split_text(text, limit, length=width)


def _row(choice: Choice) -> Option:
    title = fitted(choice.label, ROW_TITLE_LIMIT) or shorten(choice.label, ROW_TITLE_LIMIT)
    description = None if title == choice.label else shorten(choice.label, ROW_DESCRIPTION_LIMIT)
    return Option(choice.id, title, description)
