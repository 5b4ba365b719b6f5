"""A WhatsApp identity is a phone number: it is the participant's id and chat id (needed to
answer) and nothing else. No log record of a webhook turn holds it, at any level, even
with the libraries turned up (pywa logs every call's JSON at DEBUG)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.logs import LibraryPayloadFilter, quiet_libraries
from tests.adapters.whatsapp.conftest import Phone
from tests.media_samples import jpeg_with_gps

WA_ID = "15550123456"


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.addFilter(LibraryPayloadFilter())  # the production handler's guard

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logged() -> Iterator[Everything]:
    """Every record at DEBUG, through the production guard (as ``configure_logging``)."""
    root = logging.getLogger()
    handler = Everything()
    level = root.level
    root.setLevel(logging.DEBUG)
    quiet_libraries()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def text_of(record: logging.LogRecord) -> str:
    formatter = logging.Formatter()
    parts = [record.getMessage(), repr(record.__dict__)]
    if record.exc_info:
        parts.append(formatter.formatException(record.exc_info))
    return "\n".join(parts)


async def test_no_log_record_of_a_webhook_turn_holds_the_number(
    phone: Phone, logged: Everything
) -> None:
    person = phone.person(WA_ID)
    phone.api.add_media("77", jpeg_with_gps())
    message_ids = []
    for payload in (
        phone.hooks.text(WA_ID, "hello"),
        phone.hooks.media(WA_ID, "image", "77", "image/jpeg"),
        phone.hooks.location(WA_ID),
        phone.hooks.status(WA_ID, "wamid.OUT000001", "read"),
    ):
        value = payload["entry"][0]["changes"][0]["value"]
        message_ids += [m["id"] for m in value.get("messages", [])]
        await person.deliver(payload)
    await person.tap("Take the pledge")
    phone.api.fail("messages", 131026)  # an undeliverable reply is logged too
    await person.deliver(phone.hooks.text(WA_ID, "hello again"))
    redelivery = phone.hooks.text(WA_ID, "once", message_id=message_ids[0])
    await person.deliver(redelivery)
    assert logged.records  # the turns were logged (ids, reasons)
    for record in logged.records:
        text = text_of(record)
        assert WA_ID not in text, record.name
        assert not any(message_id in text for message_id in message_ids), record.name
