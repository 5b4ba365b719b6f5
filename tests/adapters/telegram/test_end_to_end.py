"""The whole bot through Telegram: the real core, the fake Bot API over real HTTP.

Both flows run through long polling and through the webhook of the one Starlette app
(served by uvicorn on loopback); redelivered updates have one effect; outbox messages
meet the fake's faults and are delivered exactly once. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from telegram import Update

from bot.adapters.telegram import TelegramAdapter
from bot.adapters.telegram.limits import SendLimiter
from bot.adapters.telegram.webhook import SECRET_HEADER
from bot.app import Bot, connect_media, create_app
from bot.config import Settings
from bot.core.admission import Admission
from bot.core.events import Outgoing
from storage import outbox
from storage.db import Database
from storage.models import (
    Participant,
    Pledge,
    Story,
    StoryMedia,
    StoryState,
)
from tests import media_samples
from tests.adapters.telegram.conftest import UNLIMITED, telegram_settings
from tests.conftest import make_bot
from tests.core.test_outbox import make_due, row
from tests.fakes.telegram_api import Call, FakeTelegramApi, keyboard_of

SENDS = frozenset({"sendMessage", "sendPhoto", "sendVoice", "sendVideo", "sendDocument"})
STORY = "I left Aleppo in 2015 with my mother and two brothers.\n\nToday I study nursing in Osaka."


class ObservedAdapter(TelegramAdapter):
    """The adapter, telling the test when an update has been handled completely."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handled_ids: set[int] = set()
        self._changed = asyncio.Condition()

    async def process(self, update: Update, raw: Mapping[str, Any] | None = None) -> None:
        try:
            await super().process(update, raw)
        finally:
            async with self._changed:
                self.handled_ids.add(update.update_id)
                self._changed.notify_all()

    async def handled(self, update_id: int) -> None:
        async with asyncio.timeout(10), self._changed:
            await self._changed.wait_for(lambda: update_id in self.handled_ids)


Deliver = Callable[[dict[str, Any]], Awaitable[None]]


class Phone:
    """One person's Telegram app: sends updates, taps buttons, reads the bot's answers."""

    def __init__(self, api: FakeTelegramApi, deliver: Deliver, user_id: int) -> None:
        self.api = api
        self.deliver = deliver
        self.user_id = user_id
        self.last: list[Call] = []
        self.seen: list[Call] = []
        self.taps = 0
        self.last_update: dict[str, Any] = {}

    async def push(self, update: dict[str, Any]) -> list[Call]:
        self.last_update = update
        mark = len(self.api.all_calls)
        await self.deliver(update)
        self.last = [
            c
            for c in self.api.all_calls[mark:]
            if c.method in SENDS and c.status == 200 and c.params["chat_id"] == self.user_id
        ]
        self.seen += self.last
        return self.last

    async def send(self, text: str) -> list[Call]:
        if text.startswith("/"):
            command, _sep, args = text[1:].partition(" ")
            return await self.push(self.api.make.command(self.user_id, command, args))
        return await self.push(self.api.make.text(self.user_id, text))

    async def tap(self, label: str) -> list[Call]:
        for call in reversed(self.seen):
            for buttons in keyboard_of(call):
                for button in buttons:
                    if label.casefold() in button["text"].casefold() and "callback_data" in button:
                        self.taps += 1
                        return await self.push(
                            self.api.make.callback(
                                self.user_id,
                                button["callback_data"],
                                message_id=call.result["message_id"],
                            )
                        )
        raise AssertionError(f"no button {label!r}")

    @property
    def text(self) -> str:
        return "\n".join(
            str(c.params.get("text") or c.params.get("caption") or "") for c in self.last
        )


