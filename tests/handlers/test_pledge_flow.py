"""The pledge flow: one tap, exact counts, never twice, withdraw and re-pledge."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.adapters.memory import MemoryChat
from bot.app import Bot
from storage import pledges
from storage.models import Pledge


async def test_pledge_in_one_tap_with_optional_name_and_country(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="supporter")
    await chat.send("/start pledge")
    assert "I stand #WithRefugees" in chat.text
    await chat.tap("I take the pledge")
    assert "Your pledge is counted" in chat.text
    await chat.send("Kenji")
    assert "Where are you pledging from" in chat.text
    await chat.send("Japan")
    assert "1 person has taken the pledge." in chat.text
    share = [c for m in chat.last for c in m.choices if c.url]
    assert share and share[0].url.endswith("/?start=pledge")
    async with bot.deps.db.transaction() as session:
        pledge = (await session.execute(select(Pledge))).scalar_one()
    assert (pledge.display_name, pledge.country, pledge.state) == ("Kenji", "JP", "confirmed")


async def test_second_pledge_is_warm_and_not_counted(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="twice")
    await chat.send("/pledge")
    await chat.tap("I take the pledge")
    await chat.send("/skip")
    await chat.send("/skip")
    assert "1 person" in chat.text
    await chat.send("/pledge")
    await chat.tap("I take the pledge")
    assert "You already took the pledge on" in chat.text
    assert "1 person has taken the pledge." in chat.text
    await chat.send("/unpledge")
    assert "withdrawn" in chat.text
    await chat.send("/unpledge")
    assert "nothing to withdraw" in chat.text
    await chat.send("/pledge")
    await chat.tap("I take the pledge")
    assert "Your pledge is counted" in chat.text
    async with bot.deps.db.transaction() as session:
        assert await pledges.pledge_total(session, "together") == 1


async def test_counts_use_the_locale_number_format(bot: Bot) -> None:
    async with bot.deps.db.transaction() as session:
        await session.execute(
            bot.deps.db.insert(__import__("storage.models").models.PledgeCounter)
            .values(campaign_id="together", shard=0, count=12344)
            .on_conflict_do_update(index_elements=["campaign_id", "shard"], set_={"count": 12344})
        )
    chat = MemoryChat(bot.core, user_id="counter")
    await chat.send("/pledge")
    await chat.tap("I take the pledge")
    await chat.send("/skip")
    await chat.send("/skip")
    assert "12,345 people have taken the pledge." in chat.text


async def test_partner_campaign_deep_link(bot: Bot) -> None:
    await pledges.ensure_campaign(
        bot.deps.db,
        "osaka-welcome",
        title={"en": "Osaka welcomes"},
        pledge_text={"en": "Osaka welcomes refugees.", "ja": "大阪は難民を歓迎します。"},
        milestones=(1,),
    )
    chat = MemoryChat(bot.core, user_id="partner")
    await chat.send("/start pledge-osaka-welcome")
    assert "Osaka welcomes refugees." in chat.text
    await chat.tap("I take the pledge")
    await chat.send("/skip")
    await chat.send("/skip")
    share = [c.url for m in chat.last for c in m.choices if c.url]
    assert share[0].endswith("start=pledge-osaka-welcome")
    async with bot.deps.db.transaction() as session:
        assert await pledges.pledge_total(session, "osaka-welcome") == 1
        assert await pledges.pledge_total(session, "together") == 0
    unknown = MemoryChat(bot.core, user_id="lost")
    await unknown.send("/start pledge-nope")
    assert "no longer open" in unknown.text and "I stand #WithRefugees" in unknown.text


async def test_concurrent_pledges_give_the_exact_count(bot: Bot) -> None:
    """Many people, several taps each, all at once: each person counts once."""
    people = [MemoryChat(bot.core, user_id=f"p{i}") for i in range(25)]
    await asyncio.gather(*(p.send("/pledge") for p in people))

    async def tap_three_times(chat: MemoryChat) -> None:
        await asyncio.gather(*(chat.press("c:pledge") for _ in range(3)))

    await asyncio.gather(*(tap_three_times(p) for p in people))
    async with bot.deps.db.transaction() as session:
        assert await pledges.pledge_total(session, "together") == 25
        rows = (await session.execute(select(Pledge))).scalars().all()
    assert len(rows) == 25
    assert await pledges.reconcile(bot.deps.db, "together") == 0
