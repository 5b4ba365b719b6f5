"""Two real bot processes on one PostgreSQL database: docker-compose.yml's bot1 and bot2
without Docker (the migration run once, then ``python -m bot.cli run`` twice, Telegram
in webhook mode on both against the fake Bot API).

What holds across the two, each test starting replicas A and B on a fresh database:
- an update Telegram delivers to both (and again later) has one effect and one reply;
- each outbox row is sent once while both dispatchers take rows from the same table;
- a moderator's claim taken through A is respected through B, and its holder decides
  through B;
- a web chat long poll held on B wakes when A commits the visitor's reply (NOTIFY);
- one replica runs the scheduled jobs (the advisory lock); SIGKILLed, the other takes
  over, and the killed one, restarted, stands by. (tests/core/test_scheduler_lock.py
  has the lock's details with one real process and one in the test);
- two replicas misconfigured for long polling answer Telegram's 409 Conflict with a
  warning that says what to change, keep going, and give each update one effect.

PostgreSQL only: skipped when ``TEST_DATABASE_URL`` is unset.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlmodel import col

from bot.adapters.telegram.polling import CONFLICT
from bot.adapters.telegram.webhook import SECRET_HEADER
from bot.app import build_bot
from bot.config import Settings
from bot.core.events import Outgoing
from bot.scheduler import SCHEDULER_LOCK_CLASS
from moderation.audit import verify_chain
from moderation.states import StoryState
from storage import outbox
from storage.db import Database
from storage.models import (
    ModerationEvent,
    OutboxMessage,
    OutboxStatus,
    Pledge,
    PledgeCounter,
    ProcessedEvent,
)
from tests.crash.process import (
    WEBHOOK_SECRET,
    BotProcess,
    database_url,
    read_all,
    replicas,
    telegram_env,
    webhook_env,
)
from tests.fakes.telegram_api import FakeTelegramApi, keyboard_of, texts_sent
from tests.web.helpers import Dashboard, item_row, tell

BOUND = 60.0  # seconds a failing run waits for what never comes, never a pace
COUNTED = "Your pledge is counted"
TAKEN = "scheduler lock taken"
STANDS_BY = "this replica stands by"
POLL_WAITING = "web chat poll waiting"
LISTENING = "signal listener listening"
CONFLICT_409 = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


def settings_of(bot: BotProcess) -> Settings:
    """The settings a replica runs with, for a bot built in the test on its database
    (to set up what a test needs: a story told, moderators and their sign-in links)."""
    return Settings(
        _env_file=None,
        data_dir=Path(bot.env["DATA_DIR"]),
        database_url=bot.env["DATABASE_URL"],
        identity_secret=bot.env["IDENTITY_SECRET"],
        session_secret=bot.env["SESSION_SECRET"],
        telegram_bot_token=None,
        slack_bot_token=None,
    )


def button(api: FakeTelegramApi, chat_id: int, label: str) -> tuple[str, int] | None:
    """The callback data of the newest button ``label`` sent to ``chat_id``, and its
    message's id; None when there is none."""
    for call in reversed(api.calls("sendMessage", ok_only=True)):
        if int(call.params.get("chat_id", 0)) != chat_id:
            continue
        for row in keyboard_of(call):
            for key in row:
                if label in key["text"]:
                    return str(key["callback_data"]), int(call.result["message_id"])
    return None


def choice_data(api: FakeTelegramApi, chat_id: int, label: str) -> tuple[str, int]:
    found = button(api, chat_id, label)
    assert found is not None, f"no button {label!r} sent to {chat_id}"
    return found


async def webhook_path(api: FakeTelegramApi, replicas_started: int) -> str:
    """The webhook's path, once every replica has registered it (all the same)."""
    await api.wait_for_call("setWebhook", replicas_started, within=BOUND)
    urls = {str(call.params["url"]) for call in api.calls("setWebhook")}
    assert len(urls) == 1, urls  # one address for every replica: the proxy's
    return httpx.URL(urls.pop()).path


async def test_an_update_delivered_to_both_replicas_has_one_effect(tmp_path: Path) -> None:
    user = 4242
    async with FakeTelegramApi() as api, database_url("postgresql", tmp_path) as url:
        async with replicas(tmp_path, url, [webhook_env(api)] * 2) as (a, b):
            path = await webhook_path(api, 2)
            headers = {SECRET_HEADER: WEBHOOK_SECRET}
            async with httpx.AsyncClient(timeout=BOUND) as telegram:

                async def deliver(bot: BotProcess, update: dict[str, Any]) -> int:
                    answer = await telegram.post(bot.url + path, json=update, headers=headers)
                    return answer.status_code

                start = api.make.command(user, "start", "pledge")
                assert await deliver(a, start) == 200
                data, message_id = choice_data(api, user, "I take the pledge")
                tap = api.make.callback(user, data, message_id=message_id)
                # Its answer lost, Telegram delivers the tap again: the proxy hands the
                # two deliveries to A and to B at the same moment; later, once more each.
                assert list(await asyncio.gather(deliver(a, tap), deliver(b, tap))) == [200, 200]
                assert list(await asyncio.gather(deliver(b, tap), deliver(a, tap))) == [200, 200]
        pledges, counters, events = await read_all(
            url,
            select(Pledge),
            select(col(PledgeCounter.count)),
            select(col(ProcessedEvent.key)).where(col(ProcessedEvent.platform) == "telegram"),
        )
    assert len(pledges) == 1
    assert sum(counters) == 1
    assert sum(COUNTED in t for t in texts_sent(api, user)) == 1
    # Two updates (the command and the tap), one processed-event row each.
    assert len(events) == len(set(events)) == 2, events


