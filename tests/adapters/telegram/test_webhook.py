"""Webhook mode: registration, the secret header, malformed bodies, clean shutdown."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from bot.adapters.telegram import TelegramAdapter
from bot.adapters.telegram.webhook import SECRET_HEADER, webhook_path, webhook_secret
from bot.config import Settings
from bot.core.events import Inbound, InboundKind, Outgoing
from tests.adapters.telegram.conftest import UNLIMITED, RecordingCore, telegram_settings
from tests.fakes.telegram_api import FakeTelegramApi, texts_sent

PUBLIC = "https://bot.example.org"


@pytest.fixture
async def webhook(
    api: FakeTelegramApi, settings: Settings, recording_core: RecordingCore
) -> AsyncIterator[TelegramAdapter]:
    adapter = TelegramAdapter(
        telegram_settings(settings, api, telegram_webhook_url=PUBLIC),
        recording_core,
        limits=UNLIMITED,
        command_menus={"": [("start", "Open the menu")], "fr": [("start", "Ouvrir le menu")]},
    )
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.stop()


@pytest.fixture
async def client(webhook: TelegramAdapter) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=webhook.routes())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        yield client


def headers(adapter: TelegramAdapter, secret: str | None = None) -> dict[str, str]:
    return {SECRET_HEADER: adapter.webhook_secret if secret is None else secret}


async def test_start_registers_the_webhook_and_the_command_menus(
    api: FakeTelegramApi, webhook: TelegramAdapter
) -> None:
    call = api.calls("setWebhook")[0]
    assert call.params["url"] == PUBLIC + webhook.webhook_path
    assert call.params["secret_token"] == webhook.webhook_secret
    assert call.params["allowed_updates"] == [
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
    ]
    menus = {
        c.params.get("language_code", ""): c.params["commands"] for c in api.calls("setMyCommands")
    }
    assert menus == {
        "": [{"command": "start", "description": "Open the menu"}],
        "fr": [{"command": "start", "description": "Ouvrir le menu"}],
    }
    assert api.calls("getUpdates") == [] and api.calls("deleteWebhook") == []


def test_the_path_is_a_hash_of_token_and_secret() -> None:
    secret = webhook_secret("1:abc")
    path = webhook_path("1:abc", secret)
    assert path.startswith("/telegram/webhook/") and len(path.rsplit("/", 1)[1]) == 40
    assert "abc" not in path and secret not in path
    assert webhook_path("1:abd", webhook_secret("1:abd")) != path
    assert webhook_path("1:abc", "configured-secret") != path
    assert webhook_secret("1:abc", "configured-secret") == "configured-secret"


async def test_an_update_is_handled_and_answered_in_the_request(
    api: FakeTelegramApi,
    webhook: TelegramAdapter,
    client: httpx.AsyncClient,
    recording_core: RecordingCore,
) -> None:
    recording_core.reply = lambda inbound: [Outgoing(f"echo: {inbound.text}")]
    update = api.make.text(42, "hello")
    answer = await client.post(webhook.webhook_path, json=update, headers=headers(webhook))
    assert answer.status_code == 200
    assert [(i.kind, i.text, i.key) for i in recording_core.inbound] == [
        (InboundKind.TEXT, "hello", str(update["update_id"]))
    ]
    assert texts_sent(api) == ["echo: hello"]


@pytest.mark.parametrize("secret", [None, "", "wrong", "x" * 64])
async def test_wrong_or_missing_secret_is_403_and_nothing_is_handled(
    api: FakeTelegramApi,
    webhook: TelegramAdapter,
    client: httpx.AsyncClient,
    recording_core: RecordingCore,
    secret: str | None,
) -> None:
    sent = {} if secret is None else {SECRET_HEADER: secret}
    answer = await client.post(webhook.webhook_path, json=api.make.text(42, "hi"), headers=sent)
    assert answer.status_code == 403
    assert recording_core.inbound == [] and api.calls("sendMessage") == []


async def test_other_paths_are_not_found(
    api: FakeTelegramApi, webhook: TelegramAdapter, client: httpx.AsyncClient
) -> None:
    answer = await client.post("/telegram/webhook", json=api.make.text(), headers=headers(webhook))
    assert answer.status_code == 404


@pytest.mark.parametrize(
    "body",
    [b"{not json SECRET-STORY", b"", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000],
    ids=["broken", "empty", "not-utf8", "deep"],
)
async def test_a_body_that_is_not_json_is_400_logged_without_content(
    webhook: TelegramAdapter,
    client: httpx.AsyncClient,
    recording_core: RecordingCore,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.adapters.telegram")
    answer = await client.post(
        webhook.webhook_path,
        content=body,
        headers={**headers(webhook), "content-type": "application/json"},
    )
    assert answer.status_code == 400
    assert recording_core.inbound == []
    assert [r.getMessage() for r in caplog.records] == ["telegram webhook: malformed update"]
    assert "SECRET-STORY" not in caplog.text


def _message(**changes: object) -> dict[str, object]:
    message: dict[str, object] = {
        "message_id": 5,
        "date": 1_700_000_000,
        "chat": {"id": 42, "type": "private"},
        "from": {"id": 42, "is_bot": False, "first_name": "SECRET-NAME"},
        "text": "SECRET-STORY",
    }
    message.update(changes)
    return {"update_id": 77, "message": message}


@pytest.mark.parametrize(
    "update",
    [
        [1, 2],
        {"message": {"text": "SECRET-STORY no update id"}},
        {"update_id": "7"},
        {"update_id": True},
        {"update_id": 2**70},
        {"update_id": 7, "message": {"text": "SECRET-STORY no chat, no date"}},
        _message(text=12345),
        _message(text=["SECRET-STORY"]),
        _message(chat=None),
        _message(chat={"id": "42", "type": "private"}),
        _message(**{"from": {"id": 42, "first_name": None, "is_bot": False}}),
        _message(date="yesterday"),
        _message(date=10**18),
        _message(photo=[{"file_id": 1}]),
        _message(caption={"SECRET": "STORY"}),
        _message(sticker="SECRET-STORY"),
        {"update_id": 78, "callback_query": {"id": 5, "from": None, "data": 3}},
        {"update_id": 79, "my_chat_member": {"chat": None}},
        {"update_id": 80, "edited_message": "SECRET-STORY"},
    ],
)
async def test_an_update_of_a_shape_telegram_never_sends_is_200_and_dropped(
    webhook: TelegramAdapter,
    client: httpx.AsyncClient,
    recording_core: RecordingCore,
    caplog: pytest.LogCaptureFixture,
    update: object,
) -> None:
    # A 4xx or 5xx would make Telegram deliver it again, forever (issue [9]).
    caplog.set_level(logging.WARNING, logger="bot.adapters.telegram")
    answer = await client.post(webhook.webhook_path, json=update, headers=headers(webhook))
    assert answer.status_code == 200
    assert recording_core.inbound == []
    assert [r.getMessage() for r in caplog.records] == ["telegram webhook: update ignored"]
    assert "SECRET" not in caplog.text


async def test_a_chunked_body_over_the_cap_is_413(
    webhook: TelegramAdapter, client: httpx.AsyncClient, recording_core: RecordingCore
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"update_id": 1, "padding": "'
        for _ in range(300):
            yield b"x" * 4096
        yield b'"}'

    answer = await client.post(webhook.webhook_path, content=chunks(), headers=headers(webhook))
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 413
    assert recording_core.inbound == []


async def test_names_and_text_are_normalised_before_the_core(
    api: FakeTelegramApi,
    webhook: TelegramAdapter,
    client: httpx.AsyncClient,
    recording_core: RecordingCore,
) -> None:
    update = _message(text="hi \ud83d\x00 e\u0301")
    update["message"]["from"]["first_name"] = "Ana\ud83d"  # type: ignore[index]
    # As JSON carries them: escapes, which decode to a lone surrogate and a NUL.
    body = json.dumps(update).encode()
    answer = await client.post(webhook.webhook_path, content=body, headers=headers(webhook))
    assert answer.status_code == 200
    [inbound] = recording_core.inbound
    assert inbound.text == "hi \ufffd \u00e9"
    assert inbound.display_name == "Ana\ufffd"


async def test_a_failing_core_answers_500_so_telegram_redelivers(
    api: FakeTelegramApi, webhook: TelegramAdapter, client: httpx.AsyncClient
) -> None:
    async def broken(inbound: Inbound) -> list[Outgoing]:
        raise RuntimeError("database is down")

    webhook.core.handle = broken  # type: ignore[method-assign]
    answer = await client.post(
        webhook.webhook_path, json=api.make.text(42, "hello"), headers=headers(webhook)
    )
    assert answer.status_code == 500


async def test_stop_leaves_the_webhook_for_the_other_replicas(
    api: FakeTelegramApi, settings: Settings, recording_core: RecordingCore
) -> None:
    adapter = TelegramAdapter(
        telegram_settings(settings, api, telegram_webhook_url=PUBLIC), recording_core
    )
    await adapter.start()
    await adapter.stop()
    assert api.calls("deleteWebhook") == []
    assert [c.method for c in api.all_calls] == ["getMe", "setWebhook"]
