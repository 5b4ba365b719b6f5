"""The Slack endpoint's first step: the body read up to a cap, the signature checked on
the raw bytes, and only then parsed (issue [9]: unsigned garbage was parsed, and 500)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.adapters.slack.gate import gate
from tests.adapters.slack.conftest import Workspace
from tests.fakes.slack_api import SIGNING_SECRET, SlackRequests

CAP = 64 * 1024


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async def endpoint(request: Request) -> Response:
        checked = await gate(request, SIGNING_SECRET, max_body=CAP)
        if isinstance(checked, Response):
            return checked
        return Response(b"passed:" + await checked.body())

    app = Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


def signed(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    return SlackRequests().signed(body, content_type)[1]


async def post(client: httpx.AsyncClient, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/slack/events", content=body, headers=headers)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-slack-request-timestamp": "1", "x-slack-signature": "v0=00"},
        {"x-slack-request-timestamp": "soon", "x-slack-signature": "v0=00"},
        {"x-slack-request-timestamp": "9" * 40, "x-slack-signature": "v0=00"},
        {"x-slack-request-timestamp": str(int(time.time())), "x-slack-signature": "v0=é"},
        {"x-slack-request-timestamp": "١٢٣", "x-slack-signature": "v0=00"},
    ],
    ids=["none", "stale", "not-a-number", "huge", "non-ascii-signature", "arabic-digits"],
)
async def test_unsigned_garbage_is_401_before_any_parsing(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    raw = {k: v.encode() for k, v in headers.items()}
    answer = await client.post(
        "/slack/events", content=b"payload=%7Bnot json", headers={**raw, b"content-type": b"x"}
    )
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe not utf-8", "application/json"),
        (b"{not json", "application/json"),
        (b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        (b"[" * 30_000 + b"]" * 30_000, "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"text"', "application/json"),
    ],
    ids=["not-utf8", "json", "payload", "deep", "list", "string"],
)
async def test_a_signed_body_that_does_not_parse_is_400(
    client: httpx.AsyncClient, body: bytes, content_type: str
) -> None:
    assert (await post(client, body, signed(body, content_type))).status_code == 400


async def test_a_body_over_the_cap_is_413_even_chunked_and_even_signed(
    client: httpx.AsyncClient,
) -> None:
    big = json.dumps({"type": "event_callback", "padding": "x" * CAP}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    answer = await client.post("/slack/events", content=chunks(), headers=signed(big))
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 413
    lying = {**signed(b"{}"), "content-length": "10" + "0" * 30}
    assert (await post(client, b"{}", lying)).status_code == 413


async def test_a_signed_body_goes_on_intact(client: httpx.AsyncClient) -> None:
    event = {"type": "message", "text": "héllo"}
    body = json.dumps({"type": "event_callback", "event": event}).encode()
    answer = await post(client, body, signed(body))
    assert answer.status_code == 200
    assert answer.content == b"passed:" + body


async def test_the_app_answers_unsigned_garbage_401_and_runs_nothing(
    workspace: Workspace,
) -> None:
    for body in (b"payload=%7Bnot json", b"{" * 10_000, b"\xff"):
        answer = await workspace.http.post(
            "/slack/events",
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 401
    await workspace.adapter.drain()
    assert workspace.adapter.processed == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "event_callback", "event": True},
        {"type": "event_callback", "event": None},
        {"type": "event_callback", "event": {"type": "message", "text": 5}},
        {"type": "event_callback", "authorizations": True, "event": {"type": "message"}},
        {"type": "block_actions", "actions": "click"},
        {"type": "block_actions", "actions": None},
        {"type": "block_actions", "actions": [], "view": None},
        {"type": "block_actions", "actions": [], "user": "U1"},
        {"type": 7},
    ],
)
async def test_a_signed_payload_of_another_shape_is_400(
    client: httpx.AsyncClient, payload: dict[str, object]
) -> None:
    body = json.dumps(payload).encode()
    assert (await post(client, body, signed(body))).status_code == 400
