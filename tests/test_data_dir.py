"""DATA_DIR is the bot's own: 0700, its files 0600, older installs fixed at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import build_bot
from bot.config import Settings
from bot.data_dir import prepare_data_dir
from tests.storage.test_db_privacy import open_umask  # noqa: F401  (a fixture)


def _modes(root: Path) -> dict[str, int]:
    found = {".": root.stat().st_mode & 0o777}
    for path in root.rglob("*"):
        if not path.is_symlink():
            found[str(path.relative_to(root))] = path.stat().st_mode & 0o777
    return found


@pytest.mark.usefixtures("open_umask")
def test_an_older_readable_install_is_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "media").mkdir(parents=True)
    data.chmod(0o755)
    for name in ("together.db", "together.db-wal", "secrets.json", "media/1-abc"):
        (data / name).write_bytes(b"x")
        (data / name).chmod(0o644)
    outside = tmp_path / "shared.txt"
    outside.write_text("not ours")
    outside.chmod(0o644)
    (data / "link").symlink_to(outside)

    assert prepare_data_dir(data) == 6
    modes = _modes(data)
    assert modes.pop(".") == 0o700 and modes.pop("media") == 0o700
    assert set(modes.values()) == {0o600}
    assert outside.stat().st_mode & 0o777 == 0o644  # a link's target is not ours to change
    assert prepare_data_dir(data) == 0


@pytest.mark.usefixtures("open_umask")
async def test_a_fresh_bot_creates_only_private_files(settings: Settings, tmp_path: Path) -> None:
    """The whole bot on its default SQLite database: directory, database, WAL, secrets."""
    settings.identity_secret = None
    settings.session_secret = None
    bot = build_bot(settings)
    try:
        await bot.start()
        async with bot.deps.db.transaction():
            pass
        modes = _modes(settings.data_dir)
        assert {"together.db", "together.db-wal", "secrets.json"} <= set(modes)
        directories = {".", "media"}
        assert {modes[d] for d in directories} == {0o700}
        assert {m for name, m in modes.items() if name not in directories} == {0o600}
    finally:
        await bot.stop()
