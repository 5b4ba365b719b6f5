"""SIGKILL the real bot under the web chat and the Telegram webhook: every person resumes.

Web chat: visitors send their pledge steps concurrently; the bot is killed twice while
their requests are in flight; each visitor retries what got no answer with the same
``client_id`` after the restart (what the page does), and one resends a message that
had been answered. Every message then has exactly one effect, and every visitor
finishes at the step they were on.

Telegram webhook: the bot is killed while it sends the reply of a delivered update
(the webhook answer never came, so Telegram delivers the update again): the redelivery
has no second effect and the committed reply is sent by the restarted bot.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from storage.models import Pledge, WebChatMessage
from tests.crash.process import BotProcess, database_url, read_all, telegram_env
from tests.fakes.telegram_api import Call, FakeTelegramApi, keyboard_of

VISITORS = 12
KILL_AT = (10, 25)
RequestHook = Callable[[httpx.Request], Awaitable[None]]  # of the 36 messages the visitors send


class Visitor:
    """A browser tab: a session cookie, the page's CSRF token, what it has shown."""

    def __init__(self, bot: Restartable, name: str, on_request: RequestHook) -> None:
        self.bot = bot
        self.name = name
        self.client = httpx.AsyncClient(
            base_url=bot.url, timeout=30, event_hooks={"request": [on_request]}
        )
        self.headers: dict[str, str] = {}
        self.shown: dict[int, dict[str, Any]] = {}
        self.sent = 0

    async def open(self) -> None:
        page = await self.client.get("/?start=pledge")
        found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
        assert found, page.text[:200]
        self.headers = {"X-CSRF-Token": found.group(1)}
        await self.refresh()

    async def refresh(self) -> None:
        answer = await self.client.get("/api/chat/history", params={"after": 0})
        answer.raise_for_status()
        for message in answer.json()["messages"]:
            self.shown[message["id"]] = message

    @property
    def last_id(self) -> int:
        return max(self.shown, default=0)

    def choice(self, label: str) -> str:
        for message in sorted(self.shown.values(), key=lambda m: -m["id"]):
            for choice in message.get("choices", []):
                if label.casefold() in choice["label"].casefold():
                    return str(choice["id"])
        raise AssertionError(f"{self.name}: no button {label!r}")

    async def post(self, body: dict[str, Any]) -> None:
        """Send until answered, with one client_id, as the page retries."""
        self.sent += 1
        body = {**body, "client_id": f"{self.name}-{self.sent}"}
        while True:
            try:
                answer = await self.client.post(
                    "/api/chat/message",
                    json={**body, "after": self.last_id},
                    headers=self.headers,
                )
            except httpx.TransportError:
                await self.bot.back.wait()  # the bot is down: retry once it is up
                continue
            assert answer.status_code == 200, answer.text
            for message in answer.json()["messages"]:
                self.shown[message["id"]] = message
            return

    async def pledge(self) -> None:
        await self.post({"choice": self.choice("I take the pledge")})
        await self.post({"text": self.name})
        await self.post({"text": "Japan"})


