"""A slow chat never delays another chat's messages (both databases).

The bug: storytellers' "your story is published" notices waited 27-45 s behind
moderator-group card edits held to 20 a minute, because the dispatcher slept on the
group's pace with everyone else's messages queued behind it.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.adapters.telegram.limits import SendLimiter, TelegramLimits
from bot.core.delivery import TransientError
from bot.core.events import Outgoing
from bot.core.outbox import OutboxDispatcher
from storage.db import Database
from storage.models import OutboxMessage, utcnow
from tests.core.test_outbox import make_due, queue

GROUP = "-100500"  # Telegram groups have negative ids
PERSON = "42"


class Clock:
    """A clock the test moves; the limiter reads it, nothing sleeps on it here."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class PacedSender:
    """Keeps Telegram's pace with the real limiter, as the Telegram sender does."""

    platform = "test"

    def __init__(self, limiter: SendLimiter) -> None:
        self.limiter = limiter
        self.sent: list[tuple[str, str]] = []
        self.slept = 0.0

    def wait_before(self, chat_id: str) -> float:
        return self.limiter.wait_before(chat_id)

    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        wait = self.limiter._bucket(chat_id).reserve()
        self.slept += wait  # what the real sender would sleep for here
        self.sent.append((chat_id, message.text))
        return str(len(self.sent))


async def test_a_paced_group_never_holds_back_a_person(db: Database) -> None:
    clock = Clock()
    sender = PacedSender(SendLimiter(TelegramLimits(group_per_minute=20.0), clock=clock))
    dispatcher = OutboxDispatcher(db, {"test": sender}, wakeup=asyncio.Event())
    for n in range(5):
        await queue(db, f"card:{n}", chat=GROUP)
    await queue(db, "notice:published", chat=PERSON)

    await dispatcher.run_once()
    assert ("42", "hello notice:published") in sender.sent
    assert [t for c, t in sender.sent if c == GROUP] == ["hello card:0"]
    assert sender.slept == 0  # nobody waited on the group's pace
    async with db.transaction() as session:
        waiting = (
            (await session.execute(select(OutboxMessage).where(OutboxMessage.chat_id == GROUP)))
            .scalars()
            .all()
        )
    later = [r for r in waiting if r.status == "pending"]
    assert len(later) == 4
    assert all(r.attempts == 0 for r in later)  # rescheduled, not counted as failures
    assert all(
        r.next_attempt_at.replace(tzinfo=None) > utcnow().replace(tzinfo=None) for r in later
    )

    # The group's pace allows the next card 3 s later, and still in order.
    clock.now += 3.0
    await make_due(db)
    await dispatcher.run_once()
    assert [t for c, t in sender.sent if c == GROUP] == ["hello card:0", "hello card:1"]
    assert sender.slept == 0


async def test_a_failing_chat_keeps_its_own_order_and_holds_back_no_one(db: Database) -> None:
    class Flaky(PacedSender):
        failed = False

        async def send(self, chat_id: str, message: Outgoing) -> str | None:
            if chat_id == GROUP and message.text.endswith("card:0") and not self.failed:
                self.failed = True
                raise TransientError("502")
            return await super().send(chat_id, message)

    sender = Flaky(SendLimiter(TelegramLimits(group_per_minute=600_000, group_burst=100)))
    dispatcher = OutboxDispatcher(db, {"test": sender}, wakeup=asyncio.Event())
    for n in range(3):
        await queue(db, f"card:{n}", chat=GROUP)
    await queue(db, "notice", chat=PERSON)
    await dispatcher.run_once()
    assert sender.sent == [("42", "hello notice")]  # card:1 and 2 wait behind card:0
    await make_due(db)
    await dispatcher.run_once()
    assert [t for c, t in sender.sent if c == GROUP] == [
        "hello card:0",
        "hello card:1",
        "hello card:2",
    ]
