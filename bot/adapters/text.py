"""Splitting long text for platforms with a message size limit.

Paragraphs first, then lines, then words, and only then a hard cut, so a long story
reads naturally across several messages. ``length`` measures text as the platform does
(Telegram counts UTF-16 code units; Slack counts characters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

SEPARATORS = ("\n\n", "\n", " ")
Length = Callable[[str], int]


def split_text(text: str, limit: int, *, length: Length = len) -> list[str]:
    """``text`` in pieces of at most ``limit``, empty pieces dropped."""
    return [chunk for chunk in _split(text, limit, SEPARATORS, length) if chunk.strip()]


def hard_split(text: str, limit: int, *, length: Length = len) -> list[str]:
    """Cut ``text`` between characters, never inside one (nor inside a surrogate pair)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = length(char)
        if size + width > limit:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        chunks.append("".join(current))
    return chunks


def _split(text: str, limit: int, separators: Sequence[str], length: Length) -> list[str]:
    if length(text) <= limit:
        return [text]
    if not separators:
        return hard_split(text, limit, length=length)
    separator, rest = separators[0], separators[1:]
    chunks: list[str] = []
    current = ""
    for piece in text.split(separator):
        candidate = f"{current}{separator}{piece}" if current else piece
        if length(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        if length(piece) <= limit:
            current = piece
        else:
            *full, current = _split(piece, limit, rest, length)
            chunks.extend(full)
    if current:
        chunks.append(current)
    return chunks
