"""Neutral :class:`~bot.core.events.Outgoing` -> Slack Block Kit.

Whatever a person wrote must never be read as markup or ping anyone: ``<!channel>`` or
``<@U123>`` inside a story is text. So the blocks carry text only as ``plain_text``
(Slack reads no mentions, links or formatting there), and the top-level ``text`` (the
notification and fallback, which Slack does parse) is escaped for mrkdwn: ``&``, ``<``
and ``>`` become entities. Choices become buttons (link buttons for share links) in
``actions`` blocks; each button's ``value`` is the choice id. Photos a message may show
(published ones, by their public address: :mod:`bot.adapters.slack.images`) become
``image`` blocks between the text and the buttons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.adapters import text as text_pieces
from bot.adapters.slack.images import Image
from bot.core.events import Choice, Outgoing

SECTION_MAX = 3000  # characters of a section's text
FALLBACK_MAX = 3000  # characters of the top-level text we send (Slack allows more)
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
BUTTONS_PER_BLOCK = 25
BLOCKS_MAX = 50
IMAGES_MAX = 10  # photos shown under one message (Slack takes 50 blocks in all)
ALT_TEXT_MAX = 2000
CHOICE_ACTION = "tb.choice"  # action ids: "tb.choice.<n>"; the value is the choice id
LINK_ACTION = "tb.link"  # link buttons: Slack still tells us about the click
_ELLIPSIS = "…"


class RenderError(ValueError):
    """The message cannot be expressed on Slack (a bug in what the core produced)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """The arguments of ``chat.postMessage`` / ``chat.update`` for one message."""

    text: str
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    """Text made literal for Slack's mrkdwn: ``<!channel>`` -> ``&lt;!channel&gt;``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + _ELLIPSIS


def plain(text: str, limit: int = SECTION_MAX) -> dict[str, Any]:
    """A ``plain_text`` object: shown exactly as written (emoji codes aside)."""
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


def split_text(text: str, limit: int = SECTION_MAX) -> list[str]:
    """Chunks of at most ``limit`` characters: paragraphs first, then lines, then words."""
    return text_pieces.split_text(text, limit)


def button(choice: Choice, index: int) -> dict[str, Any]:
    """One choice as a button: a link button for a URL, else its id as the value."""
    out: dict[str, Any] = {"type": "button", "text": plain(choice.label, BUTTON_TEXT_MAX)}
    if choice.url:
        out["action_id"] = f"{LINK_ACTION}.{index}"
        out["url"] = choice.url
        return out
    if len(choice.id) > BUTTON_VALUE_MAX:
        raise RenderError(f"choice id longer than {BUTTON_VALUE_MAX} characters")
    out["action_id"] = f"{CHOICE_ACTION}.{index}"
    out["value"] = choice.id
    return out


def image(picture: Image) -> dict[str, Any]:
    """A published photo, fetched by Slack from its public address."""
    return {
        "type": "image",
        "image_url": picture.url,
        "alt_text": truncate(picture.alt_text, ALT_TEXT_MAX) or " ",
    }


def blocks(message: Outgoing, images: Sequence[Image] = ()) -> list[dict[str, Any]]:
    """The message's text as ``plain_text`` sections, its ``images``, then its choices
    as buttons."""
    out: list[dict[str, Any]] = [
        {"type": "section", "text": plain(chunk)} for chunk in split_text(message.text)
    ]
    out += [image(picture) for picture in images[:IMAGES_MAX]]
    buttons = [button(choice, i) for i, choice in enumerate(message.choices)]
    for start in range(0, len(buttons), BUTTONS_PER_BLOCK):
        out.append({"type": "actions", "elements": buttons[start : start + BUTTONS_PER_BLOCK]})
    if len(out) > BLOCKS_MAX:
        raise RenderError(f"more than {BLOCKS_MAX} blocks")
    return out


def render(message: Outgoing, images: Sequence[Image] = ()) -> Rendered:
    """The message for Slack: escaped fallback text and its blocks (with ``images``, the
    public addresses of the published photos it carries).

    Raises:
        RenderError: the message has more blocks than Slack takes, or a choice id longer
            than a button's value.
    """
    text = escape(truncate(message.text, FALLBACK_MAX)) or " "
    return Rendered(text=text, blocks=blocks(message, images))
