"""SIGKILL the real bot in the middle of a milestone broadcast: after a restart, every
subscriber has exactly one announcement, none missing, none twice.

A few hundred supporters who said yes to updates are in the database; one more pledge
through the fake Bot API crosses the 100 milestone. The announcement goes out through
the outbox (a high ``BROADCAST_PER_SECOND``: as fast as the Telegram sender's own 30 a
second allows). Once the fake has answered K announcements it holds the later ones
unprocessed (as Telegram would be, had the process died with them on the wire); when
every one of the dispatcher's concurrent sends is held, each announcement answered
before has been recorded as sent, and the process is killed with SIGKILL. The held
requests were never processed: not deliveries. The restarted process sends the rest.

Telegram has no idempotency key: a message it processed in the last moment before a
kill, whose answer the bot never recorded, would be sent again (README, Milestones).
Killing only once every answered send is recorded keeps this test exact.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core.outbox import CONCURRENT_CHATS
from bot.handlers.pledge import DEFAULT_MILESTONES
from storage import announcements
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxMessage, Participant, Pledge, PledgeCounter
from storage.pledges import ensure_campaign
from tests.crash.process import BotProcess, database_url, read_all, telegram_env
from tests.fakes.telegram_api import Call, FakeTelegramApi, keyboard_of

SUBSCRIBERS = 200
SAID_NO = 20
NEVER_ASKED = 20
PLEDGER = 7000
K = 20  # announcements answered before the fake starts holding them
WITHIN = 300.0  # a guard against a hang only: the waits are on events
ANNOUNCEMENT = "people have now taken the TOGETHER pledge"


def subscriber(n: int) -> int:
    return 9000 + n


async def seed(url: str, tmp_path: Path) -> None:
    """The schema, the default campaign, its supporters and their answers; the count
    one below the 100 milestone's crossing pledge."""
    (tmp_path / "data").mkdir(exist_ok=True)
    db = Database(url)
    try:
        await upgrade(db)
        await ensure_campaign(db, "together", milestones=DEFAULT_MILESTONES)
        people: list[tuple[int, bool | None]] = [(subscriber(n), True) for n in range(SUBSCRIBERS)]
        people += [(8000 + n, False) for n in range(SAID_NO)]
        people += [(8500 + n, None) for n in range(NEVER_ASKED)]
        async with db.transaction() as session:
            for user, updates in people:
                participant = Participant(
                    platform="telegram",
                    external_id=str(user),
                    chat_id=str(user),
                    identity_key=f"seed-{user}",
                    updates=updates,
                )
                session.add(participant)
                await session.flush()
                session.add(
                    Pledge(
                        campaign_id="together",
                        identity_key=f"seed-{user}",
                        participant_id=participant.id,
                    )
                )
            session.add(PledgeCounter(campaign_id="together", shard=0, count=len(people)))
    finally:
        await db.dispose()


def announced(call: Call) -> bool:
    return call.method == "sendMessage" and ANNOUNCEMENT in str(call.params.get("text", ""))


def received(api: FakeTelegramApi) -> dict[int, int]:
    """Announcements Telegram processed, by chat."""
    out: dict[int, int] = {}
    for call in api.calls("sendMessage", ok_only=True):
        if announced(call):
            chat = int(call.params["chat_id"])
            out[chat] = out.get(chat, 0) + 1
    return out


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_sigkill_mid_broadcast_sends_each_subscriber_exactly_one(
    tmp_path: Path, kind: str
) -> None:
    async with FakeTelegramApi() as api, database_url(kind, tmp_path) as url:
        await seed(url, tmp_path)
        bot = BotProcess(
            tmp_path,
            url,
            telegram_env(
                api,
                TELEGRAM_BOT_USERNAME="together_test_bot",
                BROADCAST_PER_SECOND="1000000",  # all due at once: the sender's pace rules
                # PostgreSQL: the dead run's leased rows are taken over when this ends.
                OUTBOX_LEASE_SECONDS="8",
            ),
        )
        try:
            await bot.start()
            api.hold(lambda call: announced(call) and sum(received(api).values()) >= K)
            # The pledge that crosses 100.
            api.push(api.make.command(PLEDGER, "start", "pledge"))
            prompt = await api.wait_for_call("sendMessage", within=WITHIN)
            (key,) = [k for row in keyboard_of(prompt) for k in row if "pledge" in k["text"]]
            api.push(
                api.make.callback(
                    PLEDGER, key["callback_data"], message_id=int(prompt.result["message_id"])
                )
            )
            # Every concurrent send of the dispatcher held: all answered before are
            # recorded as sent (a send's slot is free only once it is recorded).
            await api.wait_until(lambda: len(api.held) >= CONCURRENT_CHATS, WITHIN)
            bot.kill()
            await bot.dead()
            assert sum(received(api).values()) == K
            api.release()
            await bot.start()
            await api.wait_until(lambda: len(received(api)) >= SUBSCRIBERS, WITHIN)
        finally:
            await bot.stop()
        (rows,) = await read_all(url, select(OutboxMessage))
    got = received(api)
    subscribers = {subscriber(n) for n in range(SUBSCRIBERS)}
    repeated = {chat: n for chat, n in got.items() if n > 1}
    print(
        f"broadcast crash test ({kind}): {SUBSCRIBERS} subscribers, SIGKILL after {K} "
        f"answered with {len(api.held)} held: {len(got)} reached, {len(repeated)} repeated"
    )
    assert bot.kills == 1 and bot.runs == 2
    assert repeated == {}
    assert set(got) == subscribers  # no gap; nobody who said no or never answered
    held = {int(c.params["chat_id"]) for c in api.held}
    assert held and held <= subscribers  # held, never processed: sent after the restart
    mine = [r for r in rows if announcements.KIND in r.payload]
    assert len(mine) == SUBSCRIBERS
    assert {r.status for r in mine} == {"sent"}
