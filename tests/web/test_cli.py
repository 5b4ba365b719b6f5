"""``together-bot moderators add|list|remove|login``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import Bot
from bot.cli import add_moderator, list_moderators, main, remove_moderator


async def test_add_list_and_remove(bot: Bot) -> None:
    bot.settings.moderators = {"cfg": {"role": "lead", "accounts": ["telegram:1"]}}
    await add_moderator(bot.deps.db, "ana", "moderator", ["telegram:42", "slack:U1"])
    await add_moderator(bot.deps.db, "ana", "safety_moderator", ["telegram:42"])
    assert await list_moderators(bot.deps.db, bot.settings) == [
        ("ana", "safety_moderator", ["telegram:42"], "table"),
        ("cfg", "lead", ["telegram:1"], "MODERATORS"),
    ]
    assert await remove_moderator(bot.deps.db, "ana")
    assert not await remove_moderator(bot.deps.db, "ana")
    for bad_role, accounts in (("storyteller", []), ("moderator", ["no-platform"])):
        with pytest.raises(ValueError):
            await add_moderator(bot.deps.db, "x", bad_role, accounts)


def test_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setenv("PUBLIC_URL", "https://together.example")
    monkeypatch.setenv("MODERATORS", '{"cfg": {"role": "lead", "accounts": []}}')
    assert main(["moderators", "add", "ana", "--role", "lead", "--account", "telegram:42"]) == 0
    assert main(["moderators", "list"]) == 0
    listing = capsys.readouterr().out
    assert "ana\tlead\ttelegram:42\t(table)" in listing
    assert "cfg\tlead\t-\t(MODERATORS)" in listing
    assert main(["moderators", "login", "ana"]) == 0
    out = capsys.readouterr().out
    assert "https://together.example/moderation/login/" in out
    assert main(["moderators", "login", "cfg"]) == 1
    assert "add them with" in capsys.readouterr().err
    assert main(["moderators", "add", "bad", "--account", "nocolon"]) == 2
    assert main(["moderators", "remove", "ana"]) == 0
    assert main(["moderators", "remove", "ana"]) == 1
