"""Deployment secrets: from the environment, or generated once and kept on disk.

A fresh machine needs no set-up: when ``IDENTITY_SECRET`` / ``SESSION_SECRET`` are not
set, random ones are created in ``DATA_DIR/secrets.json`` (mode 0600) and reused.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings


@dataclass(frozen=True, slots=True)
class Secrets:
    identity: bytes
    session: bytes


def load_secrets(settings: Settings) -> Secrets:
    stored: dict[str, str] = {}
    path = Path(settings.data_dir) / "secrets.json"
    if settings.identity_secret is None or settings.session_secret is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            stored = json.loads(path.read_text())
        changed = False
        for name in ("identity", "session"):
            if name not in stored:
                stored[name] = secrets.token_hex(32)
                changed = True
        if changed:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fp:
                json.dump(stored, fp)
    identity = (
        settings.identity_secret.get_secret_value()
        if settings.identity_secret
        else stored["identity"]
    )
    session = (
        settings.session_secret.get_secret_value() if settings.session_secret else stored["session"]
    )
    return Secrets(identity=identity.encode(), session=session.encode())