ROWS = 300
FIRST_CHAT = 70_000


async def test_each_outbox_row_is_sent_once_by_two_dispatchers(tmp_path: Path) -> None:
    # One fake Bot API per replica: what each received is what that replica sent.
    async with (
        FakeTelegramApi() as api_a,
        FakeTelegramApi() as api_b,
        database_url("postgresql", tmp_path) as url,
    ):
        apis = (api_a, api_b)

        def received() -> list[int]:
            return [
                int(call.params["chat_id"])
                for api in apis
                for call in api.calls("sendMessage", ok_only=True)
                if int(call.params.get("chat_id", 0)) >= FIRST_CHAT
            ]

        async def queue_notices() -> None:
            # Found waiting by both dispatchers as they start: a notice to each of ROWS
            # people (one chat each, so no chat's pace holds the other rows back).
            db = Database(url)
            try:
                async with db.transaction() as session:
                    for n in range(ROWS):
                        await outbox.enqueue(
                            session,
                            dedupe_key=f"replicas:notice:{n}",
                            platform="telegram",
                            chat_id=str(FIRST_CHAT + n),
                            payload={"message": Outgoing(text=f"Notice {n}").to_json()},
                        )
            finally:
                await db.dispose()

        envs = [webhook_env(api) for api in apis]
        async with replicas(tmp_path, url, envs, prepare=queue_notices):

            def all_received() -> bool:
                return len(set(received())) >= ROWS

            waits = [asyncio.create_task(api.wait_until(all_received, BOUND)) for api in apis]
            # The fake that receives the last row sees it: whichever that is.
            done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for wait in pending:
                wait.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for wait in done:
                wait.result()
        # Both stopped (SIGTERM lets a dispatcher finish its round): every send is in.
        [statuses] = await read_all(url, select(col(OutboxMessage.status)))
    chats = received()
    assert sorted(chats) == list(range(FIRST_CHAT, FIRST_CHAT + ROWS))  # each exactly once
    assert statuses == [OutboxStatus.SENT.value] * ROWS
    # Both replicas took part: each fake Bot API received some of the rows.
    shares = [len(api.calls("sendMessage", ok_only=True)) for api in apis]
    assert all(shares), shares


async def test_a_claim_taken_through_one_replica_holds_on_the_other(tmp_path: Path) -> None:
    async with (
        database_url("postgresql", tmp_path) as url,
        replicas(tmp_path, url, [{}, {}]) as (a, b),
    ):
        here = build_bot(settings_of(a))  # in the test: tells the story, signs in
        try:
            item_id = await tell(here, "amina")
            async with (
                httpx.AsyncClient(base_url=a.url, timeout=BOUND) as m1_on_a,
                httpx.AsyncClient(base_url=b.url, timeout=BOUND) as m1_on_b,
                httpx.AsyncClient(base_url=b.url, timeout=BOUND) as m2_on_b,
            ):
                m1 = Dashboard(m1_on_a)
                await m1.sign_in(here, "m1")
                m2 = Dashboard(m2_on_b)
                await m2.sign_in(here, "m2")

                claimed = await m1.act(item_id, "claim")
                assert claimed.status_code == 200, claimed.text
                assert "You are reviewing story" in claimed.text

                # Through B, with the version B shows (the claim's): refused, and told who.
                for action in ("claim", "approve"):
                    refused = await m2.act(item_id, action)
                    assert refused.status_code == 409, (action, refused.text)
                    assert "is being reviewed by m1" in refused.text, action

                # M1's decision through B: the same session, the other replica.
                m1_on_b.cookies = m1_on_a.cookies
                m1_there = Dashboard(m1_on_b)
                m1_there.csrf = m1.csrf
                approved = await m1_there.act(item_id, "approve")
                assert approved.status_code == 200, approved.text
            item = await item_row(here, item_id)
            async with here.deps.db.transaction() as session:
                chain = await verify_chain(session)
                actors = list(
                    (
                        await session.execute(
                            select(col(ModerationEvent.actor))
                            .where(col(ModerationEvent.item_id) == item_id)
                            .order_by(col(ModerationEvent.id))
                        )
                    ).scalars()
                )
        finally:
            await here.deps.db.dispose()
    assert item.state in (StoryState.APPROVED, StoryState.PUBLISHED)
    assert chain.ok, chain
    assert not any("m2" in actor for actor in actors), actors
    assert any("m1" in actor for actor in actors), actors


