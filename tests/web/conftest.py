"""Fixtures of the web tests: the whole app over httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.app import Bot, create_app

# Chromium pages on the whole app, as the web chat's browser tests open them.
from tests.adapters.test_webchat_browser import page_factory  # noqa: F401


@pytest.fixture
async def client(bot: Bot) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(bot) as http:
        yield http


@pytest.fixture
def new_client(bot: Bot):  # type: ignore[no-untyped-def]
    """Another browser on the same app (a second moderator, a reader)."""
    return lambda: _client(bot)


def _client(bot: Bot) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(bot, migrate=False))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080")
