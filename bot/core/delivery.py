"""How the core hands a message to a platform, and how a platform says it failed.

Each adapter provides a :class:`Sender`. The outbox dispatcher calls it and reacts to the
errors below: wait ``retry_after``, back off and retry, or stop sending to that chat.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.events import Outgoing


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
