"""``together-bot facts check`` and the start-up: a broken facts file never reaches a
person, and a fact missing a language is listed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_bot
from bot.config import Settings
from bot.facts import FactsError
from bot.facts.check import main as check_facts
from tests.facts.test_loader import fact, with_source

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, *facts: dict[str, Any]) -> Path:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps({"facts": list(facts)}), encoding="utf-8")
    return path


def cli(tmp_path: Path, *args: str, facts_file: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "SLACK_", "DATABASE_", "FACTS_"))
    }
    env.update(FACTS_FILE=str(facts_file), DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=tmp_path,  # no developer's .env
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_packaged_facts_pass_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_facts() == 0
    assert "facts in all 21 languages" in capsys.readouterr().out


def test_the_check_lists_facts_missing_a_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_facts(write(tmp_path, fact())) == 1
    out = capsys.readouterr().out
    assert (
        "fact 'children': no am, ar, bn, de, es, fa, it, ja, ps, pt, ru, so, sw, ti, tr, uk, ur, zh_Hans, zh_Hant translation"
        in out
    )
    assert "1 fact(s) missing a language" in out


def test_the_check_names_what_is_broken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_facts(write(tmp_path, with_source(title=None))) == 1
    assert "fact 'children': source.title: missing" in capsys.readouterr().out


def test_the_bot_does_not_build_with_a_broken_facts_file(
    settings: Settings, tmp_path: Path
) -> None:
    broken = settings.model_copy(update={"facts_file": write(tmp_path, fact(checked="last week"))})
    with pytest.raises(FactsError, match="fact 'children': checked"):
        build_bot(broken)


def test_an_empty_setting_means_the_packaged_file() -> None:
    assert Settings(_env_file=None, facts_file="").facts_file is None  # type: ignore[call-arg]


def test_the_command_line_checks_the_file_facts_file_names(tmp_path: Path) -> None:
    done = cli(tmp_path, "facts", "check", facts_file=write(tmp_path, fact()))
    assert done.returncode == 1
    assert "fact 'children': no am, ar" in done.stdout


def test_run_refuses_a_broken_facts_file_with_one_clear_line(tmp_path: Path) -> None:
    broken = write(tmp_path, with_source(url="http://www.unhcr.org/global-trends"))
    done = cli(tmp_path, "run", facts_file=broken)
    assert done.returncode == 2
    assert "error: " in done.stderr and "fact 'children': source.url" in done.stderr
    assert "Traceback" not in done.stderr