async def tell_story(phone: Phone) -> str:
    """Tell a story with a photo; returns the photo's file id (its largest size)."""
    await phone.send("/start story")
    assert "your own migration story" in phone.text
    await phone.tap("My own migration story")
    assert "Do you agree" in phone.text
    await phone.tap("I agree")
    await phone.tap("Yes, I am 18")
    await phone.tap("first name")
    await phone.send("Amina")
    assert "Which country do you come from" in phone.text
    await phone.send("Syria")
    await phone.send("japan")
    assert "tell your story" in phone.text
    await phone.send(STORY.split("\n\n")[0])
    assert "characters so far" in phone.text
    await phone.send(STORY.split("\n\n")[1])
    await phone.push(phone.api.make.sticker(phone.user_id))
    assert "can't use this kind of message" in phone.text
    photo = phone.api.make.photo(phone.user_id, size=50_000)
    phone.api.add_file(photo["message"]["photo"][-1]["file_id"], media_samples.jpeg_with_gps())
    await phone.push(photo)
    await phone.tap("I'm done")
    assert "one line" in phone.text
    await phone.send("Thank you for welcoming us.")
    assert "Here is your story" in phone.text
    await phone.tap("Submit my story")
    assert "Thank you for trusting us" in phone.text
    return str(photo["message"]["photo"][-1]["file_id"])


async def take_pledge(phone: Phone) -> None:
    await phone.send("/start pledge")
    assert "I stand #WithRefugees" in phone.text
    await phone.tap("I take the pledge")
    assert "Your pledge is counted" in phone.text
    await phone.send("Kenji")
    await phone.send("Japan")
    assert "1 person has taken the pledge." in phone.text


async def assert_story_stored(db: Database) -> None:
    async with db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
        media = (await session.execute(select(StoryMedia))).scalars().all()
    assert (story.credit_name, story.origin_country, story.current_country) == ("Amina", "SY", "JP")
    assert story.state == StoryState.PENDING_REVIEW
    # The photo was downloaded and kept cleaned: a file of the store, not Telegram's id.
    assert [(m.platform, m.kind) for m in media] == [("telegram", "photo")]
    assert media[0].ref.startswith("local:")


async def assert_pledged(db: Database) -> None:
    async with db.transaction() as session:
        pledge = (await session.execute(select(Pledge))).scalar_one()
    assert (pledge.display_name, pledge.country, pledge.state) == ("Kenji", "JP", "confirmed")


# -- long polling ---------------------------------------------------------------------------
@pytest.fixture
async def polled(
    api: FakeTelegramApi, settings: Settings, db: Database
) -> AsyncIterator[tuple[Bot, ObservedAdapter]]:
    bot = await make_bot(settings, db)
    adapter = ObservedAdapter(
        telegram_settings(settings, api), bot.core, limits=UNLIMITED, request_timeout=1.0
    )
    bot.telegram = adapter
    bot.dispatcher.add_sender(adapter.sender)
    assert bot.core.media is not None
    connect_media(bot.core.media, bot.deps, telegram=adapter)  # as the composition root does
    await adapter.start()
    try:
        yield bot, adapter
    finally:
        await adapter.stop()


def polling_phone(api: FakeTelegramApi, adapter: ObservedAdapter, user_id: int) -> Phone:
    async def deliver(update: dict[str, Any]) -> None:
        api.push(update)
        await adapter.handled(update["update_id"])

    return Phone(api, deliver, user_id)


