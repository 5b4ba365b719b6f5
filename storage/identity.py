"""Keyed hashes of platform identities: stable for dedupe, useless if the table leaks."""

from __future__ import annotations

import hashlib
import hmac


class IdentityHasher:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the identity secret must be at least 16 bytes")
        self._secret = secret

    def key(self, platform: str, external_id: str) -> str:
        message = f"{platform}:{external_id}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()
