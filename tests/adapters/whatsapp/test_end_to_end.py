"""The whole bot through WhatsApp: the real app, the fake Graph API over real HTTP.

Signed webhook deliveries run the pledge flow through the dialog engine in English and
in Arabic (the pledge tap is a reply button; the menu a list); a redelivered message has
one effect; replies reach the person's wa_id. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from storage.db import Database
from storage.models import Participant, Pledge, ProcessedEvent
from tests.adapters.whatsapp.conftest import Phone
from tests.fakes.whatsapp_api import interactive_of

WA_ID = "15550123456"


async def count(db: Database, model: Any) -> int:
    async with db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_the_pledge_in_english(phone: Phone, db: Database) -> None:
    amina = phone.person(WA_ID)
    await amina.send("hello")
    assert "What would you like to do?" in amina.text
    menu = amina.last[-1]
    assert interactive_of(menu)["type"] == "list"  # eight choices: a list
    await amina.tap("Take the pledge")
    assert "I stand #WithRefugees" in amina.text
    pledge_call, _title, _id = amina.option("I take the pledge")
    assert interactive_of(pledge_call)["type"] == "button"
    await amina.tap("I take the pledge")
    assert "Your pledge is counted" in amina.text
    await amina.send("Amina")
    await amina.send("Japan")
    assert "1 person has taken the pledge." in amina.text
    async with db.transaction() as session:
        pledge = (await session.execute(select(Pledge))).scalar_one()
        person = (await session.execute(select(Participant))).scalar_one()
    assert (pledge.display_name, pledge.country, pledge.state) == ("Amina", "JP", "confirmed")
    assert (person.platform, person.external_id, person.chat_id) == ("whatsapp", WA_ID, WA_ID)


async def test_the_pledge_in_arabic(phone: Phone, db: Database) -> None:
    amina = phone.person(WA_ID)
    await amina.send("مرحبا")
    await amina.tap("Language")
    await amina.tap("العربية")
    assert all(call.params["to"] == WA_ID for call in amina.last)
    menu = amina.last[-1]
    assert interactive_of(menu)["type"] == "list"
    pledge_row = next(
        row["title"]
        for section in interactive_of(menu)["action"]["sections"]
        for row in section["rows"]
        if row["id"].startswith("menu:pledge")
    )
    await amina.tap(pledge_row)
    pledge_call = next(c for c in amina.last if interactive_of(c).get("type") == "button")
    buttons = interactive_of(pledge_call)["action"]["buttons"]
    take = next(b["reply"] for b in buttons if b["reply"]["id"].startswith("c:pledge"))
    await amina.deliver(phone.hooks.button_reply(WA_ID, take["id"], take["title"]))
    await amina.send("أمينة")
    await amina.send("اليابان")
    async with db.transaction() as session:
        pledge = (await session.execute(select(Pledge))).scalar_one()
    assert (pledge.display_name, pledge.country, pledge.state) == ("أمينة", "JP", "confirmed")


async def test_a_redelivered_message_has_one_effect(phone: Phone, db: Database) -> None:
    amina = phone.person(WA_ID)
    delivery = phone.hooks.text(WA_ID, "hello")
    first = await amina.deliver(delivery)
    again = await amina.deliver(delivery)  # Meta redelivers: same message id
    assert len(first) == 1 and again == []
    assert await count(db, ProcessedEvent) == 1
    assert await count(db, Participant) == 1