async def test_story_through_polling(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    bot, adapter = polled
    phone = polling_phone(api, adapter, 42)
    await tell_story(phone)
    await assert_story_stored(bot.deps.db)
    assert all("parse_mode" not in c.params for c in api.all_calls)
    answered = {c.params["callback_query_id"] for c in api.calls("answerCallbackQuery")}
    assert len(answered) == phone.taps == 6  # every tap stopped its spinner


async def test_pledge_through_polling(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    bot, adapter = polled
    await take_pledge(polling_phone(api, adapter, 43))
    await assert_pledged(bot.deps.db)


async def test_an_update_redelivered_after_a_crash_has_one_effect(
    api: FakeTelegramApi, settings: Settings, polled: tuple[Bot, ObservedAdapter]
) -> None:
    bot, adapter = polled
    phone = polling_phone(api, adapter, 44)
    await phone.send("/pledge")
    await phone.tap("I take the pledge")
    assert "Your pledge is counted" in phone.text
    tap = phone.last_update
    # The process dies before confirming the offset; the next one gets the update again.
    await adapter.stop()
    restarted = ObservedAdapter(telegram_settings(settings, api), bot.core, limits=UNLIMITED)
    await restarted.start()
    try:
        again = polling_phone(api, restarted, 44)
        assert await again.push(tap) == []  # no second effect, no second reply
    finally:
        await restarted.stop()
        await adapter.start()  # the fixture stops it
    assert len(api.calls("answerCallbackQuery")) == 2  # the spinner stops both times
    async with bot.deps.db.transaction() as session:
        assert len((await session.execute(select(Pledge))).scalars().all()) == 1


# -- the webhook on the one app -------------------------------------------------------------
@pytest.fixture
async def served(
    api: FakeTelegramApi, settings: Settings, db: Database
) -> AsyncIterator[tuple[Bot, str]]:
    """The real app (build_bot's wiring, create_app's routes and lifespan) under uvicorn."""
    webhook_settings = telegram_settings(
        settings, api, telegram_webhook_url="https://bot.example.org"
    )
    bot = await make_bot(webhook_settings, db)
    assert bot.telegram is not None and bot.telegram.mode == "webhook"
    assert bot.dispatcher.senders["telegram"] is bot.telegram.sender
    bot.telegram.sender.limiter = SendLimiter(UNLIMITED)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(bot, migrate=False), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    await api.wait_for_call("setWebhook", within=10)  # the lifespan started the bot
    try:
        yield bot, f"http://127.0.0.1:{port}{bot.telegram.webhook_path}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        sock.close()


def webhook_phone(
    api: FakeTelegramApi, client: httpx.AsyncClient, url: str, secret: str, user_id: int
) -> Phone:
    async def deliver(update: dict[str, Any]) -> None:
        answer = await client.post(url, json=update, headers={SECRET_HEADER: secret})
        assert answer.status_code == 200

    return Phone(api, deliver, user_id)


async def test_story_and_pledge_through_the_webhook(
    api: FakeTelegramApi, served: tuple[Bot, str]
) -> None:
    bot, url = served
    assert bot.telegram is not None
    secret = bot.telegram.webhook_secret
    async with httpx.AsyncClient(timeout=10) as client:
        await tell_story(webhook_phone(api, client, url, secret, 42))
        await take_pledge(webhook_phone(api, client, url, secret, 43))
        wrong = await client.post(url, json=api.make.text(45, "hi"), headers={SECRET_HEADER: "x"})
        assert wrong.status_code == 403
        broken = await client.post(url, content=b"{", headers={SECRET_HEADER: secret})
        assert broken.status_code == 400
        assert (await client.get(url.rsplit("/", 1)[0])).status_code == 404
    await assert_story_stored(bot.deps.db)
    await assert_pledged(bot.deps.db)
    async with bot.deps.db.transaction() as session:
        people = (await session.execute(select(Participant.external_id))).scalars().all()
    assert sorted(people) == ["42", "43"]  # the refused deliveries stored nothing


async def test_a_webhook_delivered_twice_has_one_effect(
    api: FakeTelegramApi, served: tuple[Bot, str]
) -> None:
    bot, url = served
    assert bot.telegram is not None
    async with httpx.AsyncClient(timeout=10) as client:
        phone = webhook_phone(api, client, url, bot.telegram.webhook_secret, 46)
        start = api.make.command(46, "pledge")
        first = await phone.push(start)
        assert first
        assert await phone.push(start) == []  # Telegram's retry: acknowledged, ignored


async def test_a_webhook_update_beyond_the_bound_is_refused_then_handled_once(
    api: FakeTelegramApi, served: tuple[Bot, str]
) -> None:
    """Too many turns in flight: 503 with Retry-After, nothing recorded; Telegram's
    redelivery of the same update is then handled, once."""
    bot, url = served
    assert bot.telegram is not None
    secret = bot.telegram.webhook_secret
    bot.core.admission = Admission(1)
    start = api.make.command(48, "pledge")
    async with httpx.AsyncClient(timeout=10) as client:
        async with bot.core.admission.admit():  # the one place is taken
            busy = await client.post(url, json=start, headers={SECRET_HEADER: secret})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "2"
        assert not [c for c in api.calls("sendMessage") if str(c.params.get("chat_id")) == "48"]
        phone = webhook_phone(api, client, url, secret, 48)
        assert await phone.push(start)  # redelivered: handled now
        assert await phone.push(start) == []  # and only once


# -- the outbox ---------------------------------------------------------------------------
async def queue(db: Database, key: str, chat_id: str, participant_id: int | None = None) -> None:
    async with db.transaction() as session:
        await outbox.enqueue(
            session,
            dedupe_key=key,
            platform="telegram",
            chat_id=chat_id,
            payload={"message": Outgoing(text=f"notice {key}").to_json()},
            participant_id=participant_id,
        )


async def test_outbox_through_429_and_500_delivers_exactly_once(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    bot, _adapter = polled
    db = bot.deps.db
    api.fail("sendMessage", 429, retry_after=5)
    api.fail("sendMessage", 500, times=2)
    await queue(db, "n1", "42")
    await bot.dispatcher.run_once()
    retry = await row(db, "n1")
    assert retry.status == "pending" and retry.last_error == "retry_after"
    for _ in range(3):
        await make_due(db)
        await bot.dispatcher.run_once()
    done = await row(db, "n1")
    assert (done.status, done.attempts) == ("sent", 4)
    assert [c.status for c in api.calls("sendMessage")] == [429, 500, 500, 200]
    await make_due(db)
    assert await bot.dispatcher.run_once() == 0  # nothing is sent again


async def test_outbox_retries_a_timed_out_send(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    """A timeout is retried; Telegram may have shown the first (at least once, by nature)."""
    bot, _adapter = polled
    api.delay("sendMessage", 3.0)  # longer than the adapter's request timeout
    await queue(bot.deps.db, "n3", "42")
    await bot.dispatcher.run_once()
    assert (await row(bot.deps.db, "n3")).status == "pending"
    await make_due(bot.deps.db)
    await bot.dispatcher.run_once()
    assert (await row(bot.deps.db, "n3")).status == "sent"
    assert len(api.calls("sendMessage")) == 2


async def test_outbox_to_someone_who_blocked_the_bot_stops(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    bot, adapter = polled
    phone = polling_phone(api, adapter, 47)
    await phone.send("/start")
    async with bot.deps.db.transaction() as session:
        person = (
            await session.execute(select(Participant).where(Participant.external_id == "47"))  # type: ignore[arg-type]
        ).scalar_one()
    api.fail("sendMessage", 403)
    await queue(bot.deps.db, "n2", "47", participant_id=person.id)
    await bot.dispatcher.run_once()
    await make_due(bot.deps.db)
    await bot.dispatcher.run_once()
    assert (await row(bot.deps.db, "n2")).status == "dead"
    assert len(api.calls("sendMessage")) == 2  # the /start reply, the refused notice
    async with bot.deps.db.transaction() as session:
        assert (await session.get(Participant, person.id)).reachable is False  # type: ignore[union-attr]
    # Unblocking marks them reachable again.
    await phone.push(api.make.my_chat_member(47, status="member", old_status="kicked"))
    async with bot.deps.db.transaction() as session:
        assert (await session.get(Participant, person.id)).reachable is True  # type: ignore[union-attr]
