"""A recording fake of the Slack Web API on 127.0.0.1, over real HTTP, and signed requests.

slack_sdk reaches it through its own base-URL setting
(``AsyncWebClient(base_url="http://127.0.0.1:PORT/api/")``, i.e. ``SLACK_API_URL``), so only
the transport is swapped. The fake records every call, answers the methods the bot uses
with plausible objects, can be told to fail the next calls of a method (``ratelimited``
with a ``Retry-After`` header, ``channel_not_found``, a 500) and serves Socket Mode: a
WebSocket that ``apps.connections.open`` points at, through which a test sends envelopes
and awaits their acknowledgements.

:class:`SlackRequests` builds what Slack sends the app (events, slash commands, button
clicks, modal submissions, shortcuts) and signs it with the signing secret, as Slack does.

Typical use inside a test::

    async with FakeSlackApi() as api:
        ...
        call = await api.wait_for_call("chat.postMessage")
        assert call.params["channel"] == "D1"
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

from tests.fakes.loopback import LoopbackServer

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SIGNING_SECRET = "test-signing-secret-0123456789"
TEAM_ID = "T0TEST"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0APP"


@dataclass(slots=True)
class Call:
    """One request the fake received.

    Args:
        method: the Web API method (``chat.postMessage``).
        params: the decoded parameters (query, form or JSON body).
        status: the HTTP status the fake answered with.
        error: the ``error`` of an ``ok: false`` answer, if any.
        at: ``time.monotonic()`` when the request arrived.
        result: the answer's body.
    """

    method: str
    params: Mapping[str, Any]
    status: int
    error: str | None
    at: float
    result: Mapping[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclass(slots=True)
class Fault:
    """What the next call of a method gets instead of its normal answer."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0


@dataclass
class _State:
    calls: list[Call] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    socket_connections: int = 0
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)


