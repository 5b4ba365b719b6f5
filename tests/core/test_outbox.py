"""The outbox: retries with backoff, honours retry_after, stops at unreachable, never twice."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import select, update

from bot.core.delivery import PermanentError, RetryAfter, TransientError, Unreachable
from bot.core.events import Outgoing
from bot.core.outbox import OutboxDispatcher
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage, Participant, utcnow
from tests.races import Rendezvous, on_statement


class ScriptedSender:
    """Fails as scripted, then delivers; records every delivery."""

    platform = "test"

    def __init__(self, failures: list[Exception]) -> None:
        self.failures: Iterator[Exception] = iter(failures)
        self.delivered: list[tuple[str, str]] = []
        self.calls = 0
        self.got_one = asyncio.Event()

    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        self.calls += 1
        failure = next(self.failures, None)
        if failure is not None:
            raise failure
        self.delivered.append((chat_id, message.text))
        self.got_one.set()
        return "1"


async def queue(
    db: Database, key: str, chat: str = "chat-1", participant_id: int | None = None
) -> None:
    async with db.transaction() as session:
        await outbox.enqueue(
            session,
            dedupe_key=key,
            platform="test",
            chat_id=chat,
            payload={"message": Outgoing(text=f"hello {key}").to_json()},
            participant_id=participant_id,
        )


async def make_due(db: Database) -> None:
    """Bring every scheduled retry forward to now, instead of waiting for it."""
    async with db.transaction() as session:
        await session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))


async def row(db: Database, key: str) -> OutboxMessage:
    async with db.transaction() as session:
        return (
            await session.execute(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))
        ).scalar_one()


async def test_enqueue_is_deduplicated_by_key(db: Database) -> None:
    sender = ScriptedSender([])
    dispatcher = OutboxDispatcher(db, {"test": sender}, wakeup=asyncio.Event())
    await queue(db, "notify:1")
    await queue(db, "notify:1")
    assert await dispatcher.run_once() == 1
    assert await dispatcher.run_once() == 0
    assert sender.delivered == [("chat-1", "hello notify:1")]


async def test_transient_failures_and_retry_after_are_retried_until_delivered_once(
    db: Database,
) -> None:
    sender = ScriptedSender([TransientError("500"), RetryAfter(7), TransientError("timeout")])
    dispatcher = OutboxDispatcher(db, {"test": sender}, wakeup=asyncio.Event())
    await queue(db, "k")
    await dispatcher.run_once()
    first = await row(db, "k")
    assert first.status == "pending" and first.attempts == 1
    await dispatcher.run_once()
    assert sender.calls == 1  # not due yet: nothing is sent early
    await make_due(db)
    before = utcnow().replace(tzinfo=None)
    await dispatcher.run_once()
    after = utcnow().replace(tzinfo=None)
    retry_at = (await row(db, "k")).next_attempt_at.replace(tzinfo=None)
    # retry_after honoured: exactly 7 s after the refusal, which came between the two
    # readings of the clock (however long the round took).
    assert before + timedelta(seconds=7) <= retry_at <= after + timedelta(seconds=7)
    for _ in range(2):
        await make_due(db)
        await dispatcher.run_once()
    done = await row(db, "k")
    assert done.status == "sent" and done.attempts == 4
    assert sender.delivered == [("chat-1", "hello k")]


async def test_unreachable_marks_the_person_and_stops(db: Database) -> None:
    async with db.transaction() as session:
        person = Participant(platform="test", external_id="p", chat_id="chat-9", identity_key="x")
        session.add(person)
        await session.flush()
        person_id = person.id
    sender = ScriptedSender([Unreachable("blocked")])
    dispatcher = OutboxDispatcher(db, {"test": sender}, wakeup=asyncio.Event())
    await queue(db, "u", chat="chat-9", participant_id=person_id)
    await dispatcher.run_once()
    await make_due(db)
    await dispatcher.run_once()
    assert sender.calls == 1 and (await row(db, "u")).status == "dead"
    async with db.transaction() as session:
        assert (await session.get(Participant, person_id)).reachable is False  # type: ignore[union-attr]


async def test_refused_message_is_dead_lettered(db: Database) -> None:
    sender = ScriptedSender([PermanentError("bad request")])
    dispatcher = OutboxDispatcher(db, {"test": sender}, wakeup=asyncio.Event())
    await queue(db, "bad")
    await dispatcher.run_once()
    assert (await row(db, "bad")).status == "dead"


class HeldSender(ScriptedSender):
    """Delivers only once ``release`` is set; ``sending`` is set when a send starts."""

    def __init__(self) -> None:
        super().__init__([])
        self.sending = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        self.sending.set()
        await self.release.wait()
        return await super().send(chat_id, message)


def is_claim(statement: str) -> bool:
    """The dispatcher's claim: the one read of due outbox rows in a round."""
    return statement.lstrip().upper().startswith("SELECT") and "FROM outbox" in statement


async def test_two_dispatchers_claiming_at_the_same_moment_never_send_one_message_twice(
    postgres_db: Database,
) -> None:
    """Two replicas whose claims overlap (each has read the due rows before either
    commits) share the rows, neither waiting for the other: ``FOR UPDATE SKIP LOCKED``.
    SQLite never overlaps two transactions (the next test covers its dispatchers)."""
    db = postgres_db
    sender = ScriptedSender([])
    first = OutboxDispatcher(db, {"test": sender}, wakeup=asyncio.Event())
    second = OutboxDispatcher(db, {"test": sender}, wakeup=asyncio.Event())
    for i in range(30):
        await queue(db, f"m{i}", chat=f"chat-{i % 3}")
    together = Rendezvous(2, is_claim)
    with on_statement(db, together):
        attempted = await asyncio.gather(first.run_once(), second.run_once())
    assert together.met.is_set()  # the two claims did overlap
    assert sum(attempted) == 30
    assert sorted(text for _chat, text in sender.delivered) == sorted(
        f"hello m{i}" for i in range(30)
    )


async def test_a_message_being_sent_is_not_claimed_by_another_dispatcher(db: Database) -> None:
    """The claim leases its rows: a second dispatcher (a replica, or the next round after a
    restart) that looks while the first is still sending finds nothing to take."""
    held = HeldSender()
    other = ScriptedSender([])
    first = OutboxDispatcher(db, {"test": held}, wakeup=asyncio.Event())
    second = OutboxDispatcher(db, {"test": other}, wakeup=asyncio.Event())
    for i in range(5):
        await queue(db, f"m{i}", chat=f"chat-{i}")
    sending = asyncio.create_task(first.run_once())
    started = asyncio.create_task(held.sending.wait())
    await asyncio.wait({sending, started}, return_when=asyncio.FIRST_COMPLETED)
    assert held.sending.is_set(), sending.result()
    assert await second.run_once() == 0
    held.release.set()
    assert await sending == 5
    assert other.delivered == []
    assert sorted(text for _chat, text in held.delivered) == [f"hello m{i}" for i in range(5)]


async def test_dispatcher_wakes_on_the_event(db: Database) -> None:
    sender = ScriptedSender([])
    wakeup = asyncio.Event()
    dispatcher = OutboxDispatcher(db, {"test": sender}, wakeup=wakeup)
    task = asyncio.create_task(dispatcher.run_forever())
    try:
        await queue(db, "wake")
        wakeup.set()
        await asyncio.wait_for(sender.got_one.wait(), 10)
    finally:
        # Wait for the cancellation to finish, so no query is in flight when the
        # database is disposed (a PostgreSQL run once hung here).
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert sender.delivered == [("chat-1", "hello wake")]
