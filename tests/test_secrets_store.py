"""Secrets generated on a fresh machine: created once, shared by every process on the
same DATA_DIR, never overwritten, never half-read."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from bot.config import Settings
from bot.secrets_store import Secrets, load_secrets


def _settings(data: Path) -> Settings:
    return Settings(data_dir=str(data), identity_secret=None, session_secret=None)


def test_generated_once_then_reused_and_private(tmp_path: Path) -> None:
    first = load_secrets(_settings(tmp_path))
    again = load_secrets(_settings(tmp_path))
    assert first == again
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.json"]  # no temporary left


def test_a_process_that_created_them_first_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two replicas on one volume start at once: the second finds no file, and while it
    makes its own secrets the first one writes the file. Both must use the first's
    (different identity secrets would count one person's pledge twice)."""
    real = secrets.token_hex
    other: list[Secrets] = []

    def meanwhile(n: int) -> str:
        if not other:  # the other process runs its whole start-up here
            monkeypatch.setattr(secrets, "token_hex", real)
            other.append(load_secrets(_settings(tmp_path)))
            monkeypatch.setattr(secrets, "token_hex", meanwhile)
        return real(n)

    monkeypatch.setattr(secrets, "token_hex", meanwhile)
    ours = load_secrets(_settings(tmp_path))
    assert other == [ours]
    assert json.loads((tmp_path / "secrets.json").read_text())["identity"] == (
        ours.identity.decode()
    )


def test_an_older_file_missing_one_secret_is_completed_keeping_the_other(
    tmp_path: Path,
) -> None:
    (tmp_path / "secrets.json").write_text(json.dumps({"identity": "kept"}))
    loaded = load_secrets(_settings(tmp_path))
    assert loaded.identity == b"kept"
    assert load_secrets(_settings(tmp_path)) == loaded


def test_secrets_from_the_environment_write_nothing(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=str(tmp_path / "d"), identity_secret="i" * 32, session_secret="s" * 32
    )
    assert load_secrets(settings).identity == b"i" * 32
    assert not (tmp_path / "d").exists()
