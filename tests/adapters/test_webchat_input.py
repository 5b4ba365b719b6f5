"""The web chat at its edge: text normalised, sessions only the server issued, the body
capped, and a page that starts over when the transcript is erased."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.adapters.webchat import COOKIE, MESSAGE_BODY_MAX, _external_id
from bot.app import Bot, create_app
from storage.models import Participant, StoryRevision, WebChatMessage
from tests.adapters.test_webchat import Browser


@pytest.fixture
async def browser(bot: Bot) -> AsyncIterator[Browser]:
    transport = httpx.ASGITransport(app=create_app(bot, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
        yield Browser(client)


async def post_raw(browser: Browser, body: bytes, **headers: str) -> httpx.Response:
    return await browser.client.post(
        "/api/chat/message",
        content=body,
        headers={"X-CSRF-Token": browser.csrf, "content-type": "application/json", **headers},
    )


async def participant(bot: Bot, token: str) -> Participant | None:
    async with bot.deps.db.transaction() as session:
        found = await session.execute(
            select(Participant).where(col(Participant.external_id) == _external_id(token))
        )
        return found.scalar_one_or_none()


# -- the half emoji (issue [9]) --------------------------------------------------------------
async def test_a_half_emoji_is_kept_as_a_replacement_and_history_still_answers(
    browser: Browser,
) -> None:
    await browser.open()
    # What JSON.stringify sends for a lone surrogate: the escape, not UTF-8.
    answer = await post_raw(browser, b'{"text": "hi \\ud83d", "client_id": "half"}')
    assert answer.status_code == 200, answer.text
    texts = [m["text"] for m in answer.json()["messages"] if m["from"] == "user"]
    assert texts == ["hi \ufffd"]
    history = await browser.client.get("/api/chat/history", params={"after": 0})
    assert history.status_code == 200
    assert "hi \ufffd" in [m["text"] for m in history.json()["messages"]]


async def test_cesu8_bytes_arrive_as_the_emoji(browser: Browser) -> None:
    await browser.open()
    body = b'{"text": "hello \xed\xa0\xbd\xed\xb8\x80", "client_id": "cesu"}'
    answer = await post_raw(browser, body)
    assert answer.status_code == 200, answer.text
    assert "hello \U0001f600" in [m["text"] for m in answer.json()["messages"]]


async def test_a_row_stored_before_the_fix_does_not_break_history(
    browser: Browser, bot: Bot
) -> None:
    await browser.open()
    token = browser.client.cookies[COOKIE]
    person = await participant(bot, token)
    assert person is not None and person.id is not None
    async with bot.deps.db.transaction() as session:
        # The JSON column escapes it (\ud83d), so the database takes it; reading it back
        # gives a string no UTF-8 encoder writes.
        session.add(
            WebChatMessage(
                participant_id=person.id,
                sender="user",
                payload={"text": "old \ud83d", "choice": None, "media": []},
            )
        )
    history = await browser.client.get("/api/chat/history", params={"after": 0})
    assert history.status_code == 200
    assert "old \ufffd" in [m["text"] for m in history.json()["messages"]]


async def test_a_story_with_nul_and_a_half_emoji_is_submitted_on_every_database(
    browser: Browser, bot: Bot
) -> None:
    await browser.open()
    for label in (
        "Share your story",
        "My own migration story",
        "I agree",
        "Yes, I am 18",
        "Anonymous",
    ):
        assert (await browser.tap(label)).status_code == 200
    await browser.say("Somalia")
    await browser.say("Kenya")
    # PostgreSQL refuses NUL in text: before the fix this story could never be submitted.
    story = json.dumps({"text": "We crossed\u0000 the sea \ud83d at night.", "client_id": "s1"})
    assert (await post_raw(browser, story.encode())).status_code == 200
    browser._merge(await browser.client.get("/api/chat/history", params={"after": 0}))
    for message in (await browser.client.get("/api/chat/history")).json()["messages"]:
        browser.messages[message["id"]] = message
    assert (await browser.tap("I'm done")).status_code == 200
    assert (await browser.say("/skip")).status_code == 200
    submitted = await browser.tap("Submit my story")
    assert submitted.status_code == 200, submitted.text
    assert "Thank you for trusting us" in browser.all_text
    async with bot.deps.db.transaction() as session:
        texts = (await session.execute(select(col(StoryRevision.text)))).scalars().all()
    assert texts == ["We crossed the sea \ufffd at night."]


# -- sessions only the server issued (issue [9]) ---------------------------------------------
async def test_a_session_value_never_issued_is_not_adopted(bot: Bot, browser: Browser) -> None:
    planted = "A" * 43
    browser.client.cookies.set(COOKIE, planted)
    page = await browser.client.get("/")
    issued = page.cookies.get(COOKIE)
    assert issued and issued != planted
    assert await participant(bot, planted) is None
    assert await participant(bot, issued) is not None
    # The page's CSRF token belongs to the new session, not to the planted one.
    browser.client.cookies.clear()
    browser.client.cookies.set(COOKIE, planted)
    csrf = bot.webchat.csrf_token(issued)
    assert csrf in page.text
    refused = await browser.client.post(
        "/api/chat/message",
        json={"text": "hello", "client_id": "x"},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 403
    assert await participant(bot, planted) is None


async def test_an_issued_session_is_kept_across_reloads(browser: Browser) -> None:
    first = await browser.open()
    token = first.cookies[COOKIE]
    await browser.say("hello there")
    again = await browser.client.get("/")
    assert COOKIE not in again.cookies  # no new cookie: the same session
    assert browser.client.cookies[COOKIE] == token
    history = (await browser.client.get("/api/chat/history")).json()["messages"]
    assert "hello there" in [m["text"] for m in history]


@pytest.mark.parametrize("value", ["short", "x" * 101, "ä" * 30, "a b c d e f g h i j k l"])
async def test_malformed_session_cookies_get_a_new_session(bot: Bot, value: str) -> None:
    transport = httpx.ASGITransport(app=create_app(bot, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
        page = await client.get("/", headers={b"cookie": f"{COOKIE}={value}".encode()})
        assert page.status_code == 200
        assert page.cookies.get(COOKIE) not in (None, value)


# -- erasing everything empties the page at once (issue [9]) ---------------------------------
async def erase_everything(browser: Browser, *, say_after: bool = True) -> httpx.Response:
    await browser.say("/privacy")
    await browser.tap("Erase all my data")
    # The page says which message it saw last (a client that does not is answered too).
    after = {"after": max(browser.messages)} if say_after else {}
    for message in browser.messages.values():
        for choice in message["choices"]:  # type: ignore[attr-defined]
            if "Yes, erase everything" in choice["label"]:
                return await browser.client.post(
                    "/api/chat/message",
                    json={"choice": choice["id"], "client_id": "erase", **after},
                    headers={"X-CSRF-Token": browser.csrf},
                )
    raise AssertionError("no confirmation button")


@pytest.mark.parametrize("say_after", [True, False], ids=["page", "client-without-after"])
async def test_after_erasure_the_answer_tells_the_page_to_start_over(
    browser: Browser, say_after: bool
) -> None:
    await browser.open()
    await browser.say("my secret words")
    answer = await erase_everything(browser, say_after=say_after)
    assert answer.status_code == 200
    body = answer.json()
    assert body["reset"] is True
    texts = [m["text"] for m in body["messages"]]
    assert "my secret words" not in texts
    assert any("erased" in text for text in texts)
    # No empty bubble, now or after a reload.
    assert all(m["text"] or m["media"] for m in body["messages"])
    reloaded = (await browser.client.get("/api/chat/history", params={"after": 0})).json()
    assert [m["id"] for m in reloaded["messages"]] == [m["id"] for m in body["messages"]]
    assert all(m["text"] or m["media"] for m in reloaded["messages"])


async def test_another_tab_learns_of_the_erasure_through_history_and_poll(
    browser: Browser,
) -> None:
    await browser.open()
    await browser.say("something to erase")
    seen = max(browser.messages)
    await erase_everything(browser)
    for path in ("/api/chat/history", "/api/chat/poll"):
        answer = (await browser.client.get(path, params={"after": seen})).json()
        assert answer["reset"] is True, path
        assert "something to erase" not in [m["text"] for m in answer["messages"]]
    normal = (await browser.client.get("/api/chat/history", params={"after": 0})).json()
    assert normal["reset"] is False


async def test_a_normal_turn_does_not_reset(browser: Browser) -> None:
    await browser.open()
    after = max(browser.messages)
    answer = await browser.client.post(
        "/api/chat/message",
        json={"text": "hello", "client_id": "n1", "after": after},
        headers={"X-CSRF-Token": browser.csrf},
    )
    body = answer.json()
    assert body["reset"] is False
    assert all(m["id"] > after for m in body["messages"])
    assert "hello" in [m["text"] for m in body["messages"]]


# -- hostile bodies and numbers --------------------------------------------------------------
async def test_a_body_over_the_cap_is_413_even_when_chunked(browser: Browser) -> None:
    await browser.open()
    big = json.dumps({"text": "x" * (MESSAGE_BODY_MAX + 10), "client_id": "big"}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    chunked = await browser.client.post(
        "/api/chat/message",
        content=chunks(),
        headers={"X-CSRF-Token": browser.csrf, "content-type": "application/json"},
    )
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 413
    assert "too long" in chunked.json()["error"]
    declared = await post_raw(browser, b"{}", **{"content-length": str(10**30)})
    assert declared.status_code in (400, 413)


async def test_deep_json_non_ascii_csrf_and_huge_numbers_are_refused_kindly(
    browser: Browser,
) -> None:
    await browser.open()
    deep = await post_raw(browser, b"[" * 30_000 + b"]" * 30_000)
    assert deep.status_code == 400
    forged = await browser.client.post(
        "/api/chat/message",
        json={"text": "hi"},
        headers={b"x-csrf-token": ("\u00e9" * 32).encode()},  # 64 bytes of UTF-8
    )
    assert forged.status_code == 403
    for after in (str(2**70), "-1", "1e9", "NaN", "٣"):
        for path in ("/api/chat/history", "/api/chat/poll"):
            answer = await browser.client.get(path, params={"after": after})
            assert answer.status_code == 200, (path, after)
    huge = await browser.client.post(
        "/api/chat/message",
        json={"text": "hi", "client_id": "h", "after": 2**80},
        headers={"X-CSRF-Token": browser.csrf},
    )
    assert huge.status_code == 200
