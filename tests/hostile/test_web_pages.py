"""The dashboard's forms and routes, its sign-in tokens, and the wall and feeds' query
parameters against the hostile corpus; afterwards each still works."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from urllib.parse import quote, urlsplit

import httpx
import pytest

from bot.app import Bot, create_app
from bot.review.login_links import create_login_link
from storage.models import StoryState
from tests import media_samples as samples
from tests.hostile.corpus import (
    SEED,
    Verdicts,
    chunked,
    hostile_numbers,
    hostile_texts,
    url,
)
from tests.web.helpers import Dashboard, item_row, publish, tell
from tests.web.test_wall_media import attach, path_of

BASE = "http://127.0.0.1:8080"


@pytest.fixture
async def client(bot: Bot) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(bot, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


def encoded(text: str) -> str:
    """``text`` percent-encoded byte for byte (a lone surrogate as CESU-8 bytes)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


async def test_dashboard_forms_and_routes_refuse_hostile_input(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    rng = random.Random(SEED)
    verdicts = Verdicts()
    item_id = await tell(bot, "amina")
    browser = Dashboard(client)
    await browser.sign_in(bot, "lea", role="lead")
    version = str((await item_row(bot, item_id)).version)
    path = f"/moderation/items/{item_id}"

    async def post(fields: list[tuple[str, str]]) -> httpx.Response:
        body = "&".join(f"{encoded(k)}={encoded(v)}" for k, v in fields).encode()
        headers = {"content-type": "application/x-www-form-urlencoded"}
        return await client.post(path, content=body, headers=headers)

    texts = hostile_texts(rng, 40)
    numbers = hostile_numbers(rng, 40)
    for value in texts:
        verdicts.check(await post([("csrf", value), ("action", "claim")]), f"csrf={value!r}")
        fields = [("csrf", browser.csrf), ("version", version)]
        verdicts.check(await post([*fields, ("action", value)]), f"action={value!r}")
        reject = [*fields, ("action", "reject"), ("reason", value)]
        verdicts.check(await post(reject), f"reason={value!r}")
    for value in numbers:
        fields = [("csrf", browser.csrf), ("action", "claim"), ("version", value)]
        verdicts.check(await post(fields), f"version={value!r}")
    # A redaction (a lead may redact) with every kind of text, NUL and half emoji included.
    for value in texts[:25]:
        version = str((await item_row(bot, item_id)).version)
        fields = [("csrf", browser.csrf), ("version", version), ("action", "redact")]
        verdicts.check(await post([*fields, ("text", value)]), f"text={value!r}")
    # Ids in the path, and the queue's query parameters.
    for value in numbers:
        for route in ("/moderation/items/{}", "/moderation/items/{}/media/0"):
            verdicts.check(await client.get(route.format(encoded(value))), f"{route} {value!r}")
        verdicts.check(await client.get(f"/moderation/items/1/media/{encoded(value)}"), value)
        verdicts.check(await client.get(url("/moderation", page=value)), f"page={value!r}")
    for value in texts:
        for name in ("q", "lang", "state"):
            verdicts.check(
                await client.get(url("/moderation", **{name: value})), f"{name}={value!r}"
            )
    # Too large, declared or chunked.
    big = b"csrf=" + browser.csrf.encode() + b"&text=" + b"x" * 400_000
    form = {"content-type": "application/x-www-form-urlencoded"}
    verdicts.check(await client.post(path, content=big, headers=form), "400 KB", allowed=[403])
    answer = await client.post(path, content=chunked(big), headers=form)
    verdicts.check(answer, "400 KB chunked", allowed=[403])
    multipart = {"content-type": "multipart/form-data; boundary=x"}
    verdicts.check(await client.post(path, content=b"--x\r\n", headers=multipart), "multipart")

    # Normal use afterwards: the lead approves the story.
    approved = await browser.act(item_id, "approve")
    assert approved.status_code == 200, approved.text
    assert (await item_row(bot, item_id)).state in (StoryState.APPROVED, StoryState.PUBLISHED)
    verdicts.assert_clean()


async def test_sign_in_tokens_refuse_hostile_input(bot: Bot, client: httpx.AsyncClient) -> None:
    rng = random.Random(SEED)
    verdicts = Verdicts()
    tokens = [encoded(t) for t in hostile_texts(rng, 80)]
    tokens += ["%00", "%ED%A0%BD", "%FF%FE", "%C0%AF", "..%2F..%2Fetc%2Fpasswd", "x" * 5000]
    for token in tokens:
        verdicts.check(await client.get(f"/moderation/login/{token}"), f"GET {token[:40]}")
        answer = await client.post(f"/moderation/login/{token}")
        verdicts.check(answer, f"POST {token[:40]}")
    for value in hostile_texts(rng, 40):
        raw = f"tb_moderator={value}".encode("utf-8", "surrogatepass")
        for path in ("/moderation", "/moderation/items/1"):
            verdicts.check(await client.get(path, headers={b"cookie": raw}), f"cookie {value!r}")
        answer = await client.post("/moderation/logout", headers={b"cookie": raw})
        verdicts.check(answer, f"logout cookie {value!r}", allowed=[401, 403])

    # Normal use afterwards: a real link signs a moderator in.
    await tell(bot, "amina")
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    assert (await client.get("/moderation")).status_code == 200
    link = urlsplit(await create_login_link(bot.deps, "ana")).path
    assert (await client.get(link)).status_code == 200
    verdicts.assert_clean()


async def test_the_wall_and_feeds_refuse_hostile_query_parameters(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    rng = random.Random(SEED)
    verdicts = Verdicts()
    for value in hostile_numbers(rng, 50):
        for path in ("/stories", "/stories.json"):
            verdicts.check(await client.get(url(path, page=value)), f"{path} page={value!r}")
        verdicts.check(await client.get(f"/stories/{encoded(value)}"), f"story {value!r}")
    for value in hostile_texts(rng, 40):
        for path in ("/stories", "/stories.json", "/stories.rss", "/stories/1"):
            for name in ("lang", "language", "country", "kind"):
                answer = await client.get(url(path, **{name: value}))
                verdicts.check(answer, f"{path} {name}={value!r}")
        raw = value.encode("utf-8", "surrogatepass")
        answer = await client.get("/stories.json", headers={b"accept-language": raw})
        verdicts.check(answer, f"accept-language={value!r}")
        answer = await client.get(f"/stories/media/{encoded(value)}")
        verdicts.check(answer, f"media {value!r}", allowed=[307, 404])  # "": to no slash

    # Normal use afterwards: a published story is on the wall and in both feeds.
    item_id = await tell(bot, "amina")
    story_id = (await item_row(bot, item_id)).story_id
    voice = await attach(bot, story_id, samples.ogg_opus_with_tags())
    await publish(bot, item_id)
    feed = (await client.get("/stories.json")).json()
    assert len(feed["stories"]) == 1
    assert "Aleppo" in (await client.get("/stories")).text
    assert "Aleppo" in (await client.get("/stories.rss")).text
    # A published voice note, asked for with any Range header.
    for value in hostile_texts(rng, 40):
        raw = value.encode("utf-8", "surrogatepass")
        answer = await client.get(path_of(voice), headers={b"range": raw})
        verdicts.check(answer, f"range={value!r}", allowed=[200, 206, 400, 416])
    assert (await client.get(path_of(voice))).status_code == 200
    verdicts.assert_clean()
