"""The first step of every HTTP request from Slack, before Bolt parses anything.

slack-bolt parses a request's body when it builds its request object, before its own
signature check runs: unsigned garbage would reach the JSON parser (and a chunked body
would be read whole). Here the body is read up to a cap as it arrives, its signature and
timestamp are checked on the raw bytes, and only a signed body that parses the way Bolt
parses it, into the shape Slack documents for the fields Bolt and the listeners read,
goes on: too large -> 413, unsigned or stale -> 401, signed but unreadable or of another
shape -> 400. Bolt checks the signature again; that costs one HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from slack_bolt.request.internals import parse_body
from starlette.requests import Request
from starlette.responses import Response

from bot.adapters.shapes import Check, is_bool, is_int, is_object, is_str, list_of, shape
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
    if not isinstance(parsed, dict) or not _PAYLOAD(parsed):
        return Response(status_code=400)
    return replayed(request, body)


# What Bolt (to route and authorise) and the listeners read of each kind of request.
_str, _int = (is_str, False), (is_int, False)
_AUTHORIZATION = shape(team_id=_str, user_id=_str, enterprise_id=_str, is_bot=(is_bool, False))
_MESSAGE = shape(type=_str, user=_str, text=_str, ts=_str, thread_ts=_str, bot_id=_str, team=_str)
_FILE = shape(id=_str, mimetype=_str, size=_int, duration_ms=_int)
_EVENT = shape(
    type=(is_str, True),
    user=_str,
    text=_str,
    channel=_str,
    channel_type=_str,
    subtype=_str,
    tab=_str,
    ts=_str,
    event_ts=_str,
    thread_ts=_str,
    team=_str,
    user_team=_str,
    bot_id=_str,
    files=(list_of(_FILE), False),
    message=(_MESSAGE, False),
    previous_message=(_MESSAGE, False),
    item=(is_object, False),
    assistant_thread=(is_object, False),
)
_EVENTS_API = shape(
    type=(is_str, True),
    event_id=_str,
    team_id=_str,
    api_app_id=_str,
    enterprise_id=_str,
    challenge=_str,
    token=_str,
    is_ext_shared_channel=(is_bool, False),
    authorizations=(list_of(_AUTHORIZATION), False),
    event=(_EVENT, False),
)
_ACTION = shape(action_id=_str, block_id=_str, value=_str, action_ts=_str, type=_str)
_INTERACTION = shape(
    type=(is_str, True),
    user=(shape(id=_str, team_id=_str), False),
    team=(shape(id=_str, enterprise_id=_str), False),
    enterprise=(is_object, False),
    channel=(shape(id=_str), False),
    container=(shape(channel_id=_str, message_ts=_str), False),
    actions=(list_of(_ACTION), False),
    view=(shape(id=_str, callback_id=_str, team_id=_str, private_metadata=_str), False),
    message=(_MESSAGE, False),
    trigger_id=_str,
    callback_id=_str,
    api_app_id=_str,
    token=_str,
    function_data=(is_object, False),
)


def _payload(parsed: object) -> bool:
    """A slash command is flat text (always fine); an event or an interaction must have
    its documented shape."""
    if not isinstance(parsed, dict):
        return False
    if "command" in parsed and all(isinstance(v, str) for v in parsed.values()):
        return True
    kind = parsed.get("type")
    if kind in ("event_callback", "url_verification", "app_rate_limited"):
        return _EVENTS_API(parsed) and (kind != "event_callback" or _EVENT(parsed.get("event")))
    # What each kind of interaction is about must be there (Bolt reads it unguarded).
    needed = {"block_actions": "actions", "view_submission": "view", "view_closed": "view"}
    about = needed.get(kind) if isinstance(kind, str) else None
    # Slack sends null for a missing team or enterprise, never for these.
    never_null = ("user", "channel", "container", "view", "message", "actions")
    return (
        _INTERACTION(parsed)
        and (about is None or parsed.get(about) is not None)
        and not any(key in parsed and parsed[key] is None for key in never_null)
    )


_PAYLOAD: Check = _payload