async def test_a_reply_committed_on_one_replica_wakes_a_long_poll_on_the_other(
    tmp_path: Path,
) -> None:
    # B at DEBUG: its log says when a long poll has read nothing and waits.
    async with (
        database_url("postgresql", tmp_path) as url,
        replicas(tmp_path, url, [{}, {"LOG_LEVEL": "DEBUG"}]) as (a, b),
    ):
        await asyncio.gather(a.wait_for_log(LISTENING), b.wait_for_log(LISTENING))
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=BOUND) as on_a,
            httpx.AsyncClient(base_url=b.url, timeout=BOUND) as on_b,
        ):
            page = await on_a.get("/")
            found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
            assert found, page.text[:200]
            history = await on_a.get("/api/chat/history", params={"after": 0})
            last = max((m["id"] for m in history.json()["messages"]), default=0)
            on_b.cookies = on_a.cookies  # the same visitor, another tab, on B

            # B's poll waits up to POLL_SECONDS (25 s) for something new.
            poll = asyncio.create_task(on_b.get("/api/chat/poll", params={"after": last}))
            await b.wait_for_log(POLL_WAITING)
            said = await on_a.post(
                "/api/chat/message",
                json={"text": "/pledge", "client_id": "tab-1", "after": last},
                headers={"X-CSRF-Token": found.group(1)},
            )
            assert said.status_code == 200, said.text
            answer = await poll
    texts = [m["text"] for m in answer.json()["messages"]]
    # Only a wake reads again: a poll that waited out its 25 s answers with nothing.
    assert any("The TOGETHER pledge" in t for t in texts), texts


async def lock_holders(url: str) -> int:
    """Sessions holding the scheduler's advisory lock of ``url``'s database (pg_locks
    covers the whole server: other tests' databases have theirs)."""
    [[count]] = await read_all(
        url,
        text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid::bigint = :lock AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        ).bindparams(lock=SCHEDULER_LOCK_CLASS),
    )
    return int(count)


async def test_one_replica_runs_the_scheduled_jobs_and_the_other_takes_over(
    tmp_path: Path,
) -> None:
    env = {"SCHEDULER_LOCK_RETRY_SECONDS": "1"}
    async with (
        database_url("postgresql", tmp_path) as url,
        replicas(tmp_path, url, [env, env]) as bots,
    ):
        # Each replica's first election: one takes the lock, the other stands by.
        said = await asyncio.gather(*(bot.wait_for_log(TAKEN, STANDS_BY) for bot in bots))
        assert sorted(TAKEN in line for line in said) == [False, True], said
        holder, other = sorted(bots, key=lambda bot: bot.logged(TAKEN) == 0)
        assert await lock_holders(url) == 1

        holder.kill()
        await holder.dead()
        await other.wait_for_log(TAKEN, within=BOUND)  # the server let the dead one's go
        assert await lock_holders(url) == 1

        # The killed replica comes back and stands by: still one scheduler.
        seen = len(holder.log)
        await holder.start()
        await holder.wait_for_log(TAKEN, STANDS_BY, skip=seen)
        assert holder.logged(TAKEN) == 1 and holder.logged(STANDS_BY) == 1
        assert other.logged(TAKEN) == 1
        assert await lock_holders(url) == 1


async def test_two_replicas_polling_by_mistake_get_409_and_each_update_has_one_effect(
    tmp_path: Path,
) -> None:
    users = [5101, 5102, 5103]
    async with FakeTelegramApi() as api, database_url("postgresql", tmp_path) as url:
        # Telegram serves one getUpdates at a time: a poller is told 409 when another
        # asks. The first four asks get it (the first two of each process, as both
        # start at once).
        api.fail("getUpdates", 409, times=4, description=CONFLICT_409)
        async with replicas(tmp_path, url, [telegram_env(api)] * 2) as bots:
            # Each is told, says what to change, and polls again after a pause.
            await asyncio.gather(*(bot.wait_for_log(CONFLICT, within=BOUND) for bot in bots))

            def sent_to_all(marker: str) -> Callable[[], bool]:
                return lambda: all(any(marker in t for t in texts_sent(api, u)) for u in users)

            api.push(*(api.make.command(u, "start", "pledge") for u in users))
            await api.wait_until(
                lambda: all(button(api, u, "I take the pledge") for u in users), BOUND
            )
            taps = []
            for u in users:
                data, message_id = choice_data(api, u, "I take the pledge")
                taps.append(api.make.callback(u, data, message_id=message_id))
            api.push(*taps)
            await api.wait_until(sent_to_all(COUNTED), BOUND)
            await api.wait_idle(BOUND)  # confirmed: no poller gets them again
            assert all(bot.process is not None and bot.process.poll() is None for bot in bots)
        [pledges] = await read_all(url, select(func.count()).select_from(Pledge))
    assert pledges == [len(users)]
    for u in users:
        assert sum(COUNTED in t for t in texts_sent(api, u)) == 1, u
        assert sum("The TOGETHER pledge" in t for t in texts_sent(api, u)) == 1, u
