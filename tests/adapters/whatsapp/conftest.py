"""Fixtures: the fake Graph API on loopback, and the whole bot's app pointed at it.

``phone`` is the real app (``build_bot``'s wiring, ``create_app``'s routes and lifespan)
reached through httpx's ASGI transport; deliveries are signed as Meta signs them.
:class:`Person` is one WhatsApp user writing to the bot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.adapters.whatsapp import WhatsAppAdapter
from bot.app import Bot, create_app
from bot.config import Settings
from storage.db import Database
from tests.conftest import make_bot
from tests.fakes.whatsapp_api import (
    APP_SECRET,
    VERIFY_TOKEN,
    Call,
    FakeGraphApi,
    WhatsAppWebhooks,
    interactive_of,
    options_of,
    text_of,
)

WEBHOOK = "/whatsapp/webhook"


def whatsapp_settings(base: Settings, api: FakeGraphApi, **changes: Any) -> Settings:
    return base.model_copy(
        update={
            "whatsapp_token": SecretStr(api.token),
            "whatsapp_phone_id": api.phone_id,
            "whatsapp_verify_token": SecretStr(VERIFY_TOKEN),
            "whatsapp_app_secret": SecretStr(APP_SECRET),
            "whatsapp_api_url": api.base_url,
            **changes,
        }
    )


@pytest.fixture
async def api() -> AsyncIterator[FakeGraphApi]:
    async with FakeGraphApi() as fake:
        yield fake


@dataclass
class Phone:
    """The bot's app as Meta reaches it: signed POSTs to ``/whatsapp/webhook``."""

    bot: Bot
    api: FakeGraphApi
    http: httpx.AsyncClient
    hooks: WhatsAppWebhooks

    @property
    def adapter(self) -> WhatsAppAdapter:
        assert self.bot.whatsapp is not None
        return self.bot.whatsapp

    async def post(self, payload: Mapping[str, Any]) -> httpx.Response:
        body, headers = self.hooks.signed(payload)
        return await self.http.post(WEBHOOK, content=body, headers=headers)

    def person(self, wa_id: str, name: str = "Amina") -> Person:
        return Person(self, wa_id, name)


class Person:
    """One person: writes to the bot, taps buttons and list rows, reads the answers."""

    def __init__(self, phone: Phone, wa_id: str, name: str) -> None:
        self.phone = phone
        self.wa_id = wa_id
        self.name = name
        self.last: list[Call] = []
        self.seen: list[Call] = []

    async def deliver(self, payload: Mapping[str, Any]) -> list[Call]:
        mark = len(self.phone.api.sent_to(self.wa_id))
        response = await self.phone.post(payload)
        assert response.status_code == 200, response.text
        self.last = self.phone.api.sent_to(self.wa_id)[mark:]
        self.seen += self.last
        return self.last

    async def send(self, text: str) -> list[Call]:
        return await self.deliver(self.phone.hooks.text(self.wa_id, text, name=self.name))

    def option(self, label: str) -> tuple[Call, str, str]:
        """The latest button or list row whose title contains ``label``."""
        for call in reversed(self.seen):
            for title, choice_id in options_of(call):
                if label.casefold() in title.casefold():
                    return call, title, choice_id
        raise AssertionError(f"no option {label!r} in {[options_of(c) for c in self.seen]}")

    async def tap(self, label: str) -> list[Call]:
        call, title, choice_id = self.option(label)
        hooks = self.phone.hooks
        if interactive_of(call)["type"] == "button":
            payload = hooks.button_reply(self.wa_id, choice_id, title, name=self.name)
        else:
            payload = hooks.list_reply(self.wa_id, choice_id, title, name=self.name)
        return await self.deliver(payload)

    @property
    def text(self) -> str:
        return "\n".join(text_of(c) for c in self.last)


async def open_phone(settings: Settings, db: Database, api: FakeGraphApi) -> AsyncIterator[Phone]:
    bot = await make_bot(settings, db)
    assert bot.whatsapp is not None
    assert bot.dispatcher.senders["whatsapp"] is bot.whatsapp.sender
    app = create_app(bot, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield Phone(bot, api, http, WhatsAppWebhooks())


@pytest.fixture
async def phone(settings: Settings, db: Database, api: FakeGraphApi) -> AsyncIterator[Phone]:
    async for opened in open_phone(whatsapp_settings(settings, api), db, api):
        yield opened
