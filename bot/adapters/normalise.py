"""Text as a person sent it, made safe to store and show: applied by every adapter.

Browsers and platforms pass on what a phone produced, and not all of it is text a
database takes: ``JSON.stringify`` sends half an emoji as a lone surrogate (``\\ud83d``),
old encoders send CESU-8 (an emoji as two encoded surrogates), and PostgreSQL refuses
NUL outright. :func:`normalise_text` is the one place that turns any of it into clean
Unicode: surrogate pairs joined into their character, a lone surrogate replaced by
U+FFFD, NFC, line ends as ``\\n``, and control characters other than newline and tab
removed. Every adapter applies it to every text field it takes from a person (message
text, captions, names, button values, form fields), so nothing deeper ever sees them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

# C0 controls except tab (\x09) and newline (\x0a), and DEL. CR is handled first.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_SURROGATES = re.compile("[\ud800-\udfff]")
_NESTING_MAX = 64


def normalise_text(text: str) -> str:
    """``text`` as clean Unicode (see the module's docstring); idempotent."""
    if not text.isascii():
        if _SURROGATES.search(text) is not None:
            # UTF-16 pairs what belongs together (CESU-8's halves of one emoji) and
            # replaces a surrogate left alone.
            text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        text = unicodedata.normalize("NFC", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text)


def normalise_optional(text: object) -> str | None:
    """A text field that may be missing: a string normalised, anything else None."""
    return normalise_text(text) if isinstance(text, str) else None


def normalise_json(value: Any, _depth: int = 0) -> Any:
    """Every string (keys included) in a decoded JSON value normalised; a value nested
    deeper than any real payload is cut off (None) rather than walked."""
    if isinstance(value, str):
        return normalise_text(value)
    if _depth >= _NESTING_MAX:
        return None
    if isinstance(value, Mapping):
        return {normalise_text(str(k)): normalise_json(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise_json(v, _depth + 1) for v in value]
    return value
