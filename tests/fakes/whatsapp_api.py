"""A recording fake of the WhatsApp Cloud API (Graph) on 127.0.0.1, over real HTTP, and
signed webhook deliveries.

pywa reaches it through ``WHATSAPP_API_URL`` (the adapter points its httpx client's base
URL at it), so only the transport is swapped. The fake records every call, answers
``POST /<version>/<phone id>/messages`` (text, interactive buttons / list / CTA URL,
template, media by id) and ``/media`` (upload) as Graph does, serves media: ``GET
/<version>/<media id>`` answers the file's URL, which is fetched with the bearer token.
It can be told to fail the next calls of an endpoint with WhatsApp's real error codes
(130429 rate limit, 131056 pair rate limit, 131047 re-engagement required, 131026
undeliverable) or a 5xx.

:class:`WhatsAppWebhooks` builds what Meta POSTs to the webhook (the real payload shape:
``entry[].changes[].value.messages[]`` / ``.statuses[]``, ``contacts[].profile.name``,
``wa_id``) and signs it (``X-Hub-Signature-256``: HMAC-SHA256 of the raw body with the
app secret).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

TOKEN = "EAAG-test-token"
PHONE_ID = "106540352242922"
WABA_ID = "102290129340398"
DISPLAY_NUMBER = "15550783881"
VERIFY_TOKEN = "test-verify-token"
APP_SECRET = "test-app-secret-0123456789"

# What Graph answers for each code (message, HTTP status); the codes are WhatsApp's own.
ERRORS: dict[int, tuple[str, int]] = {
    130429: ("Rate limit hit", 400),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", 400),
    131047: ("Re-engagement message", 400),
    131026: ("Message undeliverable", 400),
    131009: ("Parameter value is not valid", 400),
    100: ("Invalid parameter", 400),
    190: ("Error validating access token", 401),
}


@dataclass(slots=True)
class Call:
    """One request the fake received.

    Args:
        endpoint: ``messages``, ``media`` (upload), ``media_url`` or ``download``.
        params: the decoded JSON body (or form fields of an upload).
        status: the HTTP status answered.
        error: the WhatsApp error code answered, if any.
        at: ``time.monotonic()`` on arrival.
        result: the answer's body.
    """

    endpoint: str
    params: Mapping[str, Any]
    status: int
    error: int | None
    at: float
    result: Mapping[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(slots=True)
class Fault:
    status: int = 400
    code: int | None = None


@dataclass(slots=True)
class _State:
    calls: list[Call] = field(default_factory=list)
    faults: dict[str, list[Fault | None]] = field(default_factory=dict)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    reported_sizes: dict[str, int | None] = field(default_factory=dict)


class FakeGraphApi(LoopbackServer):
    """The fake server. Use as ``async with FakeGraphApi() as api``.

    Args:
        token: the only access token accepted (others get error 190, HTTP 401).
        phone_id: the business phone number id messages are sent from.
    """

    def __init__(self, token: str = TOKEN, phone_id: str = PHONE_ID) -> None:
        super().__init__()
        self.token = token
        self.phone_id = phone_id
        self._state = _State()
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/{version}/{phone_id}/messages", self._messages)
        router.add_post("/{version}/{phone_id}/media", self._upload)
        router.add_get("/files/{media_id}", self._download)
        router.add_get("/{version}/{media_id}", self._media_url)

    @property
    def base_url(self) -> str:
        """What to give ``WHATSAPP_API_URL``."""
        return f"http://127.0.0.1:{self.port}"

    # -- test controls ------------------------------------------------------------------------
    def fail(
        self,
        endpoint: str,
        code: int | None = None,
        *,
        status: int = 0,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """The next ``times`` calls of ``endpoint`` (after ``after`` that go through) get
        WhatsApp error ``code`` (with its HTTP status unless ``status`` is given), or a
        bare ``status`` (a 5xx page) without a code."""
        if code is not None and not status:
            status = ERRORS.get(code, ("", 400))[1]
        faults = self._state.faults.setdefault(endpoint, [])
        faults.extend([None] * after)
        faults.extend(Fault(status or 500, code) for _ in range(times))

    def add_media(
        self, media_id: str, content: bytes, mime: str = "image/jpeg", *, reported_size: Any = ...
    ) -> None:
        """A file a person sent, to be fetched through the media endpoints (its
        ``file_size`` as Graph reports it: the true size unless ``reported_size``)."""
        self._state.media[media_id] = (content, mime)
        if reported_size is not ...:
            self._state.reported_sizes[media_id] = reported_size

    @property
    def all_calls(self) -> list[Call]:
        return list(self._state.calls)

    def calls(self, endpoint: str = "messages", *, ok_only: bool = True) -> list[Call]:
        return [c for c in self._state.calls if c.endpoint == endpoint and (c.ok or not ok_only)]

    def sent_to(self, wa_id: str) -> list[Call]:
        """The messages delivered to ``wa_id``, in order."""
        return [c for c in self.calls("messages") if c.params.get("to") == wa_id]

    async def wait_until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    # -- endpoints ----------------------------------------------------------------------------
    async def _record(self, call: Call) -> None:
        self._state.calls.append(call)
        async with self._changed:
            self._changed.notify_all()

    def _authorised(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def _refusal(
        self, endpoint: str, params: Mapping[str, Any], request: web.Request
    ) -> web.Response | None:
        """The answer instead of the normal one: a wrong token, a wrong phone id, a fault."""
        arrived = time.monotonic()
        if not self._authorised(request):
            return await self._error(endpoint, params, arrived, 190, 401)
        phone_id = request.match_info.get("phone_id")
        if phone_id is not None and phone_id != self.phone_id:
            return await self._error(endpoint, params, arrived, 100, 400)
        faults = self._state.faults.get(endpoint)
        fault = faults.pop(0) if faults else None
        if fault is None:
            return None
        if fault.code is None:
            await self._record(Call(endpoint, params, fault.status, None, arrived))
            return web.Response(status=fault.status, text="<html>Service unavailable</html>")
        return await self._error(endpoint, params, arrived, fault.code, fault.status)

    async def _error(
        self, endpoint: str, params: Mapping[str, Any], arrived: float, code: int, status: int
    ) -> web.Response:
        message = ERRORS.get(code, ("Error", 400))[0]
        body = {
            "error": {
                "message": f"({'#' + str(code)}) {message}",
                "type": "OAuthException",
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": message},
                "fbtrace_id": f"A{next(self._ids)}",
            }
        }
        await self._record(Call(endpoint, params, status, code, arrived, body))
        return web.json_response(body, status=status)

    async def _messages(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        params = await request.json()
        refused = await self._refusal("messages", params, request)
        if refused is not None:
            return refused
        if params.get("messaging_product") != "whatsapp" or not params.get("to"):
            return await self._error("messages", params, arrived, 100, 400)
        problem = _message_problem(params)
        if problem is not None:
            return await self._error("messages", params, arrived, 131009, 400)
        to = str(params["to"])
        body = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": f"wamid.OUT{next(self._ids):06d}"}],
        }
        await self._record(Call("messages", params, 200, None, arrived, body))
        return web.json_response(body)

    async def _upload(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        refused = await self._refusal("media", fields, request)
        if refused is not None:
            return refused
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return await self._error("media", fields, arrived, 100, 400)
        media_id = f"{next(self._ids) + 9_000_000_000}"
        self._state.media[media_id] = (upload.file.read(), upload.content_type)
        body = {"id": media_id}
        await self._record(Call("media", {**fields, "id": media_id}, 200, None, arrived, body))
        return web.json_response(body)

    async def _media_url(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        media_id = request.match_info["media_id"]
        params = {"media_id": media_id}
        refused = await self._refusal("media_url", params, request)
        if refused is not None:
            return refused
        if media_id not in self._state.media:
            return await self._error("media_url", params, arrived, 100, 400)
        content, mime = self._state.media[media_id]
        body = {
            "messaging_product": "whatsapp",
            "url": f"{self.base_url}/files/{media_id}",
            "mime_type": mime,
            "sha256": hashlib.sha256(content).hexdigest(),
            "file_size": self._state.reported_sizes.get(media_id, len(content)),
            "id": media_id,
        }
        await self._record(Call("media_url", params, 200, None, arrived, body))
        return web.json_response(body)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        media_id = request.match_info["media_id"]
        params = {"media_id": media_id}
        refused = await self._refusal("download", params, request)
        if refused is not None:
            return refused
        if media_id not in self._state.media:
            await self._record(Call("download", params, 404, None, arrived))
            return web.Response(status=404)
        content, mime = self._state.media[media_id]
        await self._record(Call("download", params, 200, None, arrived))
        return web.Response(body=content, content_type=mime)


def _message_problem(params: Mapping[str, Any]) -> str | None:
    """What Graph would refuse in a message (WhatsApp's documented limits), or None."""
    kind = params.get("type")
    if kind == "text":
        body = params.get("text", {}).get("body", "")
        return "text too long" if not body or len(body) > 4096 else None
    if kind == "interactive":
        interactive = params.get("interactive", {})
        body = interactive.get("body", {}).get("text", "")
        if not body or len(body) > 1024:
            return "body"
        action = interactive.get("action", {})
        if interactive.get("type") == "button":
            buttons = action.get("buttons", [])
            if not 1 <= len(buttons) <= 3:
                return "buttons"
            titles = [b["reply"]["title"] for b in buttons]
            ids = [b["reply"]["id"] for b in buttons]
            if any(not t or len(t) > 20 for t in titles) or len(set(titles)) != len(titles):
                return "button title"
            return "button id" if any(len(i) > 256 for i in ids) else None
        if interactive.get("type") == "list":
            rows = [row for section in action.get("sections", []) for row in section["rows"]]
            if not 1 <= len(rows) <= 10 or not 1 <= len(action.get("button", "")) <= 20:
                return "list"
            if any(not r["title"] or len(r["title"]) > 24 for r in rows):
                return "row title"
            if any(len(r.get("description", "")) > 72 or len(r["id"]) > 200 for r in rows):
                return "row"
            return None
        if interactive.get("type") == "cta_url":
            display = action.get("parameters", {}).get("display_text", "")
            return "cta" if not display or len(display) > 20 else None
        return "interactive type"
    if kind == "template":
        template = params.get("template", {})
        name, code = template.get("name", ""), template.get("language", {}).get("code")
        named = bool(name) and name == name.lower() and name.replace("_", "").isalnum()
        return None if named and code else "template"
    if kind in ("image", "audio", "video", "document"):
        return None
    return "type"


def interactive_of(call: Call) -> Mapping[str, Any]:
    return call.params.get("interactive", {}) if call.params.get("type") == "interactive" else {}


def text_of(call: Call) -> str:
    """The text a message shows: a text's body, an interactive message's body, a caption."""
    kind = call.params.get("type")
    if kind == "text":
        return str(call.params["text"]["body"])
    if kind == "interactive":
        return str(interactive_of(call)["body"]["text"])
    if kind in ("image", "video", "document"):
        return str(call.params[kind].get("caption", ""))
    return ""


def template_of(call: Call) -> Mapping[str, Any]:
    """A template message's name, language code, body parameters and button payloads."""
    template = call.params.get("template", {}) if call.params.get("type") == "template" else {}
    components = template.get("components", [])
    return {
        "name": template.get("name"),
        "language": template.get("language", {}).get("code"),
        "body": [p["text"] for c in components if c.get("type") == "body" for p in c["parameters"]],
        "payloads": [
            p["payload"] for c in components if c.get("type") == "button" for p in c["parameters"]
        ],
    }


def options_of(call: Call) -> list[tuple[str, str]]:
    """(title, id) of every reply button or list row of a message."""
    interactive = interactive_of(call)
    action = interactive.get("action", {})
    if interactive.get("type") == "button":
        return [(b["reply"]["title"], b["reply"]["id"]) for b in action["buttons"]]
    if interactive.get("type") == "list":
        return [(r["title"], r["id"]) for s in action["sections"] for r in s["rows"]]
    return []


class WhatsAppWebhooks:
    """Builds and signs what Meta POSTs to ``/whatsapp/webhook``.

    Args:
        app_secret: the Meta app's secret (``WHATSAPP_APP_SECRET``).
        phone_id: the business phone number id the messages were sent to.
    """

    def __init__(self, app_secret: str = APP_SECRET, phone_id: str = PHONE_ID) -> None:
        self.app_secret = app_secret
        self.phone_id = phone_id
        self._ids = itertools.count(1)
        self._clock = itertools.count(int(time.time()))  # seconds, as Meta stamps them

    def sign(self, body: bytes) -> str:
        digest = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return f"sha256={digest}"

    def signed(self, payload: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(payload, ensure_ascii=False).encode()
        return body, {"Content-Type": "application/json", "X-Hub-Signature-256": self.sign(body)}

    def envelope(
        self,
        *,
        messages: list[dict[str, Any]] | None = None,
        statuses: list[dict[str, Any]] | None = None,
        contacts: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        value: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": self.phone_id},
        }
        if contacts:
            value["contacts"] = contacts
        if messages:
            value["messages"] = messages
        if statuses:
            value["statuses"] = statuses
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
        }

    def message_id(self) -> str:
        return f"wamid.HBgLMTU1NTAxMjM0NTYVAgASGBQzQUE{next(self._ids):08d}AA=="

    def message(
        self,
        wa_id: str,
        kind: str,
        content: Mapping[str, Any] | None,
        *,
        name: str | None = "Amina",
        message_id: str | None = None,
    ) -> dict[str, Any]:
        """One person's message of ``kind`` (``text``, ``interactive``, ``image``...)."""
        message: dict[str, Any] = {
            "from": wa_id,
            "id": message_id or self.message_id(),
            "timestamp": str(next(self._clock)),
            "type": kind,
        }
        if content is not None:
            message[kind] = dict(content)
        contacts = [{"profile": {"name": name}, "wa_id": wa_id}] if name is not None else None
        return self.envelope(messages=[message], contacts=contacts)

    def text(self, wa_id: str, body: str, **kw: Any) -> dict[str, Any]:
        return self.message(wa_id, "text", {"body": body}, **kw)

    def button_reply(self, wa_id: str, choice_id: str, title: str, **kw: Any) -> dict[str, Any]:
        content = {"type": "button_reply", "button_reply": {"id": choice_id, "title": title}}
        return self.message(wa_id, "interactive", content, **kw)

    def list_reply(self, wa_id: str, choice_id: str, title: str, **kw: Any) -> dict[str, Any]:
        content = {"type": "list_reply", "list_reply": {"id": choice_id, "title": title}}
        return self.message(wa_id, "interactive", content, **kw)

    def media(
        self, wa_id: str, kind: str, media_id: str, mime: str, **fields: Any
    ) -> dict[str, Any]:
        """An ``image``, ``audio`` (``voice=True`` for a voice note), ``video``,
        ``document`` (``filename``) or ``sticker``, with an optional ``caption``."""
        name = fields.pop("name", "Amina")
        content = {"id": media_id, "mime_type": mime, "sha256": "0" * 64, **fields}
        return self.message(wa_id, kind, content, name=name)

    def location(self, wa_id: str, **kw: Any) -> dict[str, Any]:
        content = {"latitude": 35.68, "longitude": 139.76, "name": "Shinjuku", "address": "Tokyo"}
        return self.message(wa_id, "location", content, **kw)

    def contacts(self, wa_id: str, **kw: Any) -> dict[str, Any]:
        """A shared contact card (its type's content is a list, under ``contacts``)."""
        card = {
            "name": {"formatted_name": "Sara", "first_name": "Sara"},
            "phones": [{"phone": "+81 90 1234 5678", "type": "CELL"}],
        }
        payload = self.message(wa_id, "contacts", None, **kw)
        payload["entry"][0]["changes"][0]["value"]["messages"][0]["contacts"] = [card]
        return payload

    def quick_reply(self, wa_id: str, payload: str, text: str, **kw: Any) -> dict[str, Any]:
        """A tap on a template's quick-reply button (a ``button`` message)."""
        return self.message(wa_id, "button", {"payload": payload, "text": text}, **kw)

    def reaction(self, wa_id: str, to_message: str, emoji: str = "👍") -> dict[str, Any]:
        return self.message(wa_id, "reaction", {"message_id": to_message, "emoji": emoji})

    def status(
        self, wa_id: str, message_id: str, status: str = "delivered", *, error: int | None = None
    ) -> dict[str, Any]:
        """A status of a message the bot sent; ``failed`` with WhatsApp's ``error`` code."""
        entry: dict[str, Any] = {
            "id": message_id,
            "status": status,
            "timestamp": str(next(self._clock)),
            "recipient_id": wa_id,
        }
        if error is not None:
            title = ERRORS.get(error, ("Error", 400))[0]
            entry["errors"] = [{"code": error, "title": title, "error_data": {"details": title}}]
        return self.envelope(statuses=[entry])
