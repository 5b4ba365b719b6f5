"""WhatsApp's 24-hour window, through the whole bot and the fake Graph API.

A notice inside the window goes as it is; outside it goes as its template (the person's
language, a story number as its parameter) while the notice waits; the person's tap on
the template's button brings the full notice, once; a 131047 answer to a free-form send
gets the template; one template a day; a notice nobody answers is dropped, never sent as
a template twice. The clock of the window and of the person's phone move together
(:func:`later`). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from bot.adapters.whatsapp.templates import TAP_PAYLOAD
from bot.adapters.whatsapp.window import Window
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus, Participant, utcnow
from storage.window import PARKED, park
from tests.adapters.whatsapp.conftest import Person, Phone
from tests.fakes.whatsapp_api import Call, template_of, text_of

WA_ID = "15550123456"
PUBLISHED = "your story #7 is published"
PUBLISHED_AR = "نُشرت قصتك رقم 7"


class Clock:
    """Now, moved on by tests."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.shift


def window_of(phone: Phone) -> Window:
    window = phone.adapter.sender.window
    assert window is not None
    return window


def later(phone: Phone, clock: Clock, hours: float) -> None:
    """Time passes for the bot and for the person's phone (the messages' timestamps)."""
    clock.shift += timedelta(hours=hours)
    phone.hooks._clock = itertools.count(int(clock().timestamp()))


def answered_after_the_refusal(phone: Phone, clock: Clock) -> None:
    """The person's next message is stamped after the refusal it answers, as Meta stamps
    it (the second it was sent); the fake's stamps otherwise count on, a second a
    message, from when it was made, which a slow run can leave behind the refusal."""
    phone.hooks._clock = itertools.count(int(clock().timestamp()) + 1)


async def stop_background_outbox(phone: Phone) -> None:
    """The test sends what is due itself (:func:`send_due`), so it knows when it is done."""
    phone.bot.dispatcher.stop()
    for task in phone.bot.tasks:
        if task.get_name() == "outbox":
            await task


async def send_due(phone: Phone) -> int:
    return await phone.bot.dispatcher.run_once()


async def person_who_wrote(phone: Phone, clock: Clock, db: Database, locale: str = "en") -> Person:
    await stop_background_outbox(phone)
    window_of(phone).clock = clock
    person = phone.person(WA_ID)
    await person.send("hello")
    async with db.transaction() as session:
        await session.execute(
            update(Participant).where(col(Participant.external_id) == WA_ID).values(locale=locale)
        )
    return person


async def queue_notice(phone: Phone, db: Database, story_id: int = 7, key: str = "n1") -> int:
    async with db.transaction() as session:
        participant = (
            await session.execute(select(Participant).where(col(Participant.external_id) == WA_ID))
        ).scalar_one()
        row = await outbox.enqueue(
            session,
            dedupe_key=f"notify:{key}",
            platform="whatsapp",
            chat_id=WA_ID,
            participant_id=participant.id,
            payload={"notification": {"kind": "published", "story_id": story_id, "reason": None}},
        )
    assert row is not None
    return row


async def row_of(db: Database, row_id: int) -> OutboxMessage:
    async with db.transaction() as session:
        row = await session.get(OutboxMessage, row_id)
        assert row is not None
        return row


def templates(phone: Phone) -> list[Call]:
    return [c for c in phone.api.sent_to(WA_ID) if c.params.get("type") == "template"]


def notices(phone: Phone, words: str = PUBLISHED) -> list[Call]:
    return [c for c in phone.api.sent_to(WA_ID) if words in text_of(c)]


async def parked(db: Database, row_id: int) -> bool:
    row = await row_of(db, row_id)
    return row.status == OutboxStatus.PENDING.value and row.last_error == PARKED


async def test_a_notice_inside_the_window_goes_as_it_is(phone: Phone, db: Database) -> None:
    clock = Clock()
    await person_who_wrote(phone, clock, db)
    later(phone, clock, 23)
    row = await queue_notice(phone, db)
    await send_due(phone)
    assert templates(phone) == []
    assert (await row_of(db, row)).message_key is not None  # for its statuses


async def test_outside_the_window_the_template_goes_and_a_tap_brings_the_notice_once(
    phone: Phone, db: Database
) -> None:
    clock = Clock()
    amina = await person_who_wrote(phone, clock, db, locale="ar")
    later(phone, clock, 48)  # approved two days later
    row = await queue_notice(phone, db)
    assert await send_due(phone) == 1
    assert await parked(db, row)
    [template] = templates(phone)
    assert template_of(template) == {
        "name": "together_story_update",
        "language": "ar",
        "body": ["7"],
        "payloads": [TAP_PAYLOAD],
    }
    assert notices(phone, PUBLISHED_AR) == []  # the notice itself waits
    assert await parked(db, row)

    first = phone.hooks.quick_reply(WA_ID, TAP_PAYLOAD, "فتح", message_id="wamid.TAP1")
    await amina.deliver(first)
    assert amina.last == []  # the tap itself is not answered: the notice is the answer
    assert await send_due(phone) == 1
    assert (await row_of(db, row)).status == OutboxStatus.SENT.value
    # Meta delivers that tap again: it was handled (by the notice), so no menu either.
    await amina.deliver(first)
    assert amina.last == []
    # Tapping again, and the tap delivered again: nothing more is sent.
    tap = phone.hooks.quick_reply(WA_ID, TAP_PAYLOAD, "فتح", message_id="wamid.TAP2")
    await amina.deliver(tap)
    await amina.deliver(tap)
    assert await send_due(phone) == 0
    assert len(notices(phone, PUBLISHED_AR)) == 1
    assert len(templates(phone)) == 1


