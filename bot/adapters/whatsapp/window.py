"""WhatsApp's 24-hour window: who can get a free-form message now, and what is done for
those who cannot.

A free-form message reaches a person only within 24 hours of their last message. So:

1. Every message a person sends records its time (``participant.last_inbound_at``; the
   message's own timestamp) and makes their parked notices due at
   once (:func:`storage.window.record_inbound`).
2. A notice (not a direct reply: a reply answers a message just received) for someone
   inside the window (with :data:`MARGIN` to spare) goes as it is. Outside, or when
   WhatsApp answers 131047 (the window closed meanwhile: clocks differ), the matching
   template (:mod:`bot.adapters.whatsapp.templates`) goes in the person's language, at
   most one a day while they do not answer, and the notice is *parked*: its outbox row
   waits (:data:`WAIT` at most) for the person's next message (a tap on the template's
   button is one), and is then sent as free-form, once.
3. A parked notice nobody answered is dropped when its wait ends (it is never sent as a
   template twice).
4. Delivery statuses update the row that sent the message (found by a hash of the
   message's id): ``sent`` / ``delivered`` / ``read`` in ``outbox.receipt`` (forward
   only); ``failed`` with 131047 sends the row round again (template path), 131026 marks
   the person unreachable, any other failure marks the row dead with its code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.adapters.whatsapp.parsing import PLATFORM, Status, event_key, sent_at
from bot.core.delivery import PermanentError
from bot.core.events import Inbound
from bot.core.replies import is_reply
from storage import window as rows
from storage.db import Database
from storage.models import OutboxStatus, utcnow
from storage.window import Contact

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
# A notice this close to the window's end goes as a template (sending takes a moment).
MARGIN = timedelta(minutes=10)
# At most one template a day to someone who has not answered the last one.
TEMPLATE_QUIET = timedelta(days=1)
# How long a parked notice waits for the person's answer.
WAIT = timedelta(days=30)
# The payload's key for what the window notes on a row.
NOTE = "whatsapp"
RE_ENGAGEMENT = 131047
UNDELIVERABLE = 131026


class NoAnswer(PermanentError):
    """A parked notice whose wait ended without a message from the person."""


def note_of(payload: Mapping[str, Any]) -> dict[str, Any]:
    note = payload.get(NOTE)
    return dict(note) if isinstance(note, Mapping) else {}


class Window:
    """The 24-hour window of every WhatsApp person, kept in the database.

    Args:
        db: the bot's database.
        wakeup: set when notices become due (the outbox dispatcher's event).
        clock: now (tests move it).
    """

    def __init__(
        self,
        db: Database,
        *,
        wakeup: asyncio.Event | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.wakeup = wakeup
        self.clock = clock

    def now(self) -> datetime:
        return self.clock()

    def is_open(self, contact: Contact, note: Mapping[str, Any]) -> bool:
        """Whether a free-form message can reach the person now."""
        last = contact.last_inbound_at
        if last is None:
            return False
        closed = note.get("closed_at")
        if isinstance(closed, str) and last <= datetime.fromisoformat(closed):
            return False  # WhatsApp said so after their last message
        return self.now() - last < WINDOW - MARGIN

    def may_send_template(self, contact: Contact) -> bool:
        """No template since their last message, or none for :data:`TEMPLATE_QUIET`."""
        sent = contact.template_at
        if sent is None:
            return True
        if contact.last_inbound_at is not None and sent < contact.last_inbound_at:
            return True
        return self.now() - sent >= TEMPLATE_QUIET

    async def contact(self, participant_id: int) -> Contact | None:
        return await rows.contact(self.db, participant_id)

    async def template_sent(self, participant_id: int) -> None:
        await rows.template_sent(self.db, participant_id, self.now())

    async def record_message(self, outbox_id: int, message_id: str) -> None:
        await rows.record_message(self.db, outbox_id, event_key(message_id))

    async def opened(self, inbound: Inbound, *, answered: bool = False) -> int:
        """The person wrote: the window opens; returns how many parked notices are due.

        ``answered``: the notices are the answer to this message (a template's button):
        when any came back, the message is recorded as handled with them."""
        now = self.now()
        at = sent_at(inbound.raw) if isinstance(inbound.raw, Mapping) else None
        # WhatsApp's window counts from the message's own time (a redelivery hours later
        # opens no new window); a stamp ahead of our clock is believed within MARGIN.
        moment = min(at, now + MARGIN) if at is not None else now
        unparked = await rows.record_inbound(
            self.db, PLATFORM, inbound.user_id, moment, answers=inbound.key if answered else None
        )
        if unparked:
            log.info("whatsapp notices unparked", extra={"count": unparked})
            if self.wakeup is not None:
                self.wakeup.set()
        return unparked

    async def apply(self, status: Status) -> None:
        """One delivery status (see the module's list)."""
        if status.status in rows.RECEIPTS:
            await rows.record_receipt(self.db, status.key, status.status)
            return
        row = await rows.sent_row(self.db, status.key)
        if row is None:
            # A direct reply's (not tracked) or one sent before its key was recorded.
            log.debug("whatsapp status of an unknown message", extra={"error": status.error})
            return
        extra = {"outbox_id": row.id, "error": status.error}
        if status.error == UNDELIVERABLE:
            log.warning("whatsapp message undeliverable", extra=extra)
            await rows.failed(self.db, row.id, "unreachable", unreachable=True)
            return
        resendable = row.payload and not is_reply(row.payload) and "erased" not in row.payload
        if status.error == RE_ENGAGEMENT and resendable:
            closed = (status.at or self.now()).isoformat()
            payload = {**row.payload, NOTE: {"closed_at": closed}}
            if await rows.reopen(self.db, row.id, payload, f"whatsapp error {status.error}"):
                log.info("whatsapp message outside the window: sent again", extra=extra)
                if self.wakeup is not None:
                    self.wakeup.set()
            return
        if row.status == OutboxStatus.SENT.value:
            log.warning("whatsapp message failed", extra=extra)
            await rows.failed(self.db, row.id, f"whatsapp error {status.error}", unreachable=False)
        else:
            # A parked notice's template: the notice still waits for the person.
            log.warning("whatsapp template failed", extra=extra)
