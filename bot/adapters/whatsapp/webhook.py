"""The WhatsApp webhook on the one Starlette app: ``/whatsapp/webhook``.

``GET``: Meta's verification challenge. ``hub.mode=subscribe`` and a ``hub.verify_token``
equal (constant-time) to ``WHATSAPP_VERIFY_TOKEN``: the ``hub.challenge`` is echoed;
anything else is 403.

``POST``, in this order: no ``X-Hub-Signature-256`` -> 401; the body read, capped
(-> 413, counted as it arrives, so a chunked body is capped too); its HMAC-SHA256 with
``WHATSAPP_APP_SECRET`` compared in constant time with the header (wrong -> 403): until
then nothing is parsed, so a forged request has no effect; the JSON (-> 400). A delivery
of a shape Meta never sends is answered 200 and dropped (a 4xx or 5xx would only make
Meta deliver it again, for days). Then its messages are handled before the answer, as
the Telegram webhook does: a failure answers 500 and Meta redelivers (the core ignores
what it already has); too many turns in flight answers 503.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.adapters.whatsapp.parsing import Parsed, delivery_problem, parse_delivery
from bot.core.admission import Busy
from bot.web.untrusted import BodyTooLargeError, parse_json, read_body

log = logging.getLogger(__name__)

PATH = "/whatsapp/webhook"
SIGNATURE_HEADER = "X-Hub-Signature-256"
# Meta batches at most a few messages in one delivery: a few kilobytes each.
MAX_BODY_BYTES = 1024 * 1024
CHALLENGE_MAX = 128

DeliverySink = Callable[[Sequence[Parsed]], Awaitable[None]]


def signature(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` header Meta sends with ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookEndpoint:
    """Checks and decodes webhook deliveries and hands their messages to ``sink``.

    Args:
        verify_token: ``WHATSAPP_VERIFY_TOKEN``.
        app_secret: ``WHATSAPP_APP_SECRET``, the key of every POST's signature.
        phone_id: this bot's phone number id (other numbers' messages are ignored).
        sink: handles one delivery's messages; when it raises, the answer is 500.
    """

    def __init__(self, verify_token: str, app_secret: str, phone_id: str, sink: DeliverySink):
        if not verify_token or not app_secret:
            raise ValueError("the WhatsApp webhook needs a verify token and an app secret")
        self._verify_token = verify_token.encode()
        self._app_secret = app_secret
        self.phone_id = phone_id
        self.sink = sink

    def route(self) -> Route:
        return Route(PATH, self.handle, methods=["GET", "POST"], name="whatsapp_webhook")

    async def handle(self, request: Request) -> Response:
        if request.method == "GET":
            return self.verify(request)
        return await self.receive(request)

    def verify(self, request: Request) -> Response:
        """Meta's subscription check: echo the challenge to the right verify token."""
        params = request.query_params
        given = params.get("hub.verify_token", "").encode()
        challenge = params.get("hub.challenge", "")
        if (
            params.get("hub.mode") == "subscribe"
            and hmac.compare_digest(given, self._verify_token)
            and 0 < len(challenge) <= CHALLENGE_MAX
        ):
            return PlainTextResponse(challenge)
        log.warning("whatsapp webhook: verification refused")
        return PlainTextResponse("forbidden", status_code=403)

    async def receive(self, request: Request) -> Response:
        given = request.headers.get(SIGNATURE_HEADER)
        if not given:
            log.warning("whatsapp webhook: no signature")
            return PlainTextResponse("unauthorized", status_code=401)
        try:
            body = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLargeError:
            log.warning("whatsapp webhook: body too large")
            return PlainTextResponse("too large", status_code=413)
        expected = signature(self._app_secret, body)
        if not hmac.compare_digest(given.strip().encode(), expected.encode()):
            log.warning("whatsapp webhook: wrong signature")
            return PlainTextResponse("forbidden", status_code=403)
        try:
            data = parse_json(body)
        except ValueError as exc:
            log.warning(
                "whatsapp webhook: malformed delivery",
                extra={"bytes": len(body), "error": type(exc).__name__},
            )
            return PlainTextResponse("malformed", status_code=400)
        problem = delivery_problem(data)
        if problem is not None:
            log.warning("whatsapp webhook: delivery ignored", extra={"reason": problem})
            return PlainTextResponse("ignored")
        try:
            await self.sink(parse_delivery(data, self.phone_id))
        except Busy as busy:
            # Nothing of the turn in hand was recorded: Meta delivers it again later.
            log.warning("whatsapp webhook: busy")
            return PlainTextResponse(
                "busy", status_code=503, headers={"Retry-After": str(busy.retry_after)}
            )
        except Exception:
            # The failed turn rolled back (its key with it): let Meta redeliver.
            log.exception("whatsapp webhook: delivery failed")
            return PlainTextResponse("failed", status_code=500)
        return PlainTextResponse("ok")
