"""Delivery statuses (the webhook's ``statuses[]``) update the outbox row that sent the
message: ``delivered`` and ``read`` move its receipt forward only; ``failed`` with 131047
sends the notice round again as its template; 131026 marks the person unreachable;
another failure marks the row dead with its code. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from bot.adapters.whatsapp.parsing import Ignored, Status, event_key, parse_delivery
from bot.adapters.whatsapp.templates import TAP_PAYLOAD
from storage.db import Database
from storage.models import OutboxStatus, Participant
from tests.adapters.whatsapp.conftest import Phone
from tests.adapters.whatsapp.test_window import (
    PUBLISHED,
    WA_ID,
    Clock,
    notices,
    parked,
    person_who_wrote,
    queue_notice,
    row_of,
    send_due,
    templates,
)
from tests.fakes.whatsapp_api import PHONE_ID, WhatsAppWebhooks, template_of


def wamid(phone: Phone, words: str = PUBLISHED) -> str:
    [call] = notices(phone, words)
    assert call.result is not None
    return str(call.result["messages"][0]["id"])


async def sent_notice(phone: Phone, db: Database) -> int:
    await person_who_wrote(phone, Clock(), db)
    row = await queue_notice(phone, db)
    assert await send_due(phone) == 1
    assert (await row_of(db, row)).receipt == "sent"
    return row


def test_statuses_are_parsed_with_their_error_codes() -> None:
    hooks = WhatsAppWebhooks()
    [read] = parse_delivery(hooks.status(WA_ID, "wamid.A", "read"), PHONE_ID)
    assert isinstance(read, Status) and read.at is not None
    assert (read.key, read.status, read.error) == (event_key("wamid.A"), "read", None)
    [failed] = parse_delivery(hooks.status(WA_ID, "wamid.B", "failed", error=131047), PHONE_ID)
    assert isinstance(failed, Status) and (failed.status, failed.error) == ("failed", 131047)
    assert WA_ID not in repr(failed) and "wamid" not in repr(failed)
    [odd] = parse_delivery(hooks.status(WA_ID, "wamid.C", "warning"), PHONE_ID)
    assert isinstance(odd, Ignored)


async def test_delivered_and_read_move_the_receipt_forward_only(phone: Phone, db: Database) -> None:
    row = await sent_notice(phone, db)
    sent = wamid(phone)
    assert (await phone.post(phone.hooks.status(WA_ID, sent, "delivered"))).status_code == 200
    assert (await row_of(db, row)).receipt == "delivered"
    await phone.post(phone.hooks.status(WA_ID, sent, "read"))
    await phone.post(phone.hooks.status(WA_ID, sent, "delivered"))  # late, out of order
    stored = await row_of(db, row)
    assert (stored.receipt, stored.status) == ("read", OutboxStatus.SENT.value)


async def test_a_failed_131047_status_sends_the_template_then_the_notice_after_the_tap(
    phone: Phone, db: Database
) -> None:
    row = await sent_notice(phone, db)
    failed = phone.hooks.status(WA_ID, wamid(phone), "failed", error=131047)
    assert (await phone.post(failed)).status_code == 200
    assert (await row_of(db, row)).status == OutboxStatus.PENDING.value
    assert await send_due(phone) == 1
    [template] = templates(phone)
    assert template_of(template)["name"] == "together_story_update"
    assert await parked(db, row)
    await phone.post(failed)  # the status delivered again: nothing more
    assert await send_due(phone) == 0
    assert len(templates(phone)) == 1
    await phone.post(phone.hooks.quick_reply(WA_ID, TAP_PAYLOAD, "Open"))
    assert await send_due(phone) == 1
    assert len(notices(phone)) == 2  # the one that failed, and the one delivered
    assert (await row_of(db, row)).status == OutboxStatus.SENT.value


async def test_a_failed_131026_status_marks_the_person_unreachable(
    phone: Phone, db: Database
) -> None:
    row = await sent_notice(phone, db)
    await phone.post(phone.hooks.status(WA_ID, wamid(phone), "failed", error=131026))
    stored = await row_of(db, row)
    assert (stored.status, stored.last_error, stored.receipt) == (
        OutboxStatus.DEAD.value,
        "unreachable",
        "failed",
    )
    async with db.transaction() as session:
        person = (
            await session.execute(select(Participant).where(col(Participant.external_id) == WA_ID))
        ).scalar_one()
    assert person.reachable is False


async def test_another_failure_marks_the_row_dead_with_its_code(phone: Phone, db: Database) -> None:
    row = await sent_notice(phone, db)
    await phone.post(phone.hooks.status(WA_ID, wamid(phone), "failed", error=131009))
    stored = await row_of(db, row)
    assert (stored.status, stored.last_error) == (OutboxStatus.DEAD.value, "whatsapp error 131009")


async def test_a_status_of_an_unknown_message_changes_nothing(phone: Phone, db: Database) -> None:
    row = await sent_notice(phone, db)
    answer = await phone.post(phone.hooks.status(WA_ID, "wamid.ELSEWHERE", "failed", error=131026))
    assert answer.status_code == 200
    assert (await row_of(db, row)).status == OutboxStatus.SENT.value
