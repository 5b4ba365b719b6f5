"""The web chat's API (history, poll, message) against the hostile corpus; afterwards the
same session still takes the pledge."""

from __future__ import annotations

import random

import httpx

from bot.adapters.webchat import COOKIE
from bot.app import Bot, create_app
from bot.web.untrusted import bounded_int
from tests.adapters.test_webchat import Browser
from tests.hostile.corpus import (
    SEED,
    Verdicts,
    chunked,
    hostile_json_values,
    hostile_numbers,
    hostile_texts,
    json_body,
    raw_json_bodies,
    url,
)

BASE = "http://127.0.0.1:8080"


async def test_the_web_chat_api_refuses_hostile_input_and_keeps_working(bot: Bot) -> None:
    rng = random.Random(SEED)
    verdicts = Verdicts()
    transport = httpx.ASGITransport(app=create_app(bot, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        browser = Browser(client)
        await browser.open()
        token = client.cookies[COOKIE]
        headers = {"X-CSRF-Token": browser.csrf, "content-type": "application/json"}

        async def post(body: bytes, **extra: str) -> httpx.Response:
            return await client.post("/api/chat/message", content=body, headers=headers | extra)

        # Bodies that are not JSON, or JSON of the wrong shape.
        for body in raw_json_bodies():
            verdicts.check(await post(body), f"raw {body[:60]!r}")
        values = hostile_json_values(rng, 120)
        for n, value in enumerate(values):
            for key in ("text", "choice"):
                body = json_body({key: value, "client_id": f"h-{key}-{n}"})
                verdicts.check(await post(body), f"{key}={value!r}")
        for n, value in enumerate(values[:40]):
            body = json_body({"text": "hello", "client_id": value})
            verdicts.check(await post(body), f"client_id={value!r}")
            body = json_body({"text": "hello", "client_id": f"a{n}", "after": value})
            verdicts.check(await post(body), f"after={value!r}")
        # Too large: declared, and chunked with no Content-Length at all.
        big = json_body({"text": "x" * 200_000, "client_id": "big"})
        verdicts.check(await post(big), "200 KB body", allowed=[413])
        answer = await client.post("/api/chat/message", content=chunked(big), headers=headers)
        verdicts.check(answer, "200 KB chunked", allowed=[413])
        verdicts.check(await post(b"{}", **{"content-length": "9" * 30}), "huge length")
        # Headers: CSRF tokens and content types of every kind.
        for csrf in hostile_texts(rng, 40):
            raw = {b"x-csrf-token": csrf.encode("utf-8", "surrogatepass")}
            answer = await client.post(
                "/api/chat/message", content=json_body({"text": "hi"}), headers=raw
            )
            verdicts.check(answer, f"csrf={csrf!r}", allowed=[403])
        kinds = (b"", b"text/plain", b"application/jsonx", b"multipart/form-data", "é".encode())
        for kind in kinds:
            raw = {b"x-csrf-token": browser.csrf.encode(), b"content-type": kind}
            answer = await client.post(
                "/api/chat/message", content=json_body({"text": "hi"}), headers=raw
            )
            verdicts.check(answer, f"content-type={kind!r}")
        # Numbers where an id is expected (a poll on the newest message would wait 25 s).
        for after in hostile_numbers(rng, 60):
            answer = await client.get(url("/api/chat/history", after=after))
            verdicts.check(answer, f"after={after!r}")
            if bounded_int(after) == 0 or bounded_int(after) > 10**6:
                answer = await client.get(url("/api/chat/poll", after=after))
                verdicts.check(answer, f"poll after={after!r}")
        # Cookies the server never issued.
        for value in hostile_texts(rng, 30):
            raw_cookie = f"{COOKIE}={value}".encode("utf-8", "surrogatepass")
            for path in ("/", "/api/chat/history", "/api/chat/poll"):
                async with httpx.AsyncClient(transport=transport, base_url=BASE) as stranger:
                    answer = await stranger.get(path, headers={b"cookie": raw_cookie})
                    verdicts.check(answer, f"{path} cookie={value!r}")

        # Normal use afterwards: the same session takes the pledge.
        assert client.cookies[COOKIE] == token
        browser.messages.clear()
        await browser.history()
        assert (await browser.say("/start")).status_code == 200
        assert (await browser.tap("Take the pledge")).status_code == 200
        assert (await browser.tap("I take the pledge")).status_code == 200, browser.last_bot_text
        assert (await browser.say("Kenji")).status_code == 200
        assert (await browser.say("Japan")).status_code == 200
        assert "1 person has taken the pledge." in browser.all_text
    verdicts.assert_clean()
