"""The shipped ``slack-manifest.yml`` asks for what the adapter listens to, and no more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.adapters.slack import views
from bot.adapters.slack.adapter import DM_COMMANDS, EVENTS_PATH

MANIFEST = Path(__file__).resolve().parents[3] / "slack-manifest.yml"


def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_commands_shortcut_and_events_match_the_listeners() -> None:
    data = manifest()
    features, settings = data["features"], data["settings"]
    assert [c["command"] for c in features["slash_commands"]] == [
        "/pledge",
        "/story",
        "/stories",
        "/facts",
        "/updates",
    ]
    assert {c["command"] for c in features["slash_commands"]} == {
        f"/{command}" for command in (*DM_COMMANDS, "story")
    }
    assert [(s["type"], s["callback_id"]) for s in features["shortcuts"]] == [
        ("global", views.SHARE_STORY_SHORTCUT)
    ]
    assert sorted(settings["event_subscriptions"]["bot_events"]) == [
        "app_home_opened",
        "message.im",
    ]
    assert settings["interactivity"]["is_enabled"] is True
    assert features["app_home"]["home_tab_enabled"] and features["app_home"]["messages_tab_enabled"]
    urls = [c["url"] for c in features["slash_commands"]] + [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]
    assert all(url.endswith(EVENTS_PATH) for url in urls)


def test_scopes_are_the_ones_used() -> None:
    assert sorted(manifest()["oauth_config"]["scopes"]["bot"]) == [
        "chat:write",
        "commands",
        "files:read",
        "im:history",
        "im:read",
        "im:write",
        "users:read",
    ]
