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
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import col

from bot.core.delivery import PermanentError, RetryAfter, Sender, TransientError, Unreachable
from bot.core.events import Outgoing
from storage import outbox
from storage.db import Database
from storage.models import Participant

log = logging.getLogger(__name__)

# Turns a queued payload into a message (notifications are rendered at send time, in
# the person's current language). Returns None to drop a payload nobody can render.
Renderer = Callable[[outbox.DueMessage], Awaitable[Outgoing | None]]
# Told what a delivery created (the platform's message id), e.g. to remember a card.
AfterSend = Callable[[outbox.DueMessage, str | None], Awaitable[None]]
IDLE_WAIT = 30.0


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
    ) -> None:
        self.db = db
        self.senders = dict(senders)
        self.wakeup = wakeup
        self.renderer = renderer
        self.after_send = after_send
        self.delivered = 0

    def add_sender(self, sender: Sender) -> None:
        self.senders[sender.platform] = sender

    async def run_once(self) -> int:
        """Deliver every message that is due now; returns how many were attempted."""
        attempted = 0
        while batch := await outbox.claim_due(self.db):
            for due in batch:
                attempted += 1
                await self._deliver(due)
        return attempted

    async def _deliver(self, due: outbox.DueMessage) -> None:
        sender = self.senders.get(due.platform)
        if sender is None:
            # The platform is not running here (no token): try again later.
            await outbox.mark_retry(
                self.db,
                due.id,
                delay=outbox.backoff(due.attempts, base=60),
                error="platform not configured",
                attempts=due.attempts,
            )
            return
        try:
            message = await self.renderer(due)
            if message is None:
                await outbox.mark_dead(self.db, due.id, "nothing to render")
                return
            message_id = await sender.send(due.chat_id, message)
        except RetryAfter as exc:
            await outbox.mark_retry(
                self.db, due.id, delay=exc.seconds, error="retry_after", attempts=due.attempts
            )
        except TransientError as exc:
            await outbox.mark_retry(
                self.db,
                due.id,
                delay=outbox.backoff(due.attempts),
                error=type(exc).__name__,
                attempts=due.attempts,
            )
        except Unreachable:
            await outbox.mark_dead(self.db, due.id, "unreachable")
            await self._mark_unreachable(due)
        except PermanentError as exc:
            log.warning("outbox message refused", extra={"outbox_id": due.id})
            await outbox.mark_dead(self.db, due.id, f"refused: {type(exc).__name__}")
        except Exception:
            log.exception("outbox delivery failed", extra={"outbox_id": due.id})
            await outbox.mark_retry(
                self.db,
                due.id,
                delay=outbox.backoff(due.attempts),
                error="exception",
                attempts=due.attempts,
            )
        else:
            await outbox.mark_sent(self.db, due.id)
            self.delivered += 1
            if self.after_send is not None:
                try:
                    await self.after_send(due, message_id)
                except Exception:
                    log.exception("after-send hook failed", extra={"outbox_id": due.id})

    async def _mark_unreachable(self, due: outbox.DueMessage) -> None:
        if due.participant_id is None:
            return
        async with self.db.transaction() as session:
            await session.execute(
                update(Participant)
                .where(col(Participant.id) == due.participant_id)
                .values(reachable=False)
            )

    async def run_forever(self) -> None:
        """Deliver until cancelled, sleeping on the wake-up event between rounds."""
        while True:
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
            if timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), timeout)
