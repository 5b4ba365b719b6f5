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

NAMES = ("identity", "session")


@dataclass(frozen=True, slots=True)
class Secrets:
    identity: bytes
    session: bytes


def _stored(path: Path) -> dict[str, str]:
    """The kept secrets, created once: processes sharing ``DATA_DIR`` (replicas on one
    volume) starting at the same moment all end up with the first one written.

    A new file is written in full under a temporary name and then linked into place,
    which fails if another process got there first: nobody ever reads a half-written
    file, and nobody overwrites secrets another process already uses.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if all(name in stored for name in NAMES):
        return stored
    fresh = {**{name: secrets.token_hex(32) for name in NAMES}, **stored}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fp:
            json.dump(fresh, fp)
            fp.flush()
            os.fsync(fp.fileno())
        if stored:  # completing an older file that lacks one: replace it whole
            os.replace(temporary, path)
            return fresh
        try:
            os.link(temporary, path)
        except FileExistsError:  # another process created it meanwhile: theirs wins
            return _stored(path)
        return fresh
    finally:
        temporary.unlink(missing_ok=True)


def load_secrets(settings: Settings) -> Secrets:
    stored: dict[str, str] = {}
    if settings.identity_secret is None or settings.session_secret is None:
        stored = _stored(Path(settings.data_dir) / "secrets.json")
    identity = (
        settings.identity_secret.get_secret_value()
        if settings.identity_secret
        else stored["identity"]
    )
    session = (
        settings.session_secret.get_secret_value() if settings.session_secret else stored["session"]
    )
    return Secrets(identity=identity.encode(), session=session.encode())
