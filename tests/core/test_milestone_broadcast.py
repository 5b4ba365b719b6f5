"""A milestone's announcement: once per subscriber of that campaign, in batches that
resume after a crash with no gap and nothing twice, due at the broadcast's rate (that
continues after a resume), rendered in each reader's language and digits, and dropped
for someone who turned updates off meanwhile. Time is the job's ``now``."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from bot.adapters.memory import MemoryChat, MemorySender
from bot.announce import MilestoneBroadcast
from bot.app import Bot
from bot.handlers.updates import OFF
from bot.i18n.formatting import format_count
from storage import announcements, pledges
from storage.models import Milestone, OutboxMessage, OutboxStatus, Participant, Pledge, utcnow
from tests.races import Rendezvous, on_statement

RATE = 20.0  # BROADCAST_PER_SECOND's default
STEP = timedelta(seconds=1 / RATE)


async def person(
    bot: Bot,
    uid: str,
    *,
    updates: bool | None = True,
    campaigns: tuple[str, ...] = ("c1",),
    locale: str | None = None,
    reachable: bool = True,
    state: str = "confirmed",
) -> int:
    """A participant on the memory platform (``MemoryChat(user_id=uid)`` is them) who
    pledged ``campaigns``."""
    db = bot.deps.db
    identity = bot.deps.hasher.key("memory", uid)
    async with db.transaction() as session:
        participant = Participant(
            platform="memory",
            external_id=uid,
            chat_id=uid,
            identity_key=identity,
            locale=locale,
            updates=updates,
            reachable=reachable,
        )
        session.add(participant)
        await session.flush()
        assert participant.id is not None
        for campaign in campaigns:
            session.add(
                Pledge(
                    campaign_id=campaign,
                    identity_key=identity,
                    participant_id=participant.id,
                    state=state,
                )
            )
        return participant.id


async def reach(bot: Bot, campaign: str, threshold: int) -> None:
    async with bot.deps.db.transaction() as session:
        await session.execute(
            update(Milestone)
            .where(col(Milestone.campaign_id) == campaign, col(Milestone.threshold) == threshold)
            .values(reached_at=utcnow())
        )


async def queued(bot: Bot) -> list[OutboxMessage]:
    """Every announcement row, in the order they fall due."""
    async with bot.deps.db.transaction() as session:
        rows = (
            (
                await session.execute(
                    select(OutboxMessage).order_by(
                        col(OutboxMessage.next_attempt_at), col(OutboxMessage.id)
                    )
                )
            )
            .scalars()
            .all()
        )
    return [r for r in rows if announcements.KIND in r.payload]


async def milestone(bot: Bot, campaign: str, threshold: int) -> Milestone:
    async with bot.deps.db.transaction() as session:
        found = await session.get(Milestone, (campaign, threshold))
    assert found is not None
    return found


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(announcements, "BATCH", 3)
    return 3


async def test_a_milestone_crossed_by_concurrent_pledges_is_announced_once(bot: Bot) -> None:
    """Eight people pledge at once, the eighth pledge crossing 8; the sweep and three
    runners (as on three replicas) race to announce it, reading the pending milestones
    side by side: everyone subscribed gets exactly one row."""
    n = 8
    await pledges.ensure_campaign(bot.deps.db, "race", title={"en": "Race"}, milestones=(n,))
    chats = [MemoryChat(bot.core, user_id=f"r{i}") for i in range(n)]
    for i, chat in enumerate(chats):
        await chat.send("/updates on" if i % 4 else "/updates off")  # 2 of 8 said no
        await chat.send("/start pledge-race")
    await asyncio.gather(*(chat.tap("I take the pledge") for chat in chats))
    runners = [MilestoneBroadcast(bot.deps) for _ in range(3)]
    pending = Rendezvous(
        len(runners), lambda sql: "FROM milestone" in sql and "announced_at IS NULL" in sql
    )
    racing = on_statement(bot.deps.db, pending) if bot.deps.db.is_postgres else nullcontext()
    with racing:
        await bot.scheduler.sweep_pledges()  # a racing pledge may have missed it
        counts = await asyncio.gather(*(r.run() for r in runners))
    rows = await queued(bot)
    subscribers = {f"r{i}" for i in range(n) if i % 4}
    assert sorted(r.chat_id for r in rows) == sorted(subscribers)
    assert sum(counts) == len(subscribers)
    assert (await milestone(bot, "race", n)).announced_at is not None
    assert await MilestoneBroadcast(bot.deps).run() == 0  # and never again


async def test_only_that_campaigns_subscribers_get_it(bot: Bot) -> None:
    db = bot.deps.db
    await pledges.ensure_campaign(db, "c1", title={"en": "C1"}, milestones=(10,))
    await pledges.ensure_campaign(db, "c2", title={"en": "C2"}, milestones=(10,))
    yes = await person(bot, "yes")
    await person(bot, "no", updates=False)
    await person(bot, "never-asked", updates=None)
    await person(bot, "other-campaign", campaigns=("c2",))
    await person(bot, "withdrawn", state="withdrawn")
    await person(bot, "blocked", reachable=False)
    both = await person(bot, "both", campaigns=("c1", "c2"))
    await reach(bot, "c1", 10)
    assert await bot.scheduler.broadcast_milestones() == 2
    rows = await queued(bot)
    assert sorted(r.participant_id or 0 for r in rows) == sorted([yes, both])
    assert {r.dedupe_key for r in rows} == {f"milestone:c1:10:{yes}", f"milestone:c1:10:{both}"}
    assert all(r.payload == {"milestone": {"campaign": "c1", "threshold": 10}} for r in rows)


async def test_batches_resume_after_a_crash_with_no_gap_nor_duplicate(
    bot: Bot, small_batches: int
) -> None:
    """The second batch's transaction fails (a crash); the next run resumes after the
    first batch, and the rows keep falling due one step apart from the first."""
    db = bot.deps.db
    await pledges.ensure_campaign(db, "c1", milestones=(10,))
    ids = [await person(bot, f"p{i}") for i in range(8)]
    await reach(bot, "c1", 10)
    start = utcnow().replace(microsecond=0)
    inserts: list[str] = []

    def crash_on_second_batch(_conn: Any, sql: str) -> None:
        if sql.startswith("INSERT INTO outbox"):
            inserts.append(sql)
            if len(inserts) == small_batches + 1:  # the second batch's first row
                raise ConnectionError("the process died")

    with on_statement(db, crash_on_second_batch), pytest.raises(ConnectionError):
        await bot.scheduler.broadcast_milestones(now=start)
    assert [r.participant_id for r in await queued(bot)] == ids[:small_batches]
    assert (await milestone(bot, "c1", 10)).announce_cursor == ids[small_batches - 1]
    # Restarted a little later: the schedule continues, it does not start again.
    assert await bot.scheduler.broadcast_milestones(now=start + timedelta(seconds=0.01)) == 5
    rows = await queued(bot)
    assert [r.participant_id for r in rows] == ids  # each once, none missing, in order
    due = [_aware(r.next_attempt_at) for r in rows]
    assert due == [start + k * STEP for k in range(len(ids))]
    assert (await milestone(bot, "c1", 10)).announced_at is not None


async def test_a_lost_cursor_never_queues_anyone_twice(bot: Bot, small_batches: int) -> None:
    """The dedupe keys hold whatever becomes of the cursor: announced again from the
    start (its cursor and its end forgotten), nobody gets a second row."""
    db = bot.deps.db
    await pledges.ensure_campaign(db, "c1", milestones=(10,))
    ids = [await person(bot, f"p{i}") for i in range(5)]
    await reach(bot, "c1", 10)
    assert await bot.scheduler.broadcast_milestones() == 5
    async with db.transaction() as session:
        await session.execute(update(Milestone).values(announce_cursor=None, announced_at=None))
    assert await bot.scheduler.broadcast_milestones() == 0
    assert [r.participant_id for r in await queued(bot)] == ids


async def test_a_resumed_broadcast_far_behind_starts_now_at_the_rate(
    bot: Bot, small_batches: int
) -> None:
    """Resumed an hour after its last row fell due, the rest starts now (not in a burst
    of rows already past due), still one step apart; a second campaign's broadcast
    queued after it follows its last row, so the two together keep the rate."""
    db = bot.deps.db
    await pledges.ensure_campaign(db, "c1", milestones=(10,))
    await pledges.ensure_campaign(db, "c2", milestones=(5,))
    first = [await person(bot, f"a{i}") for i in range(3)]
    await reach(bot, "c1", 10)
    start = utcnow().replace(microsecond=0)
    await bot.scheduler.broadcast_milestones(now=start)
    for i in range(2):
        await person(bot, f"b{i}", campaigns=("c1", "c2"))
    async with db.transaction() as session:  # the last batch is still to be queued
        await session.execute(update(Milestone).values(announced_at=None))
    await reach(bot, "c2", 5)
    hour = start + timedelta(hours=1)
    assert await bot.scheduler.broadcast_milestones(now=hour) == 4
    rows = await queued(bot)
    due = {(r.payload["milestone"]["campaign"], r.participant_id): r for r in rows}
    assert [_aware(due["c1", p].next_attempt_at) for p in first] == [
        start + k * STEP for k in range(3)
    ]
    after = sorted(_aware(r.next_attempt_at) for r in rows if _aware(r.next_attempt_at) >= hour)
    assert after == [hour + k * STEP for k in range(4)]


async def test_rendered_in_each_readers_language_and_digits(
    bot: Bot, memory_sender: MemorySender
) -> None:
    db = bot.deps.db
    await pledges.ensure_campaign(
        db, "lyon", title={"en": "Lyon City Hall", "fr": "Mairie de Lyon"}, milestones=(1000,)
    )
    await person(bot, "amal", locale="ar", campaigns=("lyon", "together"))
    await person(bot, "jean", locale="fr", campaigns=("lyon",))
    await person(bot, "ann", locale="en", campaigns=("together",))
    await reach(bot, "lyon", 1000)
    await reach(bot, "together", 1000)
    await bot.scheduler.broadcast_milestones(now=utcnow() - timedelta(minutes=1))
    await bot.dispatcher.run_once()
    sent = memory_sender.sent
    assert sorted(sent) == ["amal", "ann", "jean"]
    assert [len(sent[c]) for c in ("amal", "ann", "jean")] == [2, 1, 1]
    arabic = [m for m in sent["amal"]]
    assert all("١٬٠٠٠" in m.text and "1,000" not in m.text for m in arabic)
    assert all(m.locale == "ar" for m in arabic)
    lyon_ar = next(m for m in arabic if "Lyon City Hall" in m.text)
    assert "\u2068Lyon City Hall\u2069" in lyon_ar.text  # isolated in right-to-left text
    (jean,) = sent["jean"]
    assert jean.locale == "fr" and "Mairie de Lyon" in jean.text
    assert format_count(1000, "fr") in jean.text and "1,000" not in jean.text
    (ann,) = sent["ann"]
    assert ann.text == (
        "🎉 1,000 people have now taken the TOGETHER pledge — thank you for being one of them!"
    )
    assert [c.id for c in ann.choices] == [OFF]  # no story published: nothing to read


async def test_updates_off_mid_broadcast_drops_their_row(
    bot: Bot, memory_sender: MemorySender
) -> None:
    db = bot.deps.db
    await pledges.ensure_campaign(db, "c1", milestones=(10,))
    await person(bot, "stays")
    await person(bot, "leaves")
    await person(bot, "blocks")
    await reach(bot, "c1", 10)
    await bot.scheduler.broadcast_milestones(now=utcnow() - timedelta(minutes=1))
    await MemoryChat(bot.core, user_id="leaves").send("/updates off")
    async with db.transaction() as session:
        await session.execute(
            update(Participant)
            .where(col(Participant.external_id) == "blocks")
            .values(reachable=False)
        )
    await bot.dispatcher.run_once()
    assert sorted(memory_sender.sent) == ["stays"]
    rows = {r.chat_id: r for r in await queued(bot)}
    assert rows["stays"].status == OutboxStatus.SENT.value
    # Not wanted any more: cancelled, not a failure an operator must look into.
    assert rows["leaves"].status == rows["blocks"].status == OutboxStatus.CANCELLED.value
    # The button under an announcement turns them off like the command.
    stays = MemoryChat(bot.core, user_id="stays")
    await stays.press(memory_sender.sent["stays"][0].choices[-1].id)
    assert "Milestone updates are off" in stays.text


async def test_a_lower_milestone_reached_with_a_higher_one_is_not_announced(bot: Bot) -> None:
    """Reached together (a milestone added below the count, or a count repaired), only
    the highest is announced: nobody hears of 100 right after 1,000."""
    db = bot.deps.db
    await pledges.ensure_campaign(db, "c1", milestones=(100, 1000))
    await person(bot, "one")
    await reach(bot, "c1", 100)
    await reach(bot, "c1", 1000)
    assert await bot.scheduler.broadcast_milestones() == 1
    (row,) = await queued(bot)
    assert row.payload["milestone"]["threshold"] == 1000
    assert (await milestone(bot, "c1", 100)).announced_at is not None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
