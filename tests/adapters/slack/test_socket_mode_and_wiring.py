"""Socket Mode against the fake's WebSocket, and how the adapter is wired and started."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bot.adapters.slack import SlackAdapter, build_slack
from bot.app import Bot, build_bot, create_app
from bot.config import Settings
from storage.db import Database
from tests.adapters.slack.conftest import slack_settings
from tests.conftest import make_bot
from tests.fakes.slack_api import APP_TOKEN, FakeSlackApi, SlackRequests, dm_channel, texts_of


@pytest.fixture
async def socket_bot(
    settings: Settings, db: Database, api: FakeSlackApi
) -> AsyncIterator[tuple[Bot, SlackAdapter]]:
    bot = await make_bot(slack_settings(settings, api, slack_app_token=APP_TOKEN), db)
    assert bot.slack is not None
    await bot.slack.start()
    try:
        yield bot, bot.slack
    finally:
        await bot.slack.stop()


async def test_socket_mode_connects_acks_envelopes_and_answers(
    api: FakeSlackApi, socket_bot: tuple[Bot, SlackAdapter]
) -> None:
    _bot, adapter = socket_bot
    assert adapter.mode == "socket" and adapter.routes() == []
    await api.wait_for_socket()
    assert api.calls("apps.connections.open")[0].ok
    api.add_user("U0SOCK", locale="en-GB")
    make = SlackRequests()
    event = make.event_payload(make.dm_event("U0SOCK", "hello"))
    envelope = await api.send_envelope("events_api", event)
    ack = await api.wait_for_ack(envelope)
    assert ack == {"envelope_id": envelope}
    reply = await api.wait_for_call("chat.postMessage")
    assert reply.params["channel"] == dm_channel("U0SOCK")
    assert "What would you like to do?" in texts_of(reply)[1]
    # The same event again, as Slack retries it: acknowledged, nothing said twice.
    again = await api.send_envelope("events_api", event, retry_attempt=1)
    await api.wait_for_ack(again)
    await adapter.drain()
    assert len(api.calls("chat.postMessage")) == 1
    # A slash command through the socket: acknowledged at once, the pledge in the DM.
    command = await api.send_envelope("slash_commands", make.command_payload("U0SOCK", "/pledge"))
    await api.wait_for_ack(command)
    pledge = await api.wait_for_call("chat.postMessage", 2)
    assert "I stand #WithRefugees" in texts_of(pledge)[1]


async def test_stop_disconnects_and_finishes_the_work_in_hand(
    api: FakeSlackApi, socket_bot: tuple[Bot, SlackAdapter]
) -> None:
    _bot, adapter = socket_bot
    await api.wait_for_socket()
    api.add_user("U0LATE")
    api.delay("users.info", 0.3)
    make = SlackRequests()
    envelope = await api.send_envelope(
        "events_api", make.event_payload(make.dm_event("U0LATE", "hi"))
    )
    await api.wait_for_ack(envelope)
    await adapter.stop()
    assert len(api.calls("chat.postMessage")) == 1  # the answer went out before stopping
    await api.wait_until(lambda: api.socket_connections == 1 and api.connected == 0)


def test_http_mode_needs_a_signing_secret(settings: Settings) -> None:
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        build_bot(settings.model_copy(update={"slack_bot_token": SecretStr("xoxb-1")}))
    empty = {"slack_bot_token": SecretStr("xoxb-1"), "slack_signing_secret": SecretStr("")}
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        build_bot(settings.model_copy(update=empty))


async def test_no_token_no_slack_and_socket_mode_serves_no_endpoint(
    settings: Settings, db: Database, api: FakeSlackApi
) -> None:
    plain = await make_bot(settings, db)
    assert plain.slack is None and "slack" not in plain.dispatcher.senders
    assert build_slack(plain.deps, plain.core, plain.review, plain.thanks) is None
    socket = await make_bot(slack_settings(settings, api, slack_app_token=APP_TOKEN), db)
    transport = httpx.ASGITransport(app=create_app(socket, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post("/slack/events", content=b"{}")
    assert response.status_code == 404


async def test_a_rejected_token_stops_the_start(
    settings: Settings, db: Database, api: FakeSlackApi
) -> None:
    bot = await make_bot(
        slack_settings(settings, api).model_copy(
            update={"slack_bot_token": SecretStr("xoxb-revoked")}
        ),
        db,
    )
    assert bot.slack is not None
    with pytest.raises(ValueError, match="rejected SLACK_BOT_TOKEN"):
        await bot.slack.start()
    assert "xoxb-revoked" not in str(bot.slack.settings)
