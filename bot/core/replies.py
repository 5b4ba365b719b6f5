"""Direct replies that survive a crash: stored with the turn, sent right after it.

The path of a reply on a platform that pushes messages (Telegram, Slack):

1. In the turn's transaction, every reply becomes an outbox row *leased* to this
   process (``keep``): the effect of the event and what the bot answers commit together.
2. After the commit ``deliver`` sends the replies in order, marking each row sent as it
   goes (the fast path: no waiting on the dispatcher); the core runs it after the
   previous replies of the same conversation, while the adapter acknowledges the event.
3. A 429 or a 5xx hands that reply and the ones after it to the outbox dispatcher,
   which retries with backoff; "blocked" marks the person unreachable.
4. A crash anywhere after the commit leaves rows that the dispatcher sends when their
   lease ends (at once after a restart on SQLite): every reply is sent, once — except
   the one whose request was on the wire at the moment of the crash, which the platform
   may or may not have received (at least once, never silently lost).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.core.delivery import PermanentError, RetryAfter, Sender, TransientError, Unreachable
from bot.core.events import Inbound, Outgoing
from bot.metrics import Metrics
from storage import outbox
from storage.db import Database
from storage.turns import NewReply, TurnStatements, TurnTransaction

log = logging.getLogger(__name__)

# The first retry of a reply the platform could not take right now.
RETRY_DELAY = 1.0
# Marks a reply's outbox row (beside the ready ``message`` the default renderer sends).
REPLY_MARK = "reply"


@dataclass(frozen=True, slots=True)
class Handled:
    """What one event produced: its replies and, when they are durable, their rows.

    ``rows`` is empty when the replies were not stored (nothing to mark as sent);
    ``delivery`` is the sending of the replies, when the core was given a sender.
    """

    inbound: Inbound
    replies: tuple[Outgoing, ...]
    rows: tuple[int, ...] = ()
    delivery: asyncio.Task[None] | None = field(default=None, compare=False)

    async def delivered(self) -> None:
        """Wait until the replies were sent or handed to the outbox.

        Cancelling the waiter does not cancel the sending.
        """
        if self.delivery is not None:
            await asyncio.shield(self.delivery)


def is_reply(payload: Mapping[str, Any]) -> bool:
    """A direct reply's row (its text is dropped once delivered, whoever sends it)."""
    return bool(payload.get(REPLY_MARK))


def reply_key(inbound: Inbound, index: int) -> str:
    return f"reply:{inbound.platform}:{inbound.key}:{index}"


async def keep(
    statements: TurnStatements,
    tx: TurnTransaction,
    inbound: Inbound,
    participant_id: int,
    replies: list[Outgoing],
    lease: timedelta = outbox.LEASE,
) -> tuple[int, ...]:
    """Store ``replies`` in the turn's transaction, leased to the caller.

    The event's key was recorded in this same transaction, so its replies cannot have
    been stored before.
    """
    return await statements.keep_replies(
        tx,
        platform=inbound.platform,
        chat_id=inbound.chat_id,
        participant_id=participant_id,
        replies=[
            NewReply(reply_key(inbound, index), {"message": reply.to_json(), REPLY_MARK: True})
            for index, reply in enumerate(replies)
        ],
        lease=lease,
    )


async def deliver(
    db: Database,
    sender: Sender,
    handled: Handled,
    *,
    on_unreachable: Callable[[], Awaitable[None]],
    metrics: Metrics | None = None,
) -> bool:
    """Send the replies in order; returns False when some were left to the outbox.
    ``metrics`` counts the platform's 429s."""
    chat_id = handled.inbound.chat_id
    rows: tuple[int | None, ...] = handled.rows or (None,) * len(handled.replies)
    for index, (reply, row) in enumerate(zip(handled.replies, rows, strict=True)):
        rest = [r for r in rows[index:] if r is not None]
        try:
            await sender.send(chat_id, reply)
        except RetryAfter as exc:
            if metrics is not None:
                metrics.rate_limited(sender.platform)
            await outbox.release(db, rest, delay=exc.seconds)
            return False
        except TransientError:
            await outbox.release(db, rest, delay=RETRY_DELAY)
            return False
        except Unreachable:
            for row_id in rest:
                await outbox.mark_dead(db, row_id, "unreachable")
            await on_unreachable()
            return False
        except PermanentError as exc:
            log.warning("reply refused", extra={"platform": sender.platform, "error": str(exc)})
            if row is not None:
                await outbox.mark_dead(db, row, f"refused: {type(exc).__name__}")
            continue
        except Exception:
            log.exception("reply failed", extra={"platform": sender.platform})
            await outbox.release(db, rest, delay=RETRY_DELAY)
            return False
        if row is not None:
            await outbox.mark_sent(db, row, forget_payload=True)
    return True
