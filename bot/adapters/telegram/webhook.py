"""The Telegram webhook endpoint on the one Starlette app.

Order of checks: the secret header (constant-time; wrong or missing -> 403), the body size
(-> 413, counted as it arrives, so a chunked body is capped too), the JSON (-> 400). An
update of a shape Telegram never sends (a number where text belongs, ``chat: null``) is
answered 200 and dropped, logged by its update id only: a 4xx or 5xx would only make
Telegram deliver it again, forever. Only then is the update handled, before the answer: a
failure answers 500 so Telegram redelivers, and the core ignores what it has already seen.

The path is derived from the bot token and the secret, so it cannot be guessed; the
secret, when not configured, is derived from the token, so every replica agrees.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Bot, Update

from bot.adapters.telegram.parsing import update_problem
from bot.core.admission import Busy
from bot.web.untrusted import BodyTooLargeError, parse_json, read_body

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
        try:
            body = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLargeError:
            log.warning("telegram webhook: body too large")
            return PlainTextResponse("too large", status_code=413)
        try:
            data = parse_json(body)
        except ValueError as exc:
            log.warning(
                "telegram webhook: malformed update",
                extra={"bytes": len(body), "error": type(exc).__name__},
            )
            return PlainTextResponse("malformed update", status_code=400)
        problem = update_problem(data)
        update: Update | None = None
        if problem is None:
            try:
                update = Update.de_json(data, self.bot)
            except Exception as exc:  # whatever PTB cannot read, Telegram did not send
                problem = type(exc).__name__
        if update is None:
            update_id = data.get("update_id") if isinstance(data, dict) else None
            log.warning(
                "telegram webhook: update ignored",
                extra={
                    "update_id": update_id if isinstance(update_id, int) else None,
                    "reason": problem,
                },
            )
            return PlainTextResponse("ignored")
        try:
            await self.sink(update, data)
        except Busy as busy:
            # Too many turns in flight: nothing was recorded, Telegram tries again later.
            log.warning("telegram webhook: busy", extra={"update_id": update.update_id})
            return PlainTextResponse(
                "busy", status_code=503, headers={"Retry-After": str(busy.retry_after)}
            )
        except Exception:
            # The core's turn rolled back (its event key with it): let Telegram redeliver.
            log.exception("telegram webhook: update failed", extra={"update_id": update.update_id})
            return PlainTextResponse("failed", status_code=500)
        return PlainTextResponse("ok")
