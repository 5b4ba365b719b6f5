"""Random tokens that are stored only as their hash (export links, dashboard sign-in).

A token travels in a link; the database keeps its SHA-256, so a copy of the database
cannot be turned back into working links.
"""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A fresh random token (32 bytes, URL-safe: 43 characters)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored of ``token``: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()
