"""The sender against the fake Graph API: WhatsApp's error codes become the delivery errors
the outbox reacts to; a message of several parts is not sent twice in part after a
failure in the middle; a person who cannot be reached is marked so."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.core.delivery import (
    DeliveryError,
    OutsideWindow,
    PermanentError,
    RetryAfter,
    TransientError,
    Unreachable,
)
from bot.core.events import Choice, MediaKind, MediaRef, Outgoing
from storage.db import Database
from storage.models import Participant
from tests.adapters.whatsapp.conftest import Phone
from tests.fakes.whatsapp_api import text_of
from tests.media_samples import jpeg_with_gps

WA_ID = "15550123456"


@pytest.mark.parametrize(
    ("code", "status", "expected", "wait"),
    [
        (130429, 0, RetryAfter, 2.0),
        (131056, 0, RetryAfter, 6.0),
        (131026, 0, Unreachable, None),
        (131047, 0, OutsideWindow, None),
        (131009, 0, PermanentError, None),
        (None, 500, TransientError, None),
        (None, 503, TransientError, None),
        (190, 0, TransientError, None),  # a rejected token: keep the message
    ],
)
async def test_error_codes_are_mapped_for_the_outbox(
    phone: Phone, code: int | None, status: int, expected: type[DeliveryError], wait: float | None
) -> None:
    phone.api.fail("messages", code, status=status)
    with pytest.raises(expected) as raised:
        await phone.adapter.sender.send(WA_ID, Outgoing("Hello"))
    assert type(raised.value) is expected
    if wait is not None:
        assert isinstance(raised.value, RetryAfter) and raised.value.seconds == wait
    assert WA_ID not in str(raised.value)  # an error names the code only
    # The next send goes through.
    assert await phone.adapter.sender.send(WA_ID, Outgoing("Hello")) is not None


def test_outside_window_is_a_permanent_error() -> None:
    assert issubclass(OutsideWindow, PermanentError)


async def test_a_retry_after_a_failure_in_the_middle_sends_only_the_rest(phone: Phone) -> None:
    long_text = "\n\n".join(f"Part {n}: " + "word " * 700 for n in range(2))
    message = Outgoing(long_text, (Choice("c:yes", "Yes"), Choice("c:no", "No")))
    sender = phone.adapter.sender
    assert len(sender.plan(message)) == 3  # two texts, then the buttons
    phone.api.fail("messages", status=502, after=1)  # the second part meets a 5xx
    with pytest.raises(TransientError):
        await sender.send(WA_ID, message)
    assert await sender.send(WA_ID, message) is not None  # the outbox's retry
    texts = [text_of(c) for c in phone.api.calls("messages")]
    assert texts[0].startswith("Part 0") and texts[1].startswith("Part 1")
    assert phone.api.calls("messages")[2].params["type"] == "interactive"
    assert sum(t.startswith("Part 0") for t in texts) == 1  # never sent twice
    assert len(texts) == 3


async def test_an_undeliverable_reply_marks_the_person_unreachable(
    phone: Phone, db: Database
) -> None:
    person = phone.person(WA_ID)
    await person.send("hello")
    phone.api.fail("messages", 131026)
    response = await phone.post(phone.hooks.text(WA_ID, "hello again"))
    assert response.status_code == 200  # the turn is committed; the reply is not deliverable
    async with db.transaction() as session:
        participant = (await session.execute(select(Participant))).scalar_one()
    assert participant.reachable is False


async def test_a_file_of_the_media_store_is_uploaded_then_sent_by_its_id(phone: Phone) -> None:
    intake = phone.bot.core.media
    assert intake is not None
    ref, _notes = await intake.keep(jpeg_with_gps(), owner=intake.owner("whatsapp", WA_ID))
    assert ref is not None
    message = Outgoing("Your photo, as moderators will see it.", media=(ref,))
    assert await phone.adapter.sender.send(WA_ID, message) is not None
    [upload] = phone.api.calls("media")
    image, text = phone.api.calls("messages")
    assert image.params["type"] == "image" and image.params["image"]["id"] == upload.params["id"]
    assert text_of(text) == "Your photo, as moderators will see it."
    gone = Outgoing("", media=(MediaRef(MediaKind.PHOTO, "AgACAgQ-telegram-file-id"),))
    assert await phone.adapter.sender.send(WA_ID, gone) is None  # not ours: skipped
