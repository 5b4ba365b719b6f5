"""The first step of every HTTP request from Slack, before Bolt parses anything.

slack-bolt parses a request's body when it builds its request object, before its own
signature check runs: unsigned garbage would reach the JSON parser (and a chunked body
would be read whole). Here the body is read up to a cap as it arrives, its signature and
timestamp are checked on the raw bytes, and only a signed body that parses the way Bolt
parses it goes on: too large -> 413, unsigned or stale -> 401, signed but unreadable ->
400. Bolt checks the signature again; that costs one HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from slack_bolt.request.internals import parse_body
from starlette.requests import Request
from starlette.responses import Response

from bot.web.untrusted import BodyTooLargeError, read_body, replayed

TIMESTAMP_DIGITS = 12  # a Unix time in seconds, with room to spare
MAX_AGE_SECONDS = 5 * 60  # Slack's rule, as Bolt applies it


def signed(
    body: bytes, headers: Mapping[str, str], signing_secret: str, *, now: float | None = None
) -> bool:
    """Whether Slack signed ``body`` with ``signing_secret`` in the last five minutes.

    Slack's scheme (``v0=`` HMAC-SHA256 of ``v0:<timestamp>:<body>``), on the raw bytes:
    slack_sdk's verifier decodes the body as UTF-8 first, and raises on anything else.
    """
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not (
        timestamp.isascii()
        and timestamp.isdigit()
        and len(timestamp) <= TIMESTAMP_DIGITS
        and signature.isascii()
    ):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


async def gate(request: Request, signing_secret: str, *, max_body: int) -> Request | Response:
    """The request for Bolt (its body already read and checked), or the answer to give."""
    try:
        body = await read_body(request, max_body)
    except BodyTooLargeError:
        return Response(status_code=413)
    if not signed(body, request.headers, signing_secret):
        return Response(status_code=401)
    content_type = request.headers.get("content-type", "").split(";")[0]  # as Bolt reads it
    try:
        parsed = parse_body(body.decode("utf-8"), content_type or None)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested beyond the parser
        return Response(status_code=400)
    if not isinstance(parsed, dict):
        return Response(status_code=400)
    return replayed(request, body)