class FakeSlackApi(LoopbackServer):
    """The fake server. Use as ``async with FakeSlackApi() as api``.

    Args:
        token: the only bot token it accepts (others get ``invalid_auth``).
        app_token: the only app-level token ``apps.connections.open`` accepts.
    """

    def __init__(self, token: str = BOT_TOKEN, app_token: str = APP_TOKEN) -> None:
        super().__init__()
        self.token = token
        self.app_token = app_token
        self._state = _State()
        self._changed = asyncio.Condition()
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []

    # -- lifecycle -----------------------------------------------------------------------
    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", "/api/{method}", self._api)
        router.add_get("/socket", self._socket)
        router.add_get("/files-pri/{file_id}/{name}", self._download)

    async def stopping(self) -> None:
        for ws in list(self._sockets):
            await ws.close()

    @property
    def base_url(self) -> str:
        """What to give ``SLACK_API_URL``."""
        return f"http://127.0.0.1:{self.port}/api/"

    # -- driving it ----------------------------------------------------------------------
    def add_user(
        self, user_id: str, *, locale: str | None = "en-US", real_name: str = "Amina"
    ) -> None:
        """Make ``users.info`` know ``user_id`` with this locale."""
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": real_name.lower(),
            "real_name": real_name,
            "is_bot": False,
            "profile": {"real_name": real_name, "display_name": real_name},
        }
        if locale is not None:
            user["locale"] = locale
        self._state.users[user_id] = user

    def fail(
        self,
        method: str,
        error: str | None = None,
        *,
        status: int = 200,
        times: int = 1,
        after: int = 0,
        retry_after: int | None = None,
    ) -> None:
        """Answer ``times`` calls of ``method`` with an error, after ``after`` normal ones.

        ``fail("chat.postMessage", "ratelimited", status=429, retry_after=3)`` is Slack's
        rate limit; ``fail(m, status=500)`` a server error with a non-JSON body.
        """
        fault = Fault(status=status, error=error, retry_after=retry_after)
        self._state.faults.setdefault(method, []).extend([Fault()] * after + [fault] * times)

    def delay(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` normally, after ``seconds``."""
        self._state.faults.setdefault(method, []).extend([Fault(delay=seconds)] * times)

    # -- inspecting ----------------------------------------------------------------------
    @property
    def all_calls(self) -> list[Call]:
        return list(self._state.calls)

    def calls(self, method: str | None = None, *, ok_only: bool = False) -> list[Call]:
        """Recorded calls, optionally of one method and only the successful ones."""
        return [
            c
            for c in self._state.calls
            if (method is None or c.method == method) and (not ok_only or c.ok)
        ]

    async def wait_for_call(
        self, method: str, n: int = 1, *, within: float = 5.0, ok_only: bool = False
    ) -> Call:
        """Wait until ``method`` has been called ``n`` times; return the n-th call."""
        await self.wait_until(lambda: len(self.calls(method, ok_only=ok_only)) >= n, within)
        return self.calls(method, ok_only=ok_only)[n - 1]

    async def wait_until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Wait (on the fake's change notifications, never polling) until ``predicate()``."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    # -- Socket Mode -----------------------------------------------------------------------
    @property
    def socket_connections(self) -> int:
        """How many Socket Mode connections were ever opened."""
        return self._state.socket_connections

    @property
    def connected(self) -> int:
        """How many Socket Mode connections are open now."""
        return len(self._sockets)

    async def send_envelope(
        self, kind: str, payload: Mapping[str, Any], *, retry_attempt: int = 0
    ) -> str:
        """Send one Socket Mode envelope (``events_api``, ``slash_commands``,
        ``interactive``) to the connected app; returns its ``envelope_id``."""
        if not self._sockets:
            raise RuntimeError("no Socket Mode connection")
        envelope_id = str(uuid.uuid4())
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": dict(payload),
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
        return envelope_id

    async def wait_for_ack(self, envelope_id: str, within: float = 5.0) -> dict[str, Any]:
        """The app's acknowledgement of an envelope, once it arrives."""
        await self.wait_until(lambda: envelope_id in self._state.acks, within)
        return self._state.acks[envelope_id]

    async def wait_for_socket(self, within: float = 5.0) -> None:
        await self.wait_until(lambda: bool(self._sockets), within)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self._state.socket_connections += 1
        await self._notify()
        await ws.send_json({"type": "hello", "num_connections": 1})
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                if "envelope_id" in data:
                    self._state.acks[str(data["envelope_id"])] = data
                    await self._notify()
        finally:
            self._sockets.remove(ws)
            await self._notify()
        return ws

    # -- the HTTP side -------------------------------------------------------------------
    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        method = request.match_info["method"]
        params = await _read_params(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        token = token or str(params.get("token", ""))
        faults = self._state.faults.get(method)
        fault = faults.pop(0) if faults else None
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        expected = self.app_token if method == "apps.connections.open" else self.token
        if token != expected:
            return await self._answer(
                method, params, arrived, {"ok": False, "error": "invalid_auth"}
            )
        if fault is not None and fault.status >= 500:
            call = Call(method, params, fault.status, "server_error", arrived)
            self._state.calls.append(call)
            await self._notify()
            return web.Response(status=fault.status, text="<html>upstream error</html>")
        if fault is not None and (fault.error or fault.status != 200):
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            body = {"ok": False, "error": fault.error or "error"}
            return await self._answer(method, params, arrived, body, fault.status, headers)
        handler = _HANDLERS.get(method)
        if handler is None:
            body = {"ok": False, "error": "unknown_method"}
            return await self._answer(method, params, arrived, body, 404)
        return await self._answer(method, params, arrived, handler(self, params))

    async def _answer(
        self,
        method: str,
        params: Mapping[str, Any],
        arrived: float,
        body: Mapping[str, Any],
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        error = None if body.get("ok") else str(body.get("error", "error"))
        self._state.calls.append(Call(method, params, status, error, arrived, body))
        await self._notify()
        return web.json_response(dict(body), status=status, headers=dict(headers or {}))

    # -- answers ----------------------------------------------------------------------------
    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def _auth_test(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://together-test.slack.com/",
            "team": "Together Test",
            "user": "together",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _users_info(self, params: Mapping[str, Any]) -> dict[str, Any]:
        user = self._state.users.get(str(params.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _conversations_open(self, params: Mapping[str, Any]) -> dict[str, Any]:
        users = str(params.get("users", ""))
        return {"ok": True, "channel": {"id": dm_channel(users)}}

    def _post_message(self, params: Mapping[str, Any]) -> dict[str, Any]:
        ts = self._next_ts()
        channel = str(params.get("channel", ""))
        message = {"type": "message", "text": params.get("text"), "ts": ts, "bot_id": BOT_ID}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "channel": params.get("channel"),
            "ts": params.get("ts"),
            "text": params.get("text"),
        }

    def _ephemeral(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _delete(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}

    def _view(self, params: Mapping[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        view = json.loads(view) if isinstance(view, str) else dict(view or {})
        return {"ok": True, "view": {**view, "id": f"V{next(self._views):06d}"}}

    def _connections_open(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}

    def add_file(self, file_id: str, content: bytes, mimetype: str = "image/jpeg") -> None:
        """Make ``files.info`` describe ``file_id`` and its private URL serve ``content``."""
        self._state.files[file_id] = (content, mimetype)

    def _files_info(self, params: Mapping[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file", ""))
        if file_id not in self._state.files:
            return {"ok": False, "error": "file_not_found"}
        content, mimetype = self._state.files[file_id]
        url = f"http://127.0.0.1:{self.port}/files-pri/{file_id}/download"
        return {
            "ok": True,
            "file": {
                "id": file_id,
                "mimetype": mimetype,
                "size": len(content),
                "url_private": url,
                "url_private_download": url,
            },
        }

    async def _download(self, request: web.Request) -> web.Response:
        """A file's private URL: only with the bot token, as Slack serves it."""
        file_id = request.match_info["file_id"]
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        allowed = token == self.token and file_id in self._state.files
        self._state.calls.append(
            Call("file", {"file": file_id}, 200 if allowed else 403, None, time.monotonic())
        )
        await self._notify()
        if not allowed:  # Slack answers its sign-in page
            return web.Response(status=200, text="<html>sign in</html>", content_type="text/html")
        content, mimetype = self._state.files[file_id]
        return web.Response(body=content, content_type=mimetype)


_HANDLERS: dict[str, Callable[[FakeSlackApi, Mapping[str, Any]], dict[str, Any]]] = {
    "auth.test": FakeSlackApi._auth_test,
    "users.info": FakeSlackApi._users_info,
    "conversations.open": FakeSlackApi._conversations_open,
    "chat.postMessage": FakeSlackApi._post_message,
    "chat.update": FakeSlackApi._update,
    "chat.postEphemeral": FakeSlackApi._ephemeral,
    "chat.delete": FakeSlackApi._delete,
    "views.open": FakeSlackApi._view,
    "views.publish": FakeSlackApi._view,
    "apps.connections.open": FakeSlackApi._connections_open,
    "files.info": FakeSlackApi._files_info,
}


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query, form or JSON parameters (slack_sdk uses each, by method); JSON-looking form
    values (``blocks``, ``view``) are decoded."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            params[key] = value
    for key in ("blocks", "view"):
        encoded = params.get(key)
        if isinstance(encoded, str) and encoded[:1] in "[{":
            params[key] = json.loads(encoded)
    return params


def dm_channel(user_id: str) -> str:
    """The fake's DM channel id with ``user_id``."""
    return "D" + user_id.removeprefix("U")


def texts_of(call: Call) -> list[str]:
    """Every text a message shows: its fallback ``text`` and each block's text."""
    out = [str(call.params.get("text") or "")]
    for block in call.params.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, Mapping):
            out.append(str(text.get("text", "")))
    return out


def buttons_of(call: Call) -> list[dict[str, Any]]:
    """The buttons of a posted message or view, in order."""
    blocks = call.params.get("blocks")
    if blocks is None and isinstance(call.params.get("view"), Mapping):
        blocks = call.params["view"].get("blocks")
    out: list[dict[str, Any]] = []
    for block in blocks or []:
        if block.get("type") == "actions":
            out.extend(e for e in block.get("elements", []) if e.get("type") == "button")
    return out


class SlackRequests:
    """What Slack sends the app, signed with the signing secret.

    Each builder returns ``(body, headers)`` ready to POST to ``/slack/events``; the
    ``payload`` builders return the bare payload (for Socket Mode envelopes, or to sign
    with :meth:`signed`).
    """

    def __init__(self, secret: str = SIGNING_SECRET) -> None:
        self.secret = secret
        self._events = itertools.count(1)
        self._ts = itertools.count(1)
        self._triggers = itertools.count(1)

    # -- signing ---------------------------------------------------------------------------
    def sign(self, body: bytes, timestamp: int) -> str:
        base = b"v0:" + str(timestamp).encode() + b":" + body
        return "v0=" + hmac.new(self.secret.encode(), base, hashlib.sha256).hexdigest()

    def signed(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """``body`` with Slack's signature headers (``timestamp``: now by default)."""
        moment = int(time.time()) if timestamp is None else timestamp
        headers = {
            "content-type": content_type,
            "x-slack-request-timestamp": str(moment),
            "x-slack-signature": self.sign(body, moment),
            **dict(extra or {}),
        }
        return body, headers

    def _json(self, payload: Mapping[str, Any], **kw: Any) -> tuple[bytes, dict[str, str]]:
        return self.signed(json.dumps(payload).encode(), "application/json", **kw)

    def _form(self, fields: Mapping[str, str], **kw: Any) -> tuple[bytes, dict[str, str]]:
        body = urlencode(fields).encode()
        return self.signed(body, "application/x-www-form-urlencoded", **kw)

    def _interactive(self, payload: Mapping[str, Any], **kw: Any) -> tuple[bytes, dict[str, str]]:
        return self._form({"payload": json.dumps(payload)}, **kw)

    def next_ts(self) -> str:
        return f"{1_600_000_000 + next(self._ts)}.000200"

    def next_trigger(self) -> str:
        return f"{next(self._triggers)}.1.trigger"

    # -- Events API ------------------------------------------------------------------------
    def event_payload(
        self, event: Mapping[str, Any], *, event_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._events):08d}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "enterprise_id": None}
            ],
        }

    def dm_event(self, user_id: str, text: str, **fields: Any) -> dict[str, Any]:
        """A ``message.im`` event: ``user_id`` wrote ``text`` in their DM with the app."""
        return {
            "type": "message",
            "channel": dm_channel(user_id),
            "channel_type": "im",
            "user": user_id,
            "text": text,
            "ts": self.next_ts(),
            "event_ts": self.next_ts(),
            **fields,
        }

    def event(
        self, event: Mapping[str, Any], *, event_id: str | None = None, retry: int = 0, **kw: Any
    ) -> tuple[bytes, dict[str, str]]:
        extra = {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"}
        return self._json(
            self.event_payload(event, event_id=event_id), extra=extra if retry else None, **kw
        )

    def home_opened(self, user_id: str, *, tab: str = "home") -> tuple[bytes, dict[str, str]]:
        event = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": dm_channel(user_id),
            "tab": tab,
            "event_ts": self.next_ts(),
        }
        return self.event(event)

    # -- slash commands ----------------------------------------------------------------------
    def command_payload(
        self, user_id: str, command: str, text: str = "", *, channel: str | None = None
    ) -> dict[str, str]:
        in_dm = channel is None
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "together-test",
            "channel_id": channel or dm_channel(user_id),
            "channel_name": "directmessage" if in_dm else "general",
            "user_id": user_id,
            "user_name": "amina",
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "response_url": "https://hooks.slack.test/commands/1",
            "trigger_id": self.next_trigger(),
        }

    def command(
        self, user_id: str, command: str, text: str = "", *, channel: str | None = None, **kw: Any
    ) -> tuple[bytes, dict[str, str]]:
        return self._form(self.command_payload(user_id, command, text, channel=channel), **kw)

    # -- interactivity -----------------------------------------------------------------------
    def button_payload(
        self,
        user_id: str,
        button: Mapping[str, Any],
        *,
        channel: str | None = None,
        message_ts: str = "1.0",
        action_ts: str | None = None,
    ) -> dict[str, Any]:
        """A click on ``button`` (as the app rendered it) under a message in ``channel``
        (the DM by default)."""
        channel_id = channel or dm_channel(user_id)
        return {
            "type": "block_actions",
            "user": {"id": user_id, "username": "amina", "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            },
            "trigger_id": self.next_trigger(),
            "team": {"id": TEAM_ID, "domain": "together-test"},
            "channel": {"id": channel_id, "name": "directmessage"},
            "message": {"type": "message", "ts": message_ts, "bot_id": BOT_ID},
            "response_url": "https://hooks.slack.test/actions/1",
            "actions": [
                {
                    "action_id": button["action_id"],
                    "block_id": "b1",
                    "text": button.get("text"),
                    "value": button.get("value"),
                    "type": "button",
                    "action_ts": action_ts or self.next_ts(),
                }
            ],
        }

    def button(
        self, user_id: str, button: Mapping[str, Any], **kw: Any
    ) -> tuple[bytes, dict[str, str]]:
        return self._interactive(self.button_payload(user_id, button, **kw))

    def home_button(self, user_id: str, button: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        """A click on a button of the App Home tab."""
        payload = {
            "type": "block_actions",
            "user": {"id": user_id, "username": "amina", "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "container": {"type": "view", "view_id": "VHOME"},
            "trigger_id": self.next_trigger(),
            "team": {"id": TEAM_ID, "domain": "together-test"},
            "view": {"id": "VHOME", "type": "home", "callback_id": ""},
            "actions": [
                {
                    "action_id": button["action_id"],
                    "block_id": "b1",
                    "value": button.get("value"),
                    "type": "button",
                    "action_ts": self.next_ts(),
                }
            ],
        }
        return self._interactive(payload)

    def view_submission_payload(
        self, user_id: str, view: Mapping[str, Any], values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The submission of ``view`` (as the app opened it) with ``values``: per block id,
        a string for a text input, or ``{"selected": value}`` for a choice."""
        state: dict[str, Any] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input" or block["block_id"] not in values:
                continue
            element = block["element"]
            given = values[block["block_id"]]
            kind = element["type"]
            if kind == "plain_text_input":
                state[block["block_id"]] = {element["action_id"]: {"type": kind, "value": given}}
            elif kind == "checkboxes":
                chosen = [o for o in element["options"] if o["value"] == given["selected"]]
                state[block["block_id"]] = {
                    element["action_id"]: {"type": kind, "selected_options": chosen}
                }
            else:
                chosen = [o for o in element["options"] if o["value"] == given["selected"]]
                state[block["block_id"]] = {
                    element["action_id"]: {"type": kind, "selected_option": chosen[0]}
                }
        return {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "together-test"},
            "user": {"id": user_id, "username": "amina", "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "trigger_id": self.next_trigger(),
            "view": {
                **dict(view),
                "id": view.get("id", "V000001"),
                "state": {"values": state},
                "hash": "h1",
            },
        }

    def view_submission(
        self, user_id: str, view: Mapping[str, Any], values: Mapping[str, Any]
    ) -> tuple[bytes, dict[str, str]]:
        return self._interactive(self.view_submission_payload(user_id, view, values))

    def shortcut(self, user_id: str, callback_id: str) -> tuple[bytes, dict[str, str]]:
        payload = {
            "type": "shortcut",
            "token": "legacy-verification-token",
            "action_ts": self.next_ts(),
            "team": {"id": TEAM_ID, "domain": "together-test"},
            "user": {"id": user_id, "username": "amina", "team_id": TEAM_ID},
            "callback_id": callback_id,
            "trigger_id": self.next_trigger(),
        }
        return self._interactive(payload)
