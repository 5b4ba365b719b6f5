"""The outbox dispatcher: delivers queued messages through each platform's sender.

It retries with exponential backoff, honours a platform's ``retry_after``, stops sending
to a person who blocked the bot, and wakes at once when new rows are queued (an
``asyncio.Event``) or when the next retry falls due — it never polls in a tight loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import update
from sqlmodel import col

from bot.core.delivery import (
    DeliveryError,
    Paced,
    PermanentError,
    RetryAfter,
    Sender,
    TransientError,
    Unreachable,
)
from bot.core.events import Outgoing
from bot.core.replies import is_reply
from bot.metrics import RATE_LIMITED, Metrics
from storage import outbox, window
from storage.db import Database
from storage.models import Participant

log = logging.getLogger(__name__)

# Turns a queued payload into a message (notifications are rendered at send time, in
# the person's current language). Returns None to drop a payload nobody can render.
Renderer = Callable[[outbox.DueMessage], Awaitable[Outgoing | None]]
# Told what a delivery created (the platform's message id), e.g. to remember a card.
AfterSend = Callable[[outbox.DueMessage, str | None], Awaitable[None]]
IDLE_WAIT = 30.0
# A chat whose pace asks for a shorter wait than this is sent to at once (the sender
# sleeps that long); a longer wait reschedules its messages instead.
PACE_SLACK = 0.25
# Chats delivered to at once by one dispatcher.
CONCURRENT_CHATS = 16


class Deferred(DeliveryError):
    """Not sent now: the person can only be reached another way for a while (WhatsApp,
    outside its 24-hour window: a template asked them back). The row waits, with
    ``payload``, until they write (the platform makes it due then) or ``wait`` passes.

    Args:
        wait: how long the row waits at most.
        payload: the row's payload from now on (what the sender notes on it).
        seen: the person's last message as the sender saw it (a later one: due now).
    """

    def __init__(self, wait: timedelta, payload: dict[str, Any], seen: datetime | None) -> None:
        super().__init__("deferred")
        self.wait = wait
        self.payload = payload
        self.seen = seen


@runtime_checkable
class NoticeSender(Protocol):
    """A sender that decides how a notice (not a direct reply) reaches the person."""

    async def send_notice(self, due: outbox.DueMessage, message: Outgoing) -> str | None:
        """Send ``message`` for the row ``due``, or raise :class:`Deferred`."""
        ...


async def render_message(due: outbox.DueMessage) -> Outgoing | None:
    """The default renderer: the payload carries a ready message under ``message``."""
    data = due.payload.get("message")
    return Outgoing.from_json(data) if isinstance(data, Mapping) else None


class OutboxDispatcher:
    def __init__(
        self,
        db: Database,
        senders: Mapping[str, Sender],
        *,
        wakeup: asyncio.Event,
        renderer: Renderer = render_message,
        after_send: AfterSend | None = None,
        lease: timedelta = outbox.LEASE,
        metrics: Metrics | None = None,
    ) -> None:
        self.db = db
        self.metrics = metrics  # counts 429s and failed tries, by platform
        self.senders = dict(senders)
        self.wakeup = wakeup
        self.renderer = renderer
        self.after_send = after_send
        self.lease = lease
        self.delivered = 0
        self._slots = asyncio.Semaphore(CONCURRENT_CHATS)
        self._stopping = False

    def add_sender(self, sender: Sender) -> None:
        self.senders[sender.platform] = sender

    async def run_once(self) -> int:
        """Deliver every message that is due now; returns how many were attempted.

        Each chat's messages go in order, on a task of their own, so one chat never
        waits behind another: a chat that must keep a pace (a Telegram group, 20 a
        minute) is rescheduled for when it may send again instead of being slept on.
        """
        attempted = 0
        while batch := await outbox.claim_due(self.db, lease=self.lease):
            chats: dict[tuple[str, str], list[outbox.DueMessage]] = {}
            for due in batch:
                chats.setdefault((due.platform, due.chat_id), []).append(due)
            counts = await asyncio.gather(*(self._deliver_chat(rows) for rows in chats.values()))
            attempted += sum(counts)
        return attempted

    async def _deliver_chat(self, rows: list[outbox.DueMessage]) -> int:
        """One chat's due messages, in order; the rest wait when one must wait."""
        async with self._slots:
            for index, due in enumerate(rows):
                sender = self.senders.get(due.platform)
                pace = sender.wait_before(due.chat_id) if isinstance(sender, Paced) else 0.0
                if pace > PACE_SLACK:
                    await outbox.release(self.db, [r.id for r in rows[index:]], delay=pace)
                    return index
                delay = await self._deliver(due)
                if delay is not None:
                    # Keep the chat's order: what follows waits for the one retried.
                    await outbox.release(self.db, [r.id for r in rows[index + 1 :]], delay=delay)
                    return index + 1
            return len(rows)

    async def _deliver(self, due: outbox.DueMessage) -> float | None:
        """Try one message; returns the delay when it was rescheduled for a retry."""
        sender = self.senders.get(due.platform)
        if sender is None:
            # The platform is not running here (no token): try again later.
            delay = outbox.backoff(due.attempts, base=60)
            await outbox.mark_retry(
                self.db, due.id, delay=delay, error="platform not configured", attempts=due.attempts
            )
            return delay
        try:
            message = await self.renderer(due)
            if message is None:  # no longer wanted, or about something erased since
                await outbox.mark_cancelled(self.db, due.id, "nothing to render")
                return None
            if isinstance(sender, NoticeSender) and not is_reply(due.payload):
                message_id = await sender.send_notice(due, message)
            else:
                message_id = await sender.send(due.chat_id, message)
        except Deferred as exc:
            assert due.participant_id is not None  # only a person's notice waits for them
            parked = await window.park(
                self.db,
                due.id,
                due.participant_id,
                seen=exc.seen,
                wait=exc.wait,
                payload=exc.payload,
            )
            log.info("outbox message deferred", extra={"outbox_id": due.id, "parked": parked})
            if not parked:  # the person wrote meanwhile: due now
                self.wakeup.set()
            return None
        except RetryAfter as exc:
            self._failed(due, RATE_LIMITED)
            await outbox.mark_retry(
                self.db, due.id, delay=exc.seconds, error="retry_after", attempts=due.attempts
            )
            return exc.seconds
        except TransientError as exc:
            self._failed(due, "transient")
            delay = outbox.backoff(due.attempts)
            await outbox.mark_retry(
                self.db, due.id, delay=delay, error=type(exc).__name__, attempts=due.attempts
            )
            return delay
        except Unreachable:
            self._failed(due, "unreachable")
            await outbox.mark_dead(self.db, due.id, "unreachable")
            await self._mark_unreachable(due)
            return None
        except PermanentError as exc:
            self._failed(due, "refused")
            log.warning("outbox message refused", extra={"outbox_id": due.id})
            await outbox.mark_dead(self.db, due.id, f"refused: {type(exc).__name__}")
            return None
        except Exception:
            self._failed(due, "error")
            log.exception("outbox delivery failed", extra={"outbox_id": due.id})
            delay = outbox.backoff(due.attempts)
            await outbox.mark_retry(
                self.db, due.id, delay=delay, error="exception", attempts=due.attempts
            )
            return delay
        await outbox.mark_sent(self.db, due.id, forget_payload=is_reply(due.payload))
        self.delivered += 1
        if self.after_send is not None:
            try:
                await self.after_send(due, message_id)
            except Exception:
                log.exception("after-send hook failed", extra={"outbox_id": due.id})
        return None

    def _failed(self, due: outbox.DueMessage, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.outbox_failed(due.platform, reason)

    async def _mark_unreachable(self, due: outbox.DueMessage) -> None:
        if due.participant_id is None:
            return
        async with self.db.transaction() as session:
            await session.execute(
                update(Participant)
                .where(col(Participant.id) == due.participant_id)
                .values(reachable=False)
            )

    def stop(self) -> None:
        """Finish the round in hand, then leave :meth:`run_forever` (a cancelled round
        could leave a database connection mid-transaction)."""
        self._stopping = True
        self.wakeup.set()

    async def run_forever(self) -> None:
        """Deliver until :meth:`stop`, sleeping on the wake-up event between rounds."""
        self._stopping = False
        while not self._stopping:
            self.wakeup.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox round failed")
            next_at = await outbox.next_due_at(self.db)
            timeout = IDLE_WAIT
            if next_at is not None:
                if next_at.tzinfo is None:
                    next_at = next_at.replace(tzinfo=UTC)
                timeout = max(0.0, min(IDLE_WAIT, (next_at - datetime.now(UTC)).total_seconds()))
            if timeout > 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), timeout)
