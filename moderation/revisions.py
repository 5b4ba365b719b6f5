"""Story revisions: their content hash, and redacted text built from spans."""

from __future__ import annotations

import hashlib


def content_hash(text: str) -> str:
    """The hash an approval binds to: SHA-256 of the UTF-8 text, hex."""
    return hashlib.sha256(text.encode()).hexdigest()
