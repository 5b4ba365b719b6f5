"""Story revisions: their content hash, and redacted text built from spans."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def content_hash(text: str) -> str:
    """The hash an approval binds to: SHA-256 of the UTF-8 text, hex."""
    return hashlib.sha256(text.encode()).hexdigest()


def screened_text(revision_text: str, community_message: str | None) -> str:
    """What screening reads for a story: the flags' offsets index into this text."""
    return revision_text + "\n" + (community_message or "")


def apply_spans(text: str, spans: Sequence[tuple[int, int]], replacement: str) -> str:
    """``text`` with each ``[start, end)`` span replaced by ``replacement``.

    Raises:
        ValueError: a span is empty, out of range, or overlaps another.
    """
    ordered = sorted(spans)
    parts: list[str] = []
    position = 0
    for start, end in ordered:
        if not position <= start < end <= len(text):
            raise ValueError(f"bad span {start}-{end}")
        parts.append(text[position:start])
        parts.append(replacement)
        position = end
    parts.append(text[position:])
    return "".join(parts)
