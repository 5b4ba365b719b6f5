"""The Telegram webhook against the hostile corpus (the right secret with bodies of every
shape, wrong secrets, oversized bodies); afterwards a person still takes the pledge."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bot.adapters.telegram.webhook import SECRET_HEADER
from bot.app import Bot, create_app
from bot.config import Settings
from storage.db import Database
from tests.adapters.telegram.test_end_to_end import take_pledge, webhook_phone
from tests.conftest import make_bot
from tests.fakes.telegram_api import FakeTelegramApi
from tests.hostile.corpus import (
    SEED,
    Verdicts,
    chunked,
    hostile_json_values,
    hostile_texts,
    mutated,
    raw_json_bodies,
)

# Every field the bot reads, and some it does not.
FIELDS: tuple[tuple[str, ...], ...] = (
    ("update_id",),
    ("message",),
    ("message", "message_id"),
    ("message", "date"),
    ("message", "chat"),
    ("message", "chat", "id"),
    ("message", "chat", "type"),
    ("message", "from"),
    ("message", "from", "id"),
    ("message", "from", "is_bot"),
    ("message", "from", "first_name"),
    ("message", "from", "last_name"),
    ("message", "from", "language_code"),
    ("message", "text"),
    ("message", "caption"),
    ("message", "photo"),
    ("message", "entities"),
    ("message", "reply_to_message"),
    ("message", "sticker"),
    ("message", "document"),
    ("message", "voice"),
)


@pytest.fixture
async def served(settings: Settings, db: Database) -> AsyncIterator[tuple[Bot, FakeTelegramApi]]:
    async with FakeTelegramApi() as api:
        configured = settings.model_copy(
            update={
                "telegram_bot_token": SecretStr(api.token),
                "telegram_api_base_url": api.base_url,
                "telegram_webhook_url": "https://bot.example.org",
            }
        )
        bot = await make_bot(configured, db)
        app = create_app(bot, migrate=False)
        async with app.router.lifespan_context(app):
            bot.app = app  # type: ignore[attr-defined]
            yield bot, api


async def test_the_webhook_refuses_hostile_input_and_keeps_working(
    served: tuple[Bot, FakeTelegramApi],
) -> None:
    bot, api = served
    assert bot.telegram is not None
    rng = random.Random(SEED)
    verdicts = Verdicts()
    path, secret = bot.telegram.webhook_path, bot.telegram.webhook_secret
    transport = httpx.ASGITransport(app=bot.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:

        async def post(body: object, key: bytes = secret.encode()) -> httpx.Response:
            headers = {SECRET_HEADER.encode(): key, b"content-type": b"application/json"}
            return await client.post(path, content=body, headers=headers)  # type: ignore[arg-type]

        def encoded(update: object) -> bytes:
            return json.dumps(update).encode()  # escapes: any string goes, as Telegram sends

        for body in raw_json_bodies():
            verdicts.check(await post(body), f"raw {body[:60]!r}", allowed=[200, 400])
        for key in hostile_texts(rng, 25):
            answer = await post(
                encoded(api.make.text(7, "hi")), key.encode("utf-8", "surrogatepass")
            )
            verdicts.check(answer, f"secret={key!r}", allowed=[403])
        # The right secret, every field given a value of another type (or removed).
        values = hostile_json_values(rng, 12)
        for n, field in enumerate(FIELDS):
            base = api.make.text(2000 + n, "base")
            for value in values:
                verdicts.check(
                    await post(encoded(mutated(base, field, value))),
                    f"{'.'.join(field)}={value!r}",
                    allowed=[200],
                )
        # Well-formed updates carrying hostile text: handled, and stored on every database.
        for n, text in enumerate(hostile_texts(rng, 60)):
            update = api.make.text(3000 + n, text, first_name=text or "x")
            verdicts.check(await post(encoded(update)), f"text={text!r}", allowed=[200])
        for n, data in enumerate(hostile_texts(rng, 25)):
            update = api.make.callback(4000 + n, data, message_id=1)
            verdicts.check(await post(encoded(update)), f"callback={data!r}", allowed=[200])
        for n, code in enumerate(hostile_texts(rng, 15)):
            update = api.make.text(5000 + n, "hello", language_code=code)
            verdicts.check(await post(encoded(update)), f"language={code!r}", allowed=[200])
        big = encoded(api.make.text(6000, "x" * 2_000_000))
        verdicts.check(await post(big), "2 MB", allowed=[413])
        verdicts.check(await post(chunked(big)), "2 MB chunked", allowed=[413])

        # Normal use afterwards: a person takes the pledge through the same webhook.
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as phone_http:
            await take_pledge(webhook_phone(api, phone_http, f"http://bot{path}", secret, 43))
    verdicts.assert_clean()
