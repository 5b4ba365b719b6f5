"""The one inbound pipeline (both databases): the core, not the adapters, keeps one
person's events and replies in order, and retries a turn the database failed.

Each test fails when its guarantee is removed (checked by breaking it on purpose):
without the delivery chain, the second reply overtakes a slow first one; with the retry
outside the conversation's lock, the second event is handled before the first.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import OperationalError

from bot.app import Bot
from bot.core.delivery import Sender
from bot.core.dialog import DialogEngine
from bot.core.events import Inbound, InboundKind, Outgoing
from bot.core.router import Router
from bot.core.service import BotCore
from bot.core.turn import Turn


def echo_core(bot: Bot, seen: list[str] | None = None, **kwargs: float) -> BotCore:
    """A real core whose every turn answers with the text it got."""

    async def echo(turn: Turn) -> None:
        if seen is not None:
            seen.append(turn.inbound.text or "")
        turn.say(f"re:{turn.inbound.text}")

    router = Router(DialogEngine({}), fallback=echo, stale=echo)
    return BotCore(bot.deps, router, **kwargs)


def text(user: str, body: str, key: str | None = None) -> Inbound:
    return Inbound(
        platform="memory",
        user_id=user,
        chat_id=user,
        key=key or f"{user}:{body}",
        kind=InboundKind.TEXT,
        text=body,
    )


class HeldSender(Sender):
    """Records what it sends; holds the replies named in ``hold`` until released."""

    platform = "memory"

    def __init__(self, *hold: str) -> None:
        self.sent: list[tuple[str, str]] = []
        self.held = {name: asyncio.Event() for name in hold}
        self.waiting = {name: asyncio.Event() for name in hold}

    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        if message.text in self.held:
            self.waiting[message.text].set()
            await self.held[message.text].wait()
        self.sent.append((chat_id, message.text))
        return "1"


async def test_replies_keep_the_order_while_a_send_is_slow(bot: Bot) -> None:
    core = echo_core(bot)
    sender = HeldSender("re:one")
    first = await core.accept(text("amina", "one"), sender)
    await sender.waiting["re:one"].wait()  # its reply is on the wire, slow
    # The next event is committed meanwhile (the lock is not held while sending) ...
    second = await core.accept(text("amina", "two"), sender)
    other = await core.accept(text("bo", "hello"), sender)
    await other.delivered()  # ... another person is not held up ...
    assert sender.sent == [("bo", "re:hello")]
    sender.held["re:one"].set()
    await second.delivered()
    await first.delivered()
    # ... and the second reply never overtakes the first.
    assert [body for chat, body in sender.sent if chat == "amina"] == ["re:one", "re:two"]


async def test_a_turn_the_database_failed_is_retried_before_the_next(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    core = echo_core(bot, seen, retry_backoff=0.0)
    load = bot.deps.db.turns.load
    failed = asyncio.Event()

    async def fails_once(session, **event):  # type: ignore[no-untyped-def]
        if event["event_key"] == "amina:one" and not failed.is_set():
            failed.set()
            await asyncio.sleep(0)  # the second event arrives while this one fails
            raise OperationalError("INSERT", {}, ConnectionError("database restarting"))
        return await load(session, **event)

    monkeypatch.setattr(bot.deps.db.turns, "load", fails_once)
    sender = HeldSender()
    first = asyncio.create_task(core.accept(text("amina", "one"), sender))
    second = asyncio.create_task(core.accept(text("amina", "two"), sender))
    handled = await asyncio.gather(first, second)
    for one in handled:
        await one.delivered()
    assert failed.is_set()
    assert seen == ["one", "two"]
    assert sender.sent == [("amina", "re:one"), ("amina", "re:two")]


async def test_a_statement_the_database_refused_is_not_retried(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only an unavailable database is retried; a bug fails the event at once."""
    calls = 0

    async def refuses(session, **event):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        raise ValueError("a bug")

    monkeypatch.setattr(bot.deps.db.turns, "load", refuses)
    core = echo_core(bot, retry_backoff=0.0)
    with pytest.raises(ValueError):
        await core.accept(text("amina", "one"), HeldSender())
    assert calls == 1


async def test_a_redelivered_event_sends_nothing_twice(bot: Bot) -> None:
    core = echo_core(bot)
    sender = HeldSender()
    first = await core.accept(text("amina", "one", key="update-7"), sender)
    again = await core.accept(text("amina", "one", key="update-7"), sender)
    await first.delivered()
    await again.delivered()
    assert sender.sent == [("amina", "re:one")]
