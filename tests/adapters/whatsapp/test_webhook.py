"""The webhook's checks: Meta's verification challenge, and every POST signed with the app
secret (missing -> 401, forged -> 403, both with no effect), capped, well formed; what
is not a person's message (statuses, reactions, another number's messages) is answered
200 with no effect. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.adapters.whatsapp.webhook import MAX_BODY_BYTES
from bot.core.admission import Admission
from storage.db import Database
from storage.models import Participant, ProcessedEvent
from tests.adapters.whatsapp.conftest import WEBHOOK, Phone
from tests.fakes.whatsapp_api import VERIFY_TOKEN, WhatsAppWebhooks

WA_ID = "15550123456"


async def count(db: Database, model: Any) -> int:
    async with db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def nothing_happened(phone: Phone, db: Database) -> bool:
    return (
        await count(db, Participant) == 0
        and await count(db, ProcessedEvent) == 0
        and phone.api.calls("messages") == []
    )


async def test_the_verification_challenge_is_echoed_to_the_right_token(phone: Phone) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    answer = await phone.http.get(WEBHOOK, params=params)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    for wrong in (
        {**params, "hub.verify_token": "guess"},
        {**params, "hub.verify_token": ""},
        {**params, "hub.mode": "unsubscribe"},
        {k: v for k, v in params.items() if k != "hub.verify_token"},
        {**params, "hub.challenge": ""},
    ):
        refused = await phone.http.get(WEBHOOK, params=wrong)
        assert refused.status_code == 403 and "1158201444" not in refused.text


async def test_a_signed_message_is_handled(phone: Phone, db: Database) -> None:
    answer = await phone.post(phone.hooks.text(WA_ID, "hello"))
    assert answer.status_code == 200
    assert await count(db, Participant) == 1
    assert [c.params["to"] for c in phone.api.calls("messages")] == [WA_ID]


async def test_a_missing_signature_is_401_and_has_no_effect(phone: Phone, db: Database) -> None:
    body, headers = phone.hooks.signed(phone.hooks.text(WA_ID, "hello"))
    del headers["X-Hub-Signature-256"]
    answer = await phone.http.post(WEBHOOK, content=body, headers=headers)
    assert answer.status_code == 401
    assert await nothing_happened(phone, db)


async def test_a_forged_signature_is_403_and_has_no_effect(phone: Phone, db: Database) -> None:
    payload = phone.hooks.text(WA_ID, "hello")
    forged = WhatsAppWebhooks(app_secret="not-the-app-secret")
    body, headers = forged.signed(payload)
    assert (await phone.http.post(WEBHOOK, content=body, headers=headers)).status_code == 403
    # The right signature of other bytes: the body was changed on the way.
    genuine, headers = phone.hooks.signed(payload)
    tampered = genuine.replace(b"hello", b"hellO")
    assert (await phone.http.post(WEBHOOK, content=tampered, headers=headers)).status_code == 403
    for bad in ("sha256=", "sha1=" + "0" * 40, headers["X-Hub-Signature-256"].upper()):
        answer = await phone.http.post(
            WEBHOOK, content=genuine, headers={**headers, "X-Hub-Signature-256": bad}
        )
        assert answer.status_code == 403
    assert await nothing_happened(phone, db)


async def test_a_body_past_the_cap_is_413(phone: Phone, db: Database) -> None:
    payload = phone.hooks.text(WA_ID, "x" * (MAX_BODY_BYTES + 1))
    body, headers = phone.hooks.signed(payload)
    assert (await phone.http.post(WEBHOOK, content=body, headers=headers)).status_code == 413
    assert await nothing_happened(phone, db)


async def test_signed_but_not_json_is_400_and_an_unknown_shape_is_dropped(
    phone: Phone, db: Database
) -> None:
    body = b"{not json"
    headers = {"X-Hub-Signature-256": phone.hooks.sign(body)}
    assert (await phone.http.post(WEBHOOK, content=body, headers=headers)).status_code == 400
    for shape in (
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account", "entry": "x"},
        [],
    ):
        body = json.dumps(shape).encode()
        headers = {"X-Hub-Signature-256": phone.hooks.sign(body)}
        answer = await phone.http.post(WEBHOOK, content=body, headers=headers)
        assert answer.status_code == 200  # a 4xx would only make Meta send it again
    assert await nothing_happened(phone, db)


async def test_statuses_reactions_and_other_numbers_have_no_effect(
    phone: Phone, db: Database
) -> None:
    other_number = WhatsAppWebhooks(phone_id="999999999")
    for payload in (
        phone.hooks.status(WA_ID, "wamid.OUT000001", "delivered"),
        phone.hooks.status(WA_ID, "wamid.OUT000001", "read"),
        phone.hooks.reaction(WA_ID, "wamid.OUT000001"),
        other_number.text(WA_ID, "hello"),
    ):
        body, headers = phone.hooks.signed(payload)  # signed by our app: only the id differs
        assert (await phone.http.post(WEBHOOK, content=body, headers=headers)).status_code == 200
    assert await nothing_happened(phone, db)


async def test_a_delivery_of_several_messages_handles_each_in_order(
    phone: Phone, db: Database
) -> None:
    first = phone.hooks.text(WA_ID, "hello")
    second = phone.hooks.text("15550999999", "hi", name="Kenji")
    value = first["entry"][0]["changes"][0]["value"]
    other = second["entry"][0]["changes"][0]["value"]
    value["messages"] += other["messages"]
    value["contacts"] += other["contacts"]
    assert (await phone.post(first)).status_code == 200
    assert await count(db, Participant) == 2
    assert sorted(c.params["to"] for c in phone.api.calls("messages")) == [
        "15550123456",
        "15550999999",
    ]


async def test_too_many_turns_in_flight_is_503_and_meta_s_redelivery_is_handled_once(
    phone: Phone, db: Database
) -> None:
    phone.bot.core.admission = Admission(1)
    person = phone.person(WA_ID)
    delivery = phone.hooks.text(WA_ID, "/pledge")
    async with phone.bot.core.admission.admit():  # the one place is taken
        refused = await phone.post(delivery)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert await nothing_happened(phone, db)
    assert await person.deliver(delivery)  # Meta delivers it again: the pledge
    assert await person.deliver(delivery) == []  # and only once


async def test_a_failed_turn_is_500_so_meta_redelivers_it(
    phone: Phone, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = phone.person(WA_ID)
    delivery = phone.hooks.text(WA_ID, "hello")
    route = phone.bot.core.router.route

    async def broken(turn: object) -> None:
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr(phone.bot.core.router, "route", broken)
    assert (await phone.post(delivery)).status_code == 500
    assert await count(db, ProcessedEvent) == 0  # rolled back with the turn
    monkeypatch.setattr(phone.bot.core.router, "route", route)
    assert await person.deliver(delivery)  # the redelivery is handled