class Restartable(BotProcess):
    """Kill and restart on cue; ``back`` is set while it is up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.back = asyncio.Event()

    async def start(self) -> None:
        await super().start()
        self.back.set()

    def kill(self) -> None:
        self.back.clear()
        super().kill()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_web_chat_visitors_killed_mid_request_resume_with_one_effect(
    tmp_path: Path, kind: str
) -> None:
    async with database_url(kind, tmp_path) as url:
        bot = Restartable(tmp_path, url, {})
        visitors: list[Visitor] = []
        restarts: list[asyncio.Task[None]] = []
        sent = 0

        async def restart() -> None:
            await bot.dead()
            await bot.start()

        async def count_and_kill(request: httpx.Request) -> None:
            # Before the 10th and the 25th message leaves, the bot dies: the requests
            # already sent are in its hands, at whatever point they had reached.
            nonlocal sent
            if request.url.path == "/api/chat/message" and bot.back.is_set():
                sent += 1
                if sent in KILL_AT:
                    bot.kill()
                    restarts.append(asyncio.create_task(restart()))

        try:
            await bot.start()
            visitors = [Visitor(bot, f"Visitor{n}", count_and_kill) for n in range(VISITORS)]
            await asyncio.gather(*(v.open() for v in visitors))
            await asyncio.wait_for(asyncio.gather(*(v.pledge() for v in visitors)), 180)
            await asyncio.gather(*restarts)
            # An answer lost on the way back (the page cannot tell it from a crash): the
            # page sends the same message again, with the same client_id.
            first = visitors[0]
            first.sent -= 1
            await first.post({"text": "Japan"})
            for visitor in visitors:
                await visitor.refresh()
        finally:
            for visitor in visitors:
                await visitor.client.aclose()
            await bot.stop()
        pledges, said = await read_all(
            url,
            select(Pledge),
            select(WebChatMessage).where(WebChatMessage.sender == "user"),  # type: ignore[arg-type]
        )
    assert bot.kills == len(KILL_AT)
    assert sorted(p.display_name or "" for p in pledges) == sorted(v.name for v in visitors)
    names = [
        m.payload.get("text") for m in said if str(m.payload.get("text")).startswith("Visitor")
    ]
    assert sorted(names) == sorted(v.name for v in visitors)
    assert len(said) == 3 * VISITORS  # tap, name, country: each message stored once
    for visitor in visitors:
        texts = [m["text"] for m in visitor.shown.values() if m["from"] == "bot"]
        assert sum("Thank you for standing with refugees" in t for t in texts) == 1, visitor.name


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_webhook_update_whose_answer_never_came_has_one_effect(
    tmp_path: Path, kind: str
) -> None:
    async with FakeTelegramApi() as api, database_url(kind, tmp_path) as url:
        bot = BotProcess(
            tmp_path,
            url,
            telegram_env(
                api,
                TELEGRAM_WEBHOOK_URL="https://bot.example.org",
                TELEGRAM_WEBHOOK_SECRET="crash-test-webhook-secret",
                OUTBOX_LEASE_SECONDS="3",
            ),
        )
        try:
            await bot.start()
            webhook = str((await api.wait_for_call("setWebhook", within=60)).params["url"])
            path = httpx.URL(webhook).path
            headers = {"X-Telegram-Bot-Api-Secret-Token": "crash-test-webhook-secret"}
            async with httpx.AsyncClient(base_url=bot.url, timeout=30) as telegram:
                start = api.make.command(4242, "start", "pledge")
                assert (await telegram.post(path, json=start, headers=headers)).status_code == 200
                prompt = api.calls("sendMessage", ok_only=True)[-1]
                data = next(
                    k["callback_data"]
                    for row in keyboard_of(prompt)
                    for k in row
                    if "I take the pledge" in k["text"]
                )
                tap = api.make.callback(4242, data, message_id=prompt.result["message_id"])

                def between_commit_and_send(call: Call) -> bool:
                    if call.method == "sendMessage":
                        bot.kill()
                        return True
                    return False

                api.before_answer = between_commit_and_send
                with pytest.raises(httpx.TransportError):
                    await telegram.post(path, json=tap, headers=headers)  # no answer
                await bot.dead()
                api.before_answer = None
                await bot.start()
                # Telegram delivers the update again, having had no answer.
                assert (await telegram.post(path, json=tap, headers=headers)).status_code == 200
                await api.wait_until(
                    lambda: any(
                        "Your pledge is counted" in str(c.params.get("text"))
                        for c in api.calls("sendMessage", ok_only=True)
                    ),
                    60,
                )
        finally:
            await bot.stop()
        [pledges] = await read_all(url, select(Pledge))
    assert len(pledges) == 1
    counted = [
        c
        for c in api.calls("sendMessage", ok_only=True)
        if "Your pledge is counted" in str(c.params.get("text"))
    ]
    assert len(counted) == 1
