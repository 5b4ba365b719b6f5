"""Two replicas on one PostgreSQL database: a reply committed by replica A wakes the
long poll a page holds on replica B (LISTEN/NOTIFY, sent with A's transaction), not a
timer. Fails without the signal: B's poll would wait out its deadline (an hour here)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.adapters import webchat
from bot.app import build_bot, create_app
from bot.config import Settings
from storage.db import Database
from tests.adapters.test_webchat import Browser
from tests.conftest import PG_URL, make_bot
from tests.races import PATIENCE


async def test_a_reply_on_one_replica_wakes_a_long_poll_on_another(
    settings: Settings, postgres_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webchat, "POLL_SECONDS", 3600.0)  # only a signal ends it early
    replica_a = await make_bot(settings, postgres_db)
    replica_b = build_bot(settings, db=Database(PG_URL, pg_schema=postgres_db.pg_schema))
    await replica_b.webchat.start()
    try:
        await asyncio.wait_for(replica_b.webchat.listener.listening.wait(), PATIENCE)
        transport_a = httpx.ASGITransport(app=create_app(replica_a, migrate=False))
        transport_b = httpx.ASGITransport(app=create_app(replica_b, migrate=False))
        async with (
            httpx.AsyncClient(transport=transport_a, base_url="http://127.0.0.1:8080") as on_a,
            httpx.AsyncClient(transport=transport_b, base_url="http://127.0.0.1:8080") as on_b,
        ):
            page = Browser(on_a)
            await page.open()
            on_b.cookies = on_a.cookies  # the same session, another tab on replica B
            last = max(page.messages)
            poll = asyncio.create_task(on_b.get("/api/chat/poll", params={"after": last}))
            await asyncio.wait_for(replica_b.webchat.poll_waiting.wait(), PATIENCE)
            await page.say("/pledge")  # answered and committed on replica A
            answer = await asyncio.wait_for(poll, PATIENCE)
        texts = [m["text"] for m in answer.json()["messages"]]
        assert any("The TOGETHER pledge" in text for text in texts)
    finally:
        await replica_b.webchat.stop()
        await replica_b.deps.db.dispose()
