"""Direct replies are stored with the turn and sent after it; the outbox takes what is left.

The real core and database (SQLite and PostgreSQL) behind the adapter in long-polling
mode, the fake Bot API over real HTTP. The dispatcher is driven by the tests.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Bot
from bot.core.events import Inbound, InboundKind
from storage import outbox
from storage.models import OutboxMessage, Participant
from tests.adapters.telegram import test_end_to_end as e2e
from tests.adapters.telegram.test_end_to_end import ObservedAdapter, polling_phone
from tests.core.test_outbox import make_due
from tests.fakes.telegram_api import FakeTelegramApi, texts_sent

polled = e2e.polled  # the real core behind the polling adapter (a fixture)


async def reply_rows(bot: Bot) -> list[OutboxMessage]:
    async with bot.deps.db.transaction() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        return [r for r in rows if r.dedupe_key.startswith("reply:")]


async def test_a_reply_is_sent_at_once_and_forgotten_once_sent(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    bot, adapter = polled
    phone = polling_phone(api, adapter, 61)
    await phone.send("/pledge")
    assert "I stand #WithRefugees" in phone.text  # sent by the turn itself, no dispatcher
    rows = await reply_rows(bot)
    assert rows and all(r.status == "sent" for r in rows)
    assert all(r.payload == {} for r in rows)  # the text is not kept once delivered
    assert await bot.dispatcher.run_once() == 0


async def test_a_reply_refused_with_429_is_sent_once_by_the_outbox(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    bot, adapter = polled
    api.fail("sendMessage", 429, retry_after=1)
    phone = polling_phone(api, adapter, 62)
    await phone.send("/pledge")
    assert phone.last == []  # refused: nothing shown yet
    [pending] = await reply_rows(bot)
    assert (pending.status, pending.locked_until, pending.attempts) == ("pending", None, 0)
    await make_due(bot.deps.db)
    assert await bot.dispatcher.run_once() == 1
    assert [c.status for c in api.calls("sendMessage")] == [429, 200]
    assert len([t for t in texts_sent(api) if "I stand #WithRefugees" in t]) == 1
    await make_due(bot.deps.db)
    assert await bot.dispatcher.run_once() == 0  # never a second time


async def test_replies_after_one_that_waits_keep_their_order(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    bot, adapter = polled
    phone = polling_phone(api, adapter, 63)
    await phone.send("/start story")
    api.fail("sendMessage", 500)
    await phone.push(api.make.sticker(63))  # "can't use this" + the question again
    first_failed = len(api.calls("sendMessage"))
    rows = [r for r in await reply_rows(bot) if r.status == "pending"]
    assert len(rows) >= 2  # the refused reply and the ones after it wait together
    await make_due(bot.deps.db)
    await bot.dispatcher.run_once()
    resent = [c.params["text"] for c in api.calls("sendMessage")[first_failed:]]
    welcome = api.calls("sendMessage")[first_failed - 1].params["text"]
    assert resent[0] == welcome  # the refused one first, then the rest, in order
    assert len(resent) == len(rows)


async def test_a_reply_to_someone_who_blocked_the_bot_stops_there(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    bot, adapter = polled
    api.fail("sendMessage", 403)
    phone = polling_phone(api, adapter, 64)
    await phone.send("/start")
    assert len(api.calls("sendMessage")) == 1  # the rest is not tried
    assert {r.status for r in await reply_rows(bot)} == {"dead"}
    async with bot.deps.db.transaction() as session:
        person = (
            await session.execute(select(Participant).where(Participant.external_id == "64"))  # type: ignore[arg-type]
        ).scalar_one()
    assert person.reachable is False


async def test_replies_a_crash_left_unsent_are_sent_once_after_a_restart(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    """In-process stand-in for the SIGKILL test (tests/crash): committed, never sent."""
    bot, _adapter = polled
    inbound = Inbound(
        platform="telegram",
        user_id="65",
        chat_id="65",
        key="cb:crash-1",
        kind=InboundKind.COMMAND,
        command="pledge",
    )
    handled = await bot.core.accept(inbound)  # ... and the process dies here
    assert handled.rows
    assert await bot.dispatcher.run_once() == 0  # leased to the (dead) process
    if bot.deps.db.is_sqlite:
        assert await outbox.recover_leases(bot.deps.db) == len(handled.rows)
    else:  # replicas: the lease runs out instead
        await expire_leases(bot)
    assert await bot.dispatcher.run_once() == len(handled.rows)
    assert [c.params["text"] for c in api.calls("sendMessage")] == [r.text for r in handled.replies]
    await make_due(bot.deps.db)
    assert await bot.dispatcher.run_once() == 0


async def expire_leases(bot: Bot) -> None:
    from sqlalchemy import update

    from storage.models import utcnow

    async with bot.deps.db.transaction() as session:
        await session.execute(update(OutboxMessage).values(locked_until=utcnow()))