async def test_a_message_typed_instead_of_the_tap_also_brings_the_notice(
    phone: Phone, db: Database
) -> None:
    clock = Clock()
    amina = await person_who_wrote(phone, clock, db)
    later(phone, clock, 30)
    row = await queue_notice(phone, db)
    assert await send_due(phone) == 1
    assert await parked(db, row)
    await amina.send("hi again")  # answered by the bot as usual
    await send_due(phone)
    assert len(notices(phone)) == 1
    assert (await row_of(db, row)).status == OutboxStatus.SENT.value


async def test_a_131047_answer_to_a_free_form_send_gets_the_template(
    phone: Phone, db: Database
) -> None:
    clock = Clock()
    amina = await person_who_wrote(phone, clock, db)
    phone.api.fail("messages", 131047)  # the window closed by WhatsApp's clock
    row = await queue_notice(phone, db)
    assert await send_due(phone) == 1
    assert await parked(db, row)
    refused = [c for c in phone.api.calls(ok_only=False) if c.error == 131047]
    assert len(refused) == 1 and PUBLISHED in text_of(refused[0])
    assert notices(phone) == []
    assert [template_of(c)["name"] for c in templates(phone)] == ["together_story_update"]
    # Still inside the window by our clock: the notice waits for the person all the same.
    assert await parked(db, row)
    answered_after_the_refusal(phone, clock)
    await amina.deliver(phone.hooks.quick_reply(WA_ID, TAP_PAYLOAD, "Open"))
    await send_due(phone)
    assert len(notices(phone)) == 1


async def test_one_template_a_day_and_every_notice_follows_the_tap(
    phone: Phone, db: Database
) -> None:
    clock = Clock()
    amina = await person_who_wrote(phone, clock, db)
    later(phone, clock, 30)
    first = await queue_notice(phone, db, story_id=7, key="a")
    assert await send_due(phone) == 1
    second = await queue_notice(phone, db, story_id=8, key="b")
    assert await send_due(phone) == 1
    assert await parked(db, first) and await parked(db, second)
    assert len(templates(phone)) == 1  # the second waits beside the first, no template
    await amina.deliver(phone.hooks.quick_reply(WA_ID, TAP_PAYLOAD, "Open"))
    assert await send_due(phone) == 2
    assert len(notices(phone, "#7")) == len(notices(phone, "#8")) == 1


async def test_a_notice_nobody_answers_is_dropped_without_a_second_template(
    phone: Phone, db: Database
) -> None:
    clock = Clock()
    await person_who_wrote(phone, clock, db)
    later(phone, clock, 30)
    row = await queue_notice(phone, db)
    assert await send_due(phone) == 1
    assert await parked(db, row)
    later(phone, clock, 24 * 30)
    async with db.transaction() as session:  # its wait is over
        await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == row)
            .values(next_attempt_at=utcnow())
        )
    assert await send_due(phone) == 1
    dead = await row_of(db, row)
    assert dead.status == OutboxStatus.DEAD.value and "NoAnswer" in (dead.last_error or "")
    assert len(templates(phone)) == 1
    assert notices(phone) == []


async def test_a_message_while_the_notice_is_being_parked_makes_it_due_at_once(
    phone: Phone, db: Database
) -> None:
    """The person writes between the sender's look at the window and the parking: the
    parking sees a message later than the one the sender saw."""
    clock = Clock()
    await person_who_wrote(phone, clock, db)
    row = await queue_notice(phone, db)
    await send_due(phone)
    person = await participant_id(db)
    contact = await window_of(phone).contact(person)
    assert contact is not None and contact.last_inbound_at is not None
    seen = contact.last_inbound_at - timedelta(hours=30)
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == row)
            .values(status=OutboxStatus.PENDING.value, next_attempt_at=utcnow())
        )
    waits = await park(db, row, person, seen=seen, wait=timedelta(days=30), payload={"x": 1})
    assert not waits
    assert (await row_of(db, row)).last_error is None
    assert await park(
        db, row, person, seen=contact.last_inbound_at, wait=timedelta(days=30), payload={"x": 1}
    )
    assert await parked(db, row)


async def participant_id(db: Database) -> int:
    async with db.transaction() as session:
        found: Any = (
            await session.execute(
                select(col(Participant.id)).where(col(Participant.external_id) == WA_ID)
            )
        ).scalar_one()
    return int(found)
