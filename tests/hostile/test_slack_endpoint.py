"""The Slack endpoint against the hostile corpus: unsigned and forged requests, signed
bodies that do not parse, signed payloads of odd shapes, oversized bodies; afterwards a
person still takes the pledge in their DM."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest

from bot.config import Settings
from storage.db import Database
from tests.adapters.slack.conftest import Workspace, open_workspace, slack_settings
from tests.adapters.slack.test_end_to_end import take_pledge
from tests.fakes.slack_api import FakeSlackApi
from tests.hostile.corpus import (
    SEED,
    Verdicts,
    chunked,
    hostile_json_values,
    hostile_texts,
    mutated,
    raw_json_bodies,
)

EVENT_FIELDS: tuple[tuple[str, ...], ...] = (
    ("event",),
    ("event", "type"),
    ("event", "user"),
    ("event", "text"),
    ("event", "channel"),
    ("event", "channel_type"),
    ("event", "subtype"),
    ("event", "files"),
    ("event", "message"),
    ("event_id",),
    ("type",),
    ("authorizations",),
)
ACTION_FIELDS: tuple[tuple[str, ...], ...] = (
    ("user",),
    ("actions",),
    ("channel",),
    ("container",),
    ("type",),
    ("view",),
)


@pytest.fixture
async def workspace(settings: Settings, db: Database) -> AsyncIterator[Workspace]:
    async with FakeSlackApi() as api:
        async for ws in open_workspace(slack_settings(settings, api), db, api):
            yield ws


async def test_the_slack_endpoint_refuses_hostile_input_and_keeps_working(
    workspace: Workspace,
) -> None:
    rng = random.Random(SEED)
    verdicts = Verdicts()
    make = workspace.make
    user = workspace.user("U0CALM")

    async def post(body: object, headers: dict[bytes, bytes]) -> httpx.Response:
        return await workspace.http.post("/slack/events", content=body, headers=headers)  # type: ignore[arg-type]

    def signed(body: bytes, kind: str = "application/json") -> dict[bytes, bytes]:
        return {k.encode(): v.encode() for k, v in make.signed(body, kind)[1].items()}

    # Unsigned, forged or stale: nothing is parsed.
    for body in raw_json_bodies():
        verdicts.check(
            await post(body, {b"content-type": b"application/json"}), "unsigned", allowed=[401]
        )
    for text in hostile_texts(rng, 30):
        raw = text.encode("utf-8", "surrogatepass")
        forged = {
            b"content-type": b"application/x-www-form-urlencoded",
            b"x-slack-request-timestamp": raw,
            b"x-slack-signature": b"v0=" + raw,
        }
        verdicts.check(await post(b"payload=" + raw, forged), f"forged {text!r}", allowed=[401])
    body, _headers = make.event(make.dm_event(user.user_id, "hello"))
    stale = signed(body) | {b"x-slack-request-timestamp": b"1000000000"}
    verdicts.check(await post(body, stale), "stale", allowed=[401])
    # Signed, but not a body Slack sends.
    for body in raw_json_bodies():
        verdicts.check(await post(body, signed(body)), f"signed raw {body[:60]!r}")
        form = b"payload=" + body
        verdicts.check(
            await post(form, signed(form, "application/x-www-form-urlencoded")),
            f"signed payload {body[:60]!r}",
        )
    # Signed events and interactions whose fields have other types.
    values = hostile_json_values(rng, 10)
    event = make.event_payload(make.dm_event("U0ODD", "hello"))
    for field in EVENT_FIELDS:
        for value in values:
            payload = mutated(event, field, value)
            payload["event_id"] = f"Ev{rng.randrange(10**12)}" if field != ("event_id",) else value
            body = json.dumps(payload).encode()
            verdicts.check(await post(body, signed(body)), f"event {field}={value!r}")
    click = make.button_payload("U0ODD", {"action_id": "choice.0", "value": "menu:pledge"})
    for field in ACTION_FIELDS:
        for value in values:
            form = urlencode({"payload": json.dumps(mutated(click, field, value))}).encode()
            answer = await post(form, signed(form, "application/x-www-form-urlencoded"))
            verdicts.check(answer, f"action {field}={value!r}")
    for text in hostile_texts(rng, 30):
        body = json.dumps(make.event_payload(make.dm_event("U0ODD", text))).encode()
        verdicts.check(await post(body, signed(body)), f"dm text={text!r}")
    # Too large, declared or chunked.
    big = json.dumps(make.event_payload(make.dm_event("U0ODD", "x" * 2_000_000))).encode()
    verdicts.check(await post(big, signed(big)), "2 MB", allowed=[413])
    verdicts.check(await post(chunked(big), signed(big)), "2 MB chunked", allowed=[413])
    await workspace.adapter.drain()

    # Normal use afterwards: a person takes the pledge in their DM.
    await take_pledge(user)
    verdicts.assert_clean()
