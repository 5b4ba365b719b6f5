"""Erasure on WhatsApp forgets the phone number: once the erasure's confirmation has been
sent, no column of any table holds the number or any run of 7 of its digits (the
participant, the outbox rows, the confirmation's own row included, the dedupe keys, the
audit, the files' names), and the number writing again is someone new."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from bot.app import Bot
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus, Participant
from tests.adapters.whatsapp.conftest import Person, Phone
from tests.adapters.whatsapp.test_window import stop_background_outbox
from tests.media_samples import jpeg_with_gps
from tests.moderation.test_erasure import _text_columns

WA_ID = "15550123456"


def runs_of(number: str, shortest: int = 7) -> set[str]:
    """The number and every run of at least ``shortest`` of its digits."""
    return {
        number[start:end]
        for start in range(len(number))
        for end in range(start + shortest, len(number) + 1)
    }


def files_named_with(root: Path, needles: set[str]) -> list[str]:
    if not root.is_dir():
        return []
    return [f"file:{p.name}" for p in root.rglob("*") if any(n in p.name for n in needles)]


async def holding_the_number(db: Database, media_dir: Path, number: str) -> list[str]:
    """Where the number (or a long enough part of it) is: ``table.column`` or ``file:``."""
    needles = runs_of(number)
    found = []
    for table, column, value in await _text_columns(db):
        if value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if any(needle in text for needle in needles):
            found.append(f"{table}.{column}")
    found += files_named_with(media_dir, needles)
    return sorted(set(found))


async def tell_and_pledge(phone: Phone, person: Person) -> None:
    """A story with a photo, then the pledge."""
    await person.send("/start story")
    await person.tap("My own story")
    await person.tap("I agree")
    await person.tap("Yes, I am 18")
    await person.tap("first name")
    await person.send("Amina")
    await person.send("Syria")
    await person.send("Japan")
    await person.send("I left Aleppo in 2015 with my mother and two brothers.")
    phone.api.add_media("7001", jpeg_with_gps())
    await person.deliver(phone.hooks.media(person.wa_id, "image", "7001", "image/jpeg"))
    await person.tap("I'm done")
    await person.send("Thank you for welcoming us.")
    await person.tap("Submit my story")
    assert "Thank you for trusting us" in person.text
    await person.send("/pledge")
    await person.tap("I take the pledge")
    await person.send("Amina")
    await person.send("Japan")
    assert "taken the pledge" in person.text


async def tell_pledge_and_erase(phone: Phone, person: Person) -> None:
    """A story with a photo, the pledge, then "Erase all my data"."""
    await tell_and_pledge(phone, person)
    await person.send("/privacy")
    await person.tap("Erase all my data")
    await person.tap("Yes, erase")


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list((await session.execute(select(OutboxMessage))).scalars().all())


async def drain(bot: Bot) -> None:
    while await bot.dispatcher.run_once():
        pass


async def test_after_the_confirmation_no_table_holds_the_number(phone: Phone, db: Database) -> None:
    media_dir = phone.bot.deps.media_dir
    await stop_background_outbox(phone)  # the test runs the outbox: it knows when
    amina = phone.person(WA_ID)
    await tell_pledge_and_erase(phone, amina)
    assert "Your data has been erased" in amina.text
    assert all(call.params["to"] == WA_ID for call in amina.last)
    await drain(phone.bot)  # takedowns, cards: whatever the erasure queued
    assert await holding_the_number(db, media_dir, WA_ID) == []
    confirmation = [row for row in await outbox_rows(db) if row.status == OutboxStatus.SENT.value]
    assert confirmation  # the replies were sent, and kept (without the number)

    # The same number writes again: someone new, greeted in the default language.
    before = {p.id for p in await participants(db)}
    await amina.send("hello")
    assert "What would you like to do?" in amina.text
    after = await participants(db)
    new = [p for p in after if p.id not in before]
    assert len(new) == 1
    assert (new[0].external_id, new[0].chat_id, new[0].locale) == (WA_ID, WA_ID, None)
    assert new[0].consent_version is None and new[0].display_name == "Amina"


async def participants(db: Database) -> list[Participant]:
    async with db.transaction() as session:
        return list((await session.execute(select(Participant))).scalars().all())


async def test_a_scan_sees_the_number_before_the_erasure(phone: Phone, db: Database) -> None:
    """The scan above is not blind: before erasure it finds the number where it is kept."""
    await stop_background_outbox(phone)  # the test runs the outbox: it knows when
    amina = phone.person(WA_ID)
    await amina.send("hello")
    found = await holding_the_number(db, phone.bot.deps.media_dir, WA_ID)
    assert {"participant.external_id", "participant.chat_id", "outbox.chat_id"} <= set(found)


async def test_a_confirmation_the_outbox_retried_forgets_the_number_once_sent(
    phone: Phone, db: Database
) -> None:
    """Graph down at the moment of the confirmation: the outbox sends it later, and the
    row then forgets the number."""
    await stop_background_outbox(phone)  # the test runs the outbox: it knows when
    amina = phone.person(WA_ID)
    await amina.send("hello")
    await amina.send("/privacy")
    await amina.tap("Erase all my data")
    phone.api.fail("messages", status=503, times=1)
    assert await amina.tap("Yes, erase") == []
    pending = [r for r in await outbox_rows(db) if r.status == OutboxStatus.PENDING.value]
    assert [r.chat_id for r in pending] == [WA_ID]  # it still needs the number
    await drain_now(phone.bot, db)
    assert "Your data has been erased" in "\n".join(
        str(c.params.get("text", {}).get("body", "")) for c in phone.api.sent_to(WA_ID)
    )
    assert await holding_the_number(db, phone.bot.deps.media_dir, WA_ID) == []


async def drain_now(bot: Bot, db: Database) -> None:
    """Make the released rows due now and run the dispatcher until nothing is left."""
    async with db.transaction() as session:
        for row in (await session.execute(select(OutboxMessage))).scalars().all():
            if row.status == OutboxStatus.PENDING.value:
                row.next_attempt_at = row.created_at
                row.locked_until = None
    await drain(bot)


async def test_a_confirmation_given_up_on_forgets_the_number_at_the_hourly_purge(
    phone: Phone, db: Database
) -> None:
    """A confirmation the outbox gave up on (the number blocked the bot since) keeps
    the number only until the scheduler's next purge."""
    await stop_background_outbox(phone)  # the test runs the outbox: it knows when
    amina = phone.person(WA_ID)
    await amina.send("hello")
    await amina.send("/privacy")
    await amina.tap("Erase all my data")
    phone.api.fail("messages", status=503, times=1)
    await amina.tap("Yes, erase")
    phone.api.fail("messages", 131026, times=5)
    await drain_now(phone.bot, db)
    dead = [r for r in await outbox_rows(db) if r.status == OutboxStatus.DEAD.value]
    assert dead and all(r.chat_id == WA_ID for r in dead)
    await phone.bot.scheduler.purge()
    assert await holding_the_number(db, phone.bot.deps.media_dir, WA_ID) == []
