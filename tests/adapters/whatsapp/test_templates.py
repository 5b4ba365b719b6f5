"""The WhatsApp templates: every one valid for WhatsApp Manager in every language, the
command that prints them, and which template (with which parameters) each queued notice
goes as outside the window."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.whatsapp.templates import (
    BODY_LIMIT,
    BUTTON_LIMIT,
    LANGUAGE_CODES,
    MARKETING,
    TAP_PAYLOAD,
    TEMPLATES,
    definitions,
    language_code,
    problems,
    send_components,
    template_for,
)
from bot.cli import main
from bot.i18n.check import SUPPORTED_LOCALES
from bot.i18n.translator import Translator

# WhatsApp's template languages (its "Supported languages" list) for the bot's locales.
CODES = {"ar", "bn", "de", "en", "es", "fa", "fr", "it", "ja", "pt_BR", "ru", "sw", "tr", "uk"}
CODES |= {"ur", "zh_CN", "zh_TW"}
WITHOUT_TEMPLATE_LANGUAGE = {"ps", "so", "ti", "am"}


def test_every_locale_has_its_whatsapp_language_or_english() -> None:
    assert set(LANGUAGE_CODES) == set(SUPPORTED_LOCALES) - WITHOUT_TEMPLATE_LANGUAGE
    assert set(LANGUAGE_CODES.values()) == CODES
    assert {language_code(locale) for locale in WITHOUT_TEMPLATE_LANGUAGE} == {"en"}


@pytest.mark.parametrize("template", definitions(Translator()), ids=lambda t: t["language"])
def test_every_template_is_valid_in_every_language(template: dict[str, Any]) -> None:
    assert problems(template) == []
    assert re.fullmatch(r"[a-z][a-z0-9_]*", template["name"])
    body, buttons = template["components"]
    assert body["type"] == "BODY" and len(body["text"]) <= BODY_LIMIT
    numbers = [int(n) for n in re.findall(r"\{\{(\d+)\}\}", body["text"])]
    assert numbers == list(range(1, len(numbers) + 1))  # {{1}}, {{2}}… in order
    assert "{" not in re.sub(r"\{\{\d+\}\}", "", body["text"])
    [button] = buttons["buttons"]
    assert button["type"] == "QUICK_REPLY" and 0 < len(button["text"]) <= BUTTON_LIMIT


def test_the_checks_catch_what_whatsapp_manager_refuses() -> None:
    good = definitions(Translator())[0]
    assert problems(good) == []
    body = good["components"][0]
    assert problems({**good, "name": "Together Story"})
    for text in ("{{1}} is news", "News about {{2}} and {{1}} here", "x" * (BODY_LIMIT + 1)):
        assert problems({**good, "components": [{**body, "text": text}, good["components"][1]]})


def test_the_milestone_is_marketing_and_the_rest_utility() -> None:
    assert {t.name: t.category for t in TEMPLATES if t.category == MARKETING} == {
        "together_milestone": MARKETING
    }


@pytest.mark.parametrize(
    ("payload", "locale", "name", "values"),
    [
        (
            {"notification": {"kind": "published", "story_id": 12, "reason": None}},
            "en",
            "together_story_update",
            ("12",),
        ),
        ({"thanks": {"thanks_id": 3, "story_id": 12}}, "fr", "together_thanks_received", ("12",)),
        (
            {"milestone": {"campaign": "x", "threshold": 1000}},
            "en",
            "together_milestone",
            ("1,000",),
        ),
        (
            {"milestone": {"campaign": "x", "threshold": 1000}},
            "ar",
            "together_milestone",
            ("١٬٠٠٠",),
        ),
        (
            {"message": {"text": "…"}, "erase_at": "2026-12-16T00:00:00+00:00"},
            "en",
            "together_draft_expiry",
            ("December 15, 2026",),
        ),
        (
            {"message": {"text": "…"}, "notice": "draft_reminder"},
            "en",
            "together_draft_reminder",
            (),
        ),
        ({"message": {"text": "…"}}, "en", "together_new_message", ()),
    ],
)
def test_each_notice_kind_has_its_template(
    payload: dict[str, Any], locale: str, name: str, values: tuple[str, ...]
) -> None:
    spec, found = template_for(payload, locale)
    assert (spec.name, found) == (name, values)
    assert len(found) == len(spec.params)
    components = send_components(spec, found)
    assert components[-1]["parameters"] == [{"type": "payload", "payload": TAP_PAYLOAD}]


def test_the_command_prints_the_json_and_the_readme_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    assert main(["whatsapp", "templates"]) == 0
    lines = capsys.readouterr().out.splitlines()
    printed = [json.loads(line) for line in lines]
    assert len(printed) == len(TEMPLATES) * len(CODES)
    assert {(t["name"], t["language"]) for t in printed} == {
        (spec.name, code) for spec in TEMPLATES for code in CODES
    }
    assert all(
        set(t) == {"name", "language", "category", "parameter_format", "components"}
        for t in printed
    )
    assert main(["whatsapp", "templates", "--format", "markdown"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("| Template |")
    assert len(table) == 2 + len(TEMPLATES) * len(CODES)
