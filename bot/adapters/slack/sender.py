"""The Slack :class:`~bot.core.delivery.Sender`: Web API errors translated for the outbox.

=============================================================  ==============================
``ratelimited`` (HTTP 429, ``Retry-After`` header)             :class:`RetryAfter`
``channel_not_found``, ``is_archived``, ``account_inactive``,  :class:`Unreachable`
``user_not_found``, ``user_disabled``, ``not_in_channel``,
``cannot_dm_bot``
HTTP 5xx, ``internal_error``, ``fatal_error``,                 :class:`TransientError`
``service_unavailable``, ``request_timeout``, timeouts,
network errors; a rejected token (kept until it is fixed)
anything else (``invalid_blocks``, ``msg_too_long``...)        :class:`PermanentError`
=============================================================  ==============================

A message that carries published photos (a story's card) shows them as ``image`` blocks,
by the public addresses ``images`` finds (:mod:`bot.adapters.slack.images`).

An edit of a message that is gone (``message_not_found``, ``cant_update_message``) posts
the message anew and returns the new ``ts``, so a moderation card comes back; a delete of
a message that is gone counts as deleted.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.images import Image
from bot.adapters.slack.rendering import RenderError, render
from bot.core.delivery import (
    DeliveryError,
    PermanentError,
    RetryAfter,
    TransientError,
    Unreachable,
)
from bot.core.events import Outgoing

log = logging.getLogger(__name__)

PLATFORM = "slack"
UNREACHABLE = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "account_inactive",
        "user_not_found",
        "user_disabled",
        "not_in_channel",
        "cannot_dm_bot",
    }
)
TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
BAD_TOKEN = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired"})
_EDIT_TARGET_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
_DELETE_TARGET_GONE = frozenset({"message_not_found"})
DEFAULT_RETRY_AFTER = 1.0


def error_code(exc: SlackApiError) -> str:
    data = exc.response.data if exc.response is not None else None
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def map_error(exc: Exception) -> DeliveryError:
    """The delivery error for a failed Web API call (or a failed connection)."""
    if isinstance(exc, SlackApiError):
        code = error_code(exc)
        status = exc.response.status_code if exc.response is not None else 0
        if status == 429 or code == "ratelimited":
            return RetryAfter(_retry_after(exc))
        if code in UNREACHABLE:
            return Unreachable(code)
        if status >= 500 or code in TRANSIENT:
            return TransientError(code or f"HTTP {status}")
        if code in BAD_TOKEN:
            # Every send fails until an operator fixes the token: keep the messages.
            log.error("slack rejected the bot token", extra={"error": code})
            return TransientError(code)
        return PermanentError(code or f"HTTP {status}")
    return TransientError(type(exc).__name__)  # timeouts, connection errors


def _retry_after(exc: SlackApiError) -> float:
    headers = exc.response.headers if exc.response is not None else {}
    value = headers.get("Retry-After") or headers.get("retry-after") if headers else None
    try:
        return max(0.0, float(value)) if value is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER


class SlackSender:
    """Sends neutral messages with ``chat.postMessage`` / ``chat.update`` / ``chat.delete``.

    The id it returns is the message's ``ts`` (in its channel).

    Args:
        client: the Web API client (its ``base_url`` is ``SLACK_API_URL``).
        images: finds the public addresses of the published photos a message carries;
            None: no photos are shown.
    """

    platform = PLATFORM

    def __init__(
        self,
        client: AsyncWebClient,
        images: Callable[[Outgoing], Awaitable[Sequence[Image]]] | None = None,
    ) -> None:
        self.client = client
        self.images = images

    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        """Send, edit or delete one message; see :class:`~bot.core.delivery.Sender`."""
        if message.delete_of is not None:
            await self._delete(chat_id, message.delete_of)
            return None
        pictures = await self.images(message) if self.images and message.media else ()
        try:
            rendered = render(message, pictures)
        except RenderError as exc:
            raise PermanentError(str(exc)) from exc
        try:
            if message.edit_of is not None:
                await self.client.chat_update(
                    channel=chat_id, ts=message.edit_of, text=rendered.text, blocks=rendered.blocks
                )
                return message.edit_of
            response = await self.client.chat_postMessage(
                channel=chat_id, text=rendered.text, blocks=rendered.blocks, unfurl_links=False
            )
        except SlackApiError as exc:
            if message.edit_of is not None and error_code(exc) in _EDIT_TARGET_GONE:
                return await self.send(chat_id, dataclasses.replace(message, edit_of=None))
            raise map_error(exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise map_error(exc) from exc
        ts = response.get("ts")
        return str(ts) if ts else None

    async def _delete(self, chat_id: str, ts: str) -> None:
        try:
            await self.client.chat_delete(channel=chat_id, ts=ts)
        except SlackApiError as exc:
            if error_code(exc) in _DELETE_TARGET_GONE:
                return
            raise map_error(exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise map_error(exc) from exc

    async def ephemeral(self, chat_id: str, user_id: str, message: Outgoing) -> None:
        """Show ``message`` to one person in a channel (``chat.postEphemeral``).

        Raises:
            RetryAfter, TransientError, Unreachable, PermanentError.
        """
        try:
            rendered = render(message)
        except RenderError as exc:
            raise PermanentError(str(exc)) from exc
        try:
            await self.client.chat_postEphemeral(
                channel=chat_id, user=user_id, text=rendered.text, blocks=rendered.blocks
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            raise map_error(exc) from exc
