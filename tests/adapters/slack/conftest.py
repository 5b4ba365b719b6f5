"""Fixtures: the fake Slack Web API on loopback, and the whole bot's app pointed at it.

``workspace`` is the real app (``build_bot``'s wiring, ``create_app``'s routes and
lifespan: the outbox dispatcher runs) reached through httpx's ASGI transport; requests
are signed as Slack signs them. :class:`SlackUser` is one person in that workspace.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.adapters.slack import SlackAdapter
from bot.app import Bot, create_app
from bot.config import Settings
from storage.db import Database
from storage.outbox import DueMessage
from tests.conftest import make_bot
from tests.fakes.slack_api import (
    SIGNING_SECRET,
    Call,
    FakeSlackApi,
    SlackRequests,
    buttons_of,
    dm_channel,
    texts_of,
)

MOD_CHANNEL = "C0MODS"
MODERATORS = {
    "ana": {"role": "moderator", "accounts": ["slack:U0ANA"]},
    "ben": {"role": "moderator", "accounts": ["slack:U0BEN"]},
    "sol": {"role": "safety_moderator", "accounts": ["slack:U0SOL"]},
}


def slack_settings(base: Settings, api: FakeSlackApi, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": SecretStr(api.token),
        "slack_signing_secret": SecretStr(SIGNING_SECRET),
        "slack_api_url": api.base_url,
        **changes,
    }
    for key in ("slack_app_token", "slack_signing_secret"):
        if isinstance(values.get(key), str):
            values[key] = SecretStr(values[key])
    return base.model_copy(update=values)


@pytest.fixture
async def api() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as fake:
        yield fake


class SentLog:
    """Wraps the outbox's after-send hook: tells the test when a delivery is recorded
    (e.g. a card registered with its ``ts``, so a refresh can find it)."""

    def __init__(self, bot: Bot) -> None:
        self.inner = bot.dispatcher.after_send
        self.done: list[DueMessage] = []
        self._changed = asyncio.Condition()
        bot.dispatcher.after_send = self

    async def __call__(self, due: DueMessage, message_id: str | None) -> None:
        if self.inner is not None:
            await self.inner(due, message_id)
        async with self._changed:
            self.done.append(due)
            self._changed.notify_all()

    async def wait_for_card(self, chat_id: str, within: float = 5.0) -> None:
        await self.wait_for(lambda d: "card" in d.payload and d.chat_id == chat_id, within)

    async def wait_for(self, matches: Callable[[DueMessage], bool], within: float = 5.0) -> None:
        """Wait until a message that ``matches`` was sent and recorded."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: any(matches(d) for d in self.done))


@dataclass
class Workspace:
    """The bot's app as Slack reaches it: signed POSTs to ``/slack/events``."""

    bot: Bot
    api: FakeSlackApi
    http: httpx.AsyncClient
    make: SlackRequests
    sent: SentLog

    @property
    def adapter(self) -> SlackAdapter:
        assert self.bot.slack is not None
        return self.bot.slack

    async def post(self, request: tuple[bytes, Mapping[str, str]]) -> httpx.Response:
        body, headers = request
        return await self.http.post("/slack/events", content=body, headers=dict(headers))

    async def deliver(self, request: tuple[bytes, Mapping[str, str]]) -> httpx.Response:
        """POST, then wait until the work it started is done."""
        response = await self.post(request)
        await self.adapter.drain()
        return response

    def user(self, user_id: str, *, locale: str | None = "en-US") -> SlackUser:
        self.api.add_user(user_id, locale=locale)
        return SlackUser(self, user_id)


class SlackUser:
    """One person: writes in their DM with the app, taps buttons, reads the answers."""

    def __init__(self, ws: Workspace, user_id: str) -> None:
        self.ws = ws
        self.user_id = user_id
        self.channel = dm_channel(user_id)
        self.last: list[Call] = []
        self.seen: list[Call] = []

    async def _deliver(self, request: tuple[bytes, Mapping[str, str]]) -> list[Call]:
        mark = len(self.ws.api.all_calls)
        response = await self.ws.deliver(request)
        assert response.status_code == 200, response.text
        self.last = [
            c
            for c in self.ws.api.all_calls[mark:]
            if c.method == "chat.postMessage" and c.ok and c.params["channel"] == self.channel
        ]
        self.seen += self.last
        return self.last

    async def send(self, text: str, **fields: Any) -> list[Call]:
        return await self._deliver(
            self.ws.make.event(self.ws.make.dm_event(self.user_id, text, **fields))
        )

    async def command(self, command: str, text: str = "", **kw: Any) -> list[Call]:
        return await self._deliver(self.ws.make.command(self.user_id, command, text, **kw))

    def button(self, label: str) -> tuple[Call, dict[str, Any]]:
        for call in reversed(self.seen):
            for button in buttons_of(call):
                if label.casefold() in button["text"]["text"].casefold() and "value" in button:
                    return call, button
        raise AssertionError(f"no button {label!r}")

    async def tap(self, label: str) -> list[Call]:
        call, button = self.button(label)
        assert call.result is not None
        return await self._deliver(
            self.ws.make.button(self.user_id, button, message_ts=str(call.result["ts"]))
        )

    @property
    def text(self) -> str:
        return "\n".join("\n".join(texts_of(c)[1:]) for c in self.last)


@pytest.fixture
def moderated(settings: Settings) -> Settings:
    """Settings with the moderators' channel and team (override ``slack_settings`` input)."""
    return settings.model_copy(
        update={"slack_moderation_channel": MOD_CHANNEL, "moderators": MODERATORS}
    )


async def open_workspace(
    settings: Settings, db: Database, api: FakeSlackApi
) -> AsyncIterator[Workspace]:
    bot = await make_bot(settings, db)
    assert bot.slack is not None and bot.slack.mode == "http"
    assert bot.dispatcher.senders["slack"] is bot.slack.sender
    sent = SentLog(bot)
    app = create_app(bot, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield Workspace(bot, api, http, SlackRequests(), sent)


@pytest.fixture
async def workspace(
    moderated: Settings, db: Database, api: FakeSlackApi
) -> AsyncIterator[Workspace]:
    async for ws in open_workspace(slack_settings(moderated, api), db, api):
        yield ws
