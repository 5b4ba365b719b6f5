"""The web chat's JSON API through httpx's ASGI transport, as a browser uses it."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.app import Bot, create_app
from bot.core.admission import Admission
from bot.core.events import Outgoing
from storage.models import Participant, Story, StoryMedia
from tests import media_samples

PNG = media_samples.png_with_text()  # a real photo: uploads are re-encoded


class Browser:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""
        self.messages: dict[int, dict[str, object]] = {}

    async def open(self, path: str = "/") -> httpx.Response:
        response = await self.client.get(path)
        match = re.search(r'name="csrf-token" content="([0-9a-f]+)"', response.text)
        assert match, response.text[:300]
        self.csrf = match.group(1)
        await self.history()
        return response

    async def history(self) -> list[dict[str, object]]:
        answer = (await self.client.get("/api/chat/history", params={"after": 0})).json()
        for message in answer["messages"]:
            self.messages[message["id"]] = message
        return answer["messages"]

    def _merge(self, response: httpx.Response) -> httpx.Response:
        if response.status_code == 200:
            for message in response.json()["messages"]:
                self.messages[message["id"]] = message
        return response

    async def say(self, text: str, client_id: str | None = None) -> httpx.Response:
        body = {"text": text, "client_id": client_id or f"c{len(self.messages)}-{text[:8]}"}
        return self._merge(
            await self.client.post(
                "/api/chat/message", json=body, headers={"X-CSRF-Token": self.csrf}
            )
        )

    async def tap(self, label: str) -> httpx.Response:
        for message in sorted(self.messages.values(), key=lambda m: -int(m["id"])):  # type: ignore[call-overload]
            for choice in message["choices"]:  # type: ignore[attr-defined]
                if label.casefold() in choice["label"].casefold():
                    body = {
                        "choice": choice["id"],
                        "client_id": f"tap-{message['id']}-{choice['id']}",
                    }
                    return self._merge(
                        await self.client.post(
                            "/api/chat/message", json=body, headers={"X-CSRF-Token": self.csrf}
                        )
                    )
        raise AssertionError(f"no button {label!r}")

    @property
    def last_bot_text(self) -> str:
        bot = [m for m in self.messages.values() if m["from"] == "bot"]
        return str(max(bot, key=lambda m: int(m["id"]))["text"])  # type: ignore[call-overload]

    @property
    def all_text(self) -> str:
        return "\n".join(
            str(m["text"]) for m in sorted(self.messages.values(), key=lambda m: int(m["id"]))
        )  # type: ignore[call-overload]


@pytest.fixture
async def browser(bot: Bot) -> AsyncIterator[Browser]:
    app = create_app(bot, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
        yield Browser(client)


async def test_page_sets_a_safe_session_and_greets(browser: Browser) -> None:
    response = await browser.open()
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "Welcome to TOGETHER" in browser.all_text
    assert "https://" not in response.text.split("<body")[0]  # no external assets


async def test_health(browser: Browser) -> None:
    assert (await browser.client.get("/healthz")).json() == {"status": "ok"}


async def test_story_through_the_web_chat(browser: Browser, bot: Bot) -> None:
    await browser.open()
    await browser.tap("Share your story")
    await browser.tap("My own migration story")
    await browser.tap("I agree")
    await browser.tap("Yes, I am 18")
    await browser.tap("Anonymous")
    await browser.say("Somalia")
    await browser.say("Kenya")
    await browser.say("I was born in Mogadishu and grew up by the sea.")
    upload = await browser.client.post(
        "/api/chat/upload",
        files={"file": ("boat.png", PNG, "image/png")},
        data={"client_id": "up-1", "caption": "Our boat"},
        headers={"X-CSRF-Token": browser.csrf},
    )
    assert upload.status_code == 200, upload.text
    browser._merge(upload)
    photo = [m for m in browser.messages.values() if m["media"]]
    assert photo and photo[0]["media"][0]["url"].startswith("/media/")  # type: ignore[index]
    assert (await browser.client.get(photo[0]["media"][0]["url"])).status_code == 200  # type: ignore[index]
    await browser.tap("I'm done")
    await browser.tap("Skip")
    assert "Here is your story" in browser.last_bot_text
    await browser.tap("Submit my story")
    assert "Thank you for trusting us" in browser.last_bot_text
    async with bot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
        media = (await session.execute(select(StoryMedia))).scalar_one()
    assert story.state == "PENDING_REVIEW" and story.origin_country == "SO"
    assert media.platform == "web" and media.mime == "image/png"


@contextlib.asynccontextmanager
async def japanese_browser(bot: Bot) -> AsyncIterator[Browser]:
    """A browser whose Accept-Language asks for Japanese first."""
    transport = httpx.ASGITransport(app=create_app(bot, migrate=False))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://127.0.0.1:8080",
        headers={"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.5"},
    ) as client:
        yield Browser(client)


async def test_pledge_in_japanese_from_accept_language(bot: Bot) -> None:
    async with japanese_browser(bot) as browser:
        page = await browser.open("/?start=pledge")
        assert '<html lang="ja"' in page.text
        assert "TOGETHERの誓い" in browser.all_text
        await browser.tap("誓います")
        await browser.tap("スキップ")
        await browser.tap("スキップ")
        assert "1人が誓いに参加しました。" in browser.last_bot_text


async def test_every_message_is_an_instant_with_its_offset_in_the_conversation_s_locale(
    bot: Bot,
) -> None:
    """``at`` carries its UTC offset (a reader in Tokyo must not read UTC as local time),
    and what the person wrote is in the conversation's locale, as the replies are (its
    time is written the same way beside them)."""
    async with japanese_browser(bot) as browser:
        await browser.open("/?start=pledge")
        await browser.tap("誓います")
        await browser.say("Mariko")
        messages = await browser.history()
    assert {m["from"] for m in messages} == {"user", "bot"}
    for message in messages:
        at = datetime.fromisoformat(str(message["at"]))
        assert at.utcoffset() == timedelta(0), message["at"]
        assert message["locale"] == "ja", message


async def test_a_send_retried_with_the_same_client_id_counts_once(
    browser: Browser, bot: Bot
) -> None:
    await browser.open("/?start=pledge")
    first = await browser.say("/menu", client_id="same-id")
    again = await browser.say("/menu", client_id="same-id")
    assert first.status_code == again.status_code == 200
    menus = [m for m in browser.messages.values() if m["text"] == "What would you like to do?"]
    assert len(menus) == 1


async def test_cross_site_and_forged_posts_are_refused(browser: Browser) -> None:
    await browser.open()
    no_token = await browser.client.post("/api/chat/message", json={"text": "hi"})
    assert no_token.status_code == 403 and "error" in no_token.json()
    cross = await browser.client.post(
        "/api/chat/message",
        json={"text": "hi"},
        headers={"X-CSRF-Token": browser.csrf, "Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    fetch_site = await browser.client.post(
        "/api/chat/message",
        json={"text": "hi"},
        headers={"X-CSRF-Token": browser.csrf, "Sec-Fetch-Site": "cross-site"},
    )
    assert fetch_site.status_code == 403
    form = await browser.client.post(
        "/api/chat/message",
        content="text=hi",
        headers={"X-CSRF-Token": browser.csrf, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415


async def test_bad_uploads_get_a_kind_error(browser: Browser, bot: Bot) -> None:
    await browser.open()
    headers = {"X-CSRF-Token": browser.csrf}
    text_file = await browser.client.post(
        "/api/chat/upload",
        files={"file": ("x.png", b"not an image at all", "image/png")},
        headers=headers,
    )
    assert text_file.status_code == 415 and "photos" in text_file.json()["error"]
    bot.settings.media_max_bytes = 100
    big = await browser.client.post(
        "/api/chat/upload",
        files={"file": ("big.png", PNG + b"\x00" * 200, "image/png")},
        headers=headers,
    )
    assert big.status_code == 413 and "too large" in big.json()["error"]


async def test_no_session_gets_401_in_the_browser_language(bot: Bot) -> None:
    app = create_app(bot, migrate=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        answer = await client.get("/api/chat/history")
    assert answer.status_code == 401 and "reload" in answer.json()["error"]


async def test_notifications_arrive_through_the_long_poll(browser: Browser, bot: Bot) -> None:
    await browser.open()
    last = max(browser.messages)
    poll = asyncio.create_task(browser.client.get("/api/chat/poll", params={"after": last}))
    async with bot.deps.db.transaction() as session:
        participant = (await session.execute(select(Participant))).scalar_one()
    await bot.webchat.send(participant.external_id, Outgoing(text="Your story is published."))
    answer = await asyncio.wait_for(poll, 10)
    assert [m["text"] for m in answer.json()["messages"]] == ["Your story is published."]


async def test_a_message_beyond_the_bound_is_refused_kindly_then_handled_once(
    browser: Browser, bot: Bot
) -> None:
    """Under a crowd (admission control): a kind 503 with Retry-After in the visitor's
    language; the message sent again is handled, once."""
    await browser.open()
    bot.core.admission = Admission(1)
    async with bot.core.admission.admit():  # the one place is taken
        refused = await browser.say("/pledge", client_id="c-busy")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "2"
    assert "try again in a moment" in refused.json()["error"]
    await browser.history()
    assert "The TOGETHER pledge" not in browser.all_text  # nothing of it was kept
    again = await browser.say("/pledge", client_id="c-busy")  # the page retries
    assert again.status_code == 200
    assert browser.all_text.count("The TOGETHER pledge") == 1
