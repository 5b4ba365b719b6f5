"""The Telegram webhook endpoint on the one Starlette app.

Order of checks: the secret header (constant-time; wrong or missing -> 403), the body size
(-> 413), the JSON and the update's shape (-> 400, logged with sizes and ids only). Only
then is the update handled, before the answer: a failure answers 500 so Telegram
redelivers, and the core ignores what it has already seen.

The path is derived from the bot token and the secret, so it cannot be guessed; the
secret, when not configured, is derived from the token, so every replica agrees.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Bot, Update

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
PATH_PREFIX = "/telegram/webhook/"
MAX_BODY_BYTES = 1024 * 1024

UpdateSink = Callable[[Update, Mapping[str, Any]], Awaitable[None]]


def webhook_secret(token: str, configured: str | None = None) -> str:
    """The ``secret_token`` Telegram sends back: the configured one, or one from the token.

    Telegram allows 1-256 characters ``A-Z a-z 0-9 _ -``; a hex digest fits.
    """
    if configured:
        return configured
    return hmac.new(token.encode(), b"together-telegram-webhook-secret", hashlib.sha256).hexdigest()


def webhook_path(token: str, secret: str) -> str:
    """The route of the webhook: a hash of the token and the secret, never guessable."""
    digest = hashlib.sha256(f"together-webhook\0{token}\0{secret}".encode()).hexdigest()
    return f"{PATH_PREFIX}{digest[:40]}"


class WebhookEndpoint:
    """Checks and decodes webhook deliveries and hands each update to ``sink``.

    Args:
        bot: the bot the updates are bound to (PTB's shortcuts need it).
        secret: the expected ``X-Telegram-Bot-Api-Secret-Token``.
        sink: handles one update; when it raises, the answer is 500 and Telegram retries.
    """

    def __init__(self, bot: Bot, secret: str, sink: UpdateSink) -> None:
        self.bot = bot
        self._secret = secret.encode()
        self.sink = sink

    def route(self, path: str) -> Route:
        return Route(path, self.handle, methods=["POST"], name="telegram_webhook")

    async def handle(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("telegram webhook: wrong or missing secret token")
            return PlainTextResponse("forbidden", status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            log.warning("telegram webhook: body too large", extra={"bytes": len(body)})
            return PlainTextResponse("too large", status_code=413)
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, self.bot)
        except Exception as exc:  # any decoding failure is the sender's fault
            log.warning(
                "telegram webhook: malformed update",
                extra={"bytes": len(body), "error": type(exc).__name__},
            )
            return PlainTextResponse("malformed update", status_code=400)
        try:
            await self.sink(update, data)
        except Exception:
            # The core's turn rolled back (its event key with it): let Telegram redeliver.
            log.exception("telegram webhook: update failed", extra={"update_id": update.update_id})
            return PlainTextResponse("failed", status_code=500)
        return PlainTextResponse("ok")
