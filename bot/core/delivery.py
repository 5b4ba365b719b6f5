"""How the core hands a message to a platform, and how a platform says it failed.

Each adapter provides a :class:`Sender`. The outbox dispatcher calls it and reacts to the
errors below: wait ``retry_after``, back off and retry, or stop sending to that chat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

from bot.core.events import Outgoing

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A message could not be delivered."""


class RetryAfter(DeliveryError):
    """The platform asked us to wait (HTTP 429 with ``retry_after``)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class TransientError(DeliveryError):
    """A 5xx answer, a timeout or a network error: retry with backoff."""


class Unreachable(DeliveryError):
    """The person blocked the bot or the chat is gone: stop sending to it."""


class PermanentError(DeliveryError):
    """The platform refused this message for good (a bad request): do not retry."""


class OutsideWindow(PermanentError):
    """The person's last message is too old for a free-form message (WhatsApp's 24-hour
    window, error 131047): only an approved template message can reach them now."""


class Sender(Protocol):
    """Delivers neutral messages on one platform."""

    platform: str

    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        """Send (or edit, when ``message.edit_of`` is set) one message.

        Returns:
            The platform's id of the sent message, when it has one.

        Raises:
            RetryAfter, TransientError, Unreachable, PermanentError.
        """
        ...


@runtime_checkable
class Paced(Protocol):
    """A sender that keeps a sending pace per chat (Telegram: 20 a minute in a group)."""

    def wait_before(self, chat_id: str) -> float:
        """Seconds before a message to ``chat_id`` could go without waiting."""
        ...


# A direct reply that meets a 429 or a 5xx is retried in place this many times; what
# cannot be delivered by then is logged (the person can ask again).
REPLY_ATTEMPTS = 3
MAX_REPLY_WAIT = 30.0


async def send_replies(
    sender: Sender,
    chat_id: str,
    replies: Sequence[Outgoing],
    *,
    on_unreachable: Callable[[], Awaitable[None]],
    backoff: float = 0.5,
    attempts: int = REPLY_ATTEMPTS,
) -> bool:
    """Send direct replies in order, retrying each in place on 429 or a 5xx.

    A reply the platform refuses for good is skipped; when the person is unreachable,
    ``on_unreachable`` runs and the rest is not sent. Returns False when a reply could
    not be delivered (the later ones are then not sent either, to keep the order).
    """
    for reply in replies:
        for attempt in range(attempts):
            try:
                await sender.send(chat_id, reply)
                break
            except RetryAfter as exc:
                wait = exc.seconds
            except TransientError:
                wait = backoff * 2**attempt
            except Unreachable:
                await on_unreachable()
                return False
            except PermanentError as exc:
                log.warning("reply refused", extra={"platform": sender.platform, "error": str(exc)})
                break
            if attempt + 1 < attempts:
                await asyncio.sleep(min(wait, MAX_REPLY_WAIT))
        else:
            log.warning("reply not delivered", extra={"platform": sender.platform})
            return False
    return True
