"""The moderators' SLA alerts and daily digest: each once per chat (per item and state,
per day), past the right threshold, with nothing personal in them. Time is moved by the
jobs' ``now``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from bot.app import Bot
from bot.review.digest import ModeratorNotices
from moderation.decisions import escalate
from storage.models import ModerationEvent, ModerationItem, OutboxMessage, utcnow
from tests.moderation.test_support import (
    CRISIS,
    MODERATOR,
    STORY_TEXT,
    in_tx,
    item_id,
    submit_story,
)

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
CHATS = {("telegram", "-100777"), ("slack", "CMODS")}
# What the submitted stories hold of their storyteller (tests.moderation.test_support).
PERSONAL = (STORY_TEXT, "Amal", "amal_tg", "Welcome others", "user-", "chat-")


def notices(bot: Bot, **settings: Any) -> ModeratorNotices:
    """The notices of a bot with both moderators' chats configured."""
    configured = bot.deps.settings.model_copy(
        update={
            "telegram_bot_token": "123:abc",
            "telegram_moderation_chat_id": "-100777",
            "slack_bot_token": "xoxb-1",
            "slack_moderation_channel": "CMODS",
            **settings,
        }
    )
    return ModeratorNotices(replace(bot.deps, settings=configured))


async def queued(bot: Bot, prefix: str) -> list[OutboxMessage]:
    async with bot.deps.db.transaction() as session:
        rows = await session.execute(
            select(OutboxMessage)
            .where(col(OutboxMessage.dedupe_key).startswith(prefix))
            .order_by(col(OutboxMessage.id))
        )
        return list(rows.scalars().all())


def texts(rows: list[OutboxMessage]) -> list[str]:
    return [str(row.payload["message"]["text"]) for row in rows]


def nothing_personal(rows: list[OutboxMessage]) -> None:
    for row in rows:
        payload = repr(row.payload)
        for secret in PERSONAL:
            assert secret not in payload


async def test_an_item_past_the_review_sla_is_alerted_once_in_each_chat(bot: Bot) -> None:
    item, _story = await submit_story(bot.deps.db)  # waiting for review
    t0 = utcnow()
    jobs = notices(bot, public_url="https://together.example")

    assert await jobs.alert_sla(t0 + 47 * HOUR) == 0  # below the threshold
    assert await queued(bot, "sla:") == []
    assert await jobs.alert_sla(t0 + 48 * HOUR + MINUTE) == 2
    assert await jobs.alert_sla(t0 + 48 * HOUR + 6 * MINUTE) == 0  # once
    assert await jobs.alert_sla(t0 + 72 * HOUR) == 0

    rows = await queued(bot, "sla:")
    assert {(row.platform, row.chat_id) for row in rows} == CHATS
    for text in texts(rows):
        assert f"#{item_id(item)}" in text
        assert "Waiting for review" in text
        assert "2 days" in text
        assert f"https://together.example/moderation/items/{item_id(item)}" in text
    nothing_personal(rows)


async def test_safety_review_is_alerted_after_an_hour(bot: Bot) -> None:
    safety, _ = await submit_story(bot.deps.db, screening=CRISIS)
    await submit_story(bot.deps.db)  # waiting for review: 48 hours
    t0 = utcnow()
    jobs = notices(bot)

    assert await jobs.alert_sla(t0 + 59 * MINUTE) == 0
    assert await jobs.alert_sla(t0 + 61 * MINUTE) == 2
    assert await jobs.alert_sla(t0 + 2 * HOUR) == 0
    rows = await queued(bot, "sla:")
    assert [row.dedupe_key.split(":")[1:3] for row in rows] == [
        [str(item_id(safety)), "SAFETY_REVIEW"]
    ] * 2
    for text in texts(rows):
        assert "Safety review" in text and "61 minutes" in text
        assert "/moderation/items/" not in text  # PUBLIC_URL unset: no link
    nothing_personal(rows)


async def test_the_wait_counts_from_entering_the_state(bot: Bot) -> None:
    item, _story = await submit_story(bot.deps.db)
    three_days_ago = utcnow() - 72 * HOUR
    async with bot.deps.db.transaction() as session:  # received three days ago
        await session.execute(
            update(ModerationItem)
            .where(col(ModerationItem.id) == item_id(item))
            .values(created_at=three_days_ago)
        )
        await session.execute(
            update(ModerationEvent)
            .where(col(ModerationEvent.item_id) == item_id(item))
            .values(created_at=three_days_ago)
        )
    await in_tx(
        bot.deps.db,
        lambda s: escalate(s, item_id=item_id(item), version=item.version, moderator=MODERATOR),
    )
    t0 = utcnow()
    jobs = notices(bot)
    assert await jobs.alert_sla(t0 + 30 * MINUTE) == 0  # in safety review for 30 minutes
    assert await jobs.alert_sla(t0 + 61 * MINUTE) == 2
    assert {row.dedupe_key.split(":")[2] for row in await queued(bot, "sla:")} == {"SAFETY_REVIEW"}


async def test_thresholds_are_configurable(bot: Bot) -> None:
    await submit_story(bot.deps.db)
    t0 = utcnow()
    jobs = notices(bot, sla_review_hours=2)
    assert await jobs.alert_sla(t0 + 119 * MINUTE) == 0
    assert await jobs.alert_sla(t0 + 121 * MINUTE) == 2


async def test_without_a_moderators_chat_nothing_is_queued(bot: Bot) -> None:
    await submit_story(bot.deps.db)
    t0 = utcnow()
    assert await bot.scheduler.moderators.alert_sla(t0 + 49 * HOUR) == 0
    assert await bot.scheduler.moderators.send_digest(t0 + 49 * HOUR) == 0
    assert await queued(bot, "sla:") == await queued(bot, "digest:") == []


async def test_the_digest_counts_the_queue_once_a_day_from_its_hour(bot: Bot) -> None:
    await submit_story(bot.deps.db)
    await submit_story(bot.deps.db)
    await submit_story(bot.deps.db, screening=CRISIS)
    tomorrow = utcnow().date() + timedelta(days=1)
    jobs = notices(bot, digest_hour_utc=9)

    def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
        return datetime.combine(tomorrow + timedelta(days=days), time(hour, minute), tzinfo=UTC)

    assert await jobs.send_digest(at(8, 59)) == 0  # before its hour
    assert await jobs.send_digest(at(9, 0)) == 2
    assert await jobs.send_digest(at(9, 15)) == 0  # once a day
    assert await jobs.send_digest(at(23, 59)) == 0
    assert await jobs.send_digest(at(9, 0, days=1)) == 2  # the next day

    rows = await queued(bot, "digest:")
    assert len(rows) == 4
    assert {(row.platform, row.chat_id) for row in rows} == CHATS
    text = texts(rows)[0]
    assert "Waiting for review: 2" in text
    assert "Safety review: 1" in text
    assert "English: 3" in text
    assert "The longest wait: " in text and " hours." in text  # 9 to 33 hours
    nothing_personal(rows)


async def test_the_digest_is_in_the_moderation_locale(bot: Bot) -> None:
    await submit_story(bot.deps.db)
    jobs = notices(bot, moderation_locale="ar")
    moment = datetime.combine(utcnow().date() + timedelta(days=1), time(10), tzinfo=UTC)
    assert await jobs.send_digest(moment) == 2
    [row, *_] = await queued(bot, "digest:")
    assert row.payload["message"]["locale"] == "ar"
    assert "١" in row.payload["message"]["text"]  # the count in Arabic digits
