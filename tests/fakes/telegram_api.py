"""A recording fake of the Telegram Bot API on 127.0.0.1, over real HTTP.

python-telegram-bot reaches it through its own base-URL settings
(``base_url="http://127.0.0.1:PORT/bot"``, ``base_file_url=".../file/bot"``), so only the
transport is swapped. The fake records every call, serves queued updates to long polling,
answers the sending methods with plausible ``Message`` objects and can be told to fail
the next calls of a method (429 with ``retry_after``, 403, 500) or to answer slowly.

Typical use inside a test::

    async with FakeTelegramApi() as api:
        api.push(api.make.text(user_id=42, text="hello"))
        call = await api.wait_for_call("sendMessage")
        assert call.params["text"] == "..."
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

BOT_USER: dict[str, Any] = {
    "id": 777000111,
    "is_bot": True,
    "first_name": "Together",
    "username": "together_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

# PTB sends plain parameters as form fields whose non-string values are JSON encoded and
# whose string values are sent as they are, so only these names are decoded.
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "commands",
        "allowed_updates",
        "media",
        "scope",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
    }
)
_INT_PARAMS = frozenset(
    {"chat_id", "message_id", "offset", "limit", "timeout", "max_connections", "duration"}
)
_BOOL_PARAMS = frozenset(
    {"drop_pending_updates", "show_alert", "disable_notification", "protect_content"}
)


@dataclass(slots=True)
class Call:
    """One request the fake received.

    Args:
        method: the Bot API method as called (``sendMessage``).
        params: the decoded parameters.
        status: the HTTP status the fake answers with.
        at: ``time.monotonic()`` when the request arrived.
        token: the bot token in the URL.
        result: the ``result`` of a successful answer, once it is given.
    """

    method: str
    params: Mapping[str, Any]
    status: int
    at: float
    token: str
    result: Any = None


@dataclass(slots=True)
class Fault:
    """What the next call of a method gets instead of (or before) its normal answer."""

    status: int = 200
    description: str = ""
    retry_after: int | None = None
    delay: float = 0.0


@dataclass
class _State:
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


class UpdateFactory:
    """Builds Bot API ``Update`` payloads (plain dicts) with increasing ids.

    Every builder returns the update; push it with :meth:`FakeTelegramApi.push` or POST it
    to a webhook.
    """

    def __init__(self) -> None:
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)

    # -- people and chats ----------------------------------------------------------------
    @staticmethod
    def user(
        user_id: int, *, first_name: str = "Amina", language_code: str | None = "en"
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            out["language_code"] = language_code
        return out

    @staticmethod
    def private_chat(user_id: int, *, first_name: str = "Amina") -> dict[str, Any]:
        return {"id": user_id, "type": "private", "first_name": first_name}

    @staticmethod
    def group_chat(chat_id: int, *, kind: str = "supergroup") -> dict[str, Any]:
        return {"id": chat_id, "type": kind, "title": "A group"}

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def _file(self, prefix: str) -> tuple[str, str]:
        n = next(self._file_ids)
        return f"{prefix}-{n}", f"u{prefix}{n}"

    # -- messages ------------------------------------------------------------------------
    def message(
        self,
        user_id: int = 42,
        *,
        chat: dict[str, Any] | None = None,
        language_code: str | None = "en",
        first_name: str = "Amina",
        **content: Any,
    ) -> dict[str, Any]:
        """A ``message`` update; ``content`` holds the message fields (text, photo...)."""
        return {
            "update_id": self.next_update_id(),
            "message": self.message_object(
                user_id,
                chat=chat,
                language_code=language_code,
                first_name=first_name,
                **content,
            ),
        }

    def message_object(
        self,
        user_id: int = 42,
        *,
        chat: dict[str, Any] | None = None,
        language_code: str | None = "en",
        first_name: str = "Amina",
        **content: Any,
    ) -> dict[str, Any]:
        return {
            "message_id": self.next_message_id(),
            "date": int(time.time()),
            "chat": chat or self.private_chat(user_id, first_name=first_name),
            "from": self.user(user_id, first_name=first_name, language_code=language_code),
            **content,
        }

    def text(self, user_id: int = 42, text: str = "hello", **kw: Any) -> dict[str, Any]:
        return self.message(user_id, text=text, **kw)

    def command(
        self, user_id: int = 42, command: str = "start", args: str = "", **kw: Any
    ) -> dict[str, Any]:
        """``/command args``, with the ``bot_command`` entity Telegram adds."""
        head = f"/{command}"
        text = f"{head} {args}" if args else head
        entity = {"type": "bot_command", "offset": 0, "length": len(head)}
        return self.message(user_id, text=text, entities=[entity], **kw)

    def photo(
        self, user_id: int = 42, *, caption: str | None = None, size: int = 120_000, **kw: Any
    ) -> dict[str, Any]:
        """A photo in three sizes, the largest last (as Telegram sends them)."""
        sizes = []
        for i, (w, factor) in enumerate(((90, 0.05), (320, 0.3), (1280, 1.0))):
            file_id, unique = self._file(f"photo{i}")
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "width": w,
                    "height": w,
                    "file_size": int(size * factor),
                }
            )
        extra = {"caption": caption} if caption is not None else {}
        return self.message(user_id, photo=sizes, **extra, **kw)

    def voice(
        self, user_id: int = 42, *, duration: int = 7, size: int = 40_000, **kw: Any
    ) -> dict[str, Any]:
        file_id, unique = self._file("voice")
        voice = {
            "file_id": file_id,
            "file_unique_id": unique,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": size,
        }
        return self.message(user_id, voice=voice, **kw)

    def video(
        self,
        user_id: int = 42,
        *,
        duration: int = 12,
        size: int = 2_000_000,
        mime_type: str = "video/mp4",
        **kw: Any,
    ) -> dict[str, Any]:
        file_id, unique = self._file("video")
        video = {
            "file_id": file_id,
            "file_unique_id": unique,
            "width": 640,
            "height": 360,
            "duration": duration,
            "mime_type": mime_type,
            "file_size": size,
        }
        return self.message(user_id, video=video, **kw)

    def document(
        self,
        user_id: int = 42,
        *,
        mime_type: str = "application/pdf",
        size: int = 50_000,
        file_name: str = "letter.pdf",
        **kw: Any,
    ) -> dict[str, Any]:
        file_id, unique = self._file("doc")
        document = {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": size,
        }
        return self.message(user_id, document=document, **kw)

    def sticker(self, user_id: int = 42, **kw: Any) -> dict[str, Any]:
        file_id, unique = self._file("sticker")
        sticker = {
            "file_id": file_id,
            "file_unique_id": unique,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self.message(user_id, sticker=sticker, **kw)

    def location(self, user_id: int = 42, **kw: Any) -> dict[str, Any]:
        return self.message(user_id, location={"latitude": 41.9, "longitude": 12.5}, **kw)

    def contact(self, user_id: int = 42, **kw: Any) -> dict[str, Any]:
        contact = {"phone_number": "+390000000", "first_name": "Someone"}
        return self.message(user_id, contact=contact, **kw)

    def poll(self, user_id: int = 42, **kw: Any) -> dict[str, Any]:
        poll = {
            "id": "poll-1",
            "question": "Which?",
            "options": [
                {"text": "a", "voter_count": 0, "persistent_id": "o1"},
                {"text": "b", "voter_count": 0, "persistent_id": "o2"},
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": True,  # required by PTB 22.8 (Bot API 9.6)
            "members_only": False,  # required by PTB 22.8 (Bot API 10.0)
        }
        return self.message(user_id, poll=poll, **kw)

    def dice(self, user_id: int = 42, **kw: Any) -> dict[str, Any]:
        return self.message(user_id, dice={"emoji": "🎲", "value": 3}, **kw)

    def edited_text(
        self, user_id: int = 42, *, message_id: int, text: str, **kw: Any
    ) -> dict[str, Any]:
        """An ``edited_message`` update replacing message ``message_id``."""
        body = self.message_object(user_id, text=text, edit_date=int(time.time()), **kw)
        body["message_id"] = message_id
        return {"update_id": self.next_update_id(), "edited_message": body}

    def callback(
        self,
        user_id: int = 42,
        data: str = "choice",
        *,
        message_id: int | None = None,
        chat: dict[str, Any] | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """A ``callback_query`` from a button under a bot message."""
        message = {
            "message_id": message_id or self.next_message_id(),
            "date": int(time.time()),
            "chat": chat or self.private_chat(user_id),
            "from": BOT_USER,
            "text": "a question",
        }
        return {
            "update_id": self.next_update_id(),
            "callback_query": {
                "id": f"cbq-{next(self._callback_ids)}",
                "from": self.user(user_id, language_code=language_code),
                "chat_instance": f"ci-{user_id}",
                "data": data,
                "message": message,
            },
        }

    def my_chat_member(
        self, user_id: int = 42, *, status: str = "kicked", old_status: str = "member"
    ) -> dict[str, Any]:
        """The person blocked (``kicked``) or unblocked (``member``) the bot."""

        def member(state: str) -> dict[str, Any]:
            out: dict[str, Any] = {"user": BOT_USER, "status": state}
            if state == "kicked":
                out["until_date"] = 0
            return out

        return {
            "update_id": self.next_update_id(),
            "my_chat_member": {
                "chat": self.private_chat(user_id),
                "from": self.user(user_id),
                "date": int(time.time()),
                "old_chat_member": member(old_status),
                "new_chat_member": member(status),
            },
        }


class FakeTelegramApi(LoopbackServer):
    """The fake server. Use as ``async with FakeTelegramApi() as api``.

    Args:
        token: the only token it accepts (others get 401, as Telegram answers).
    """

    def __init__(self, token: str = "123456:TEST-token") -> None:  # noqa: S107
        super().__init__()
        self.token = token
        self.make = UpdateFactory()
        self._state = _State()
        self._changed = asyncio.Condition()
        self._new_updates = asyncio.Event()
        self._closing = asyncio.Event()
        self._message_ids = itertools.count(10_000)
        # Called with each call before it is answered; True drops it unanswered (a crash
        # test kills the bot there).
        self.before_answer: Callable[[Call], bool] | None = None
        # Calls this says True to are held: recorded (status 0: never processed, so not
        # a delivery), left unanswered until :meth:`release`.
        self.hold_when: Callable[[Call], bool] | None = None
        self._released = asyncio.Event()

    # -- lifecycle -----------------------------------------------------------------------
    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", "/bot{token}/{method}", self._api)
        router.add_get("/file/bot{token}/{path:.+}", self._file)

    async def stopping(self) -> None:
        self._closing.set()
        self._released.set()
        self._new_updates.set()

    @property
    def base_url(self) -> str:
        """What to give PTB's ``base_url`` (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- driving it ----------------------------------------------------------------------
    def push(self, *updates: dict[str, Any]) -> None:
        """Queue updates for ``getUpdates`` (and wake a waiting long poll)."""
        self._state.updates.extend(updates)
        self._new_updates.set()

    def fail(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        after: int = 0,
        retry_after: int | None = None,
        description: str = "",
    ) -> None:
        """Answer ``times`` calls of ``method`` with an error, after ``after`` normal ones."""
        if not description:
            description = {
                429: f"Too Many Requests: retry after {retry_after}",
                403: "Forbidden: bot was blocked by the user",
                400: "Bad Request: chat not found",
                500: "Internal Server Error",
            }.get(status, "Error")
        fault = Fault(status=status, description=description, retry_after=retry_after)
        self._state.faults.setdefault(method.lower(), []).extend(
            [Fault()] * after + [fault] * times
        )

    def delay(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` normally, after ``seconds``."""
        self._state.faults.setdefault(method.lower(), []).extend([Fault(delay=seconds)] * times)

    def hold(self, predicate: Callable[[Call], bool]) -> None:
        """Hold every later call ``predicate`` accepts: never processed, never answered
        until :meth:`release` (as Telegram would be when the caller dies meanwhile)."""
        self._released.clear()
        self.hold_when = predicate

    def release(self) -> None:
        """Stop holding; the held calls are answered with an error (their caller is
        gone, or tries again)."""
        self.hold_when = None
        self._released.set()

    @property
    def held(self) -> list[Call]:
        """The calls held now (or held and released: status 0, never processed)."""
        return [c for c in self._state.calls if c.status == 0 and c.result is _HELD]

    def add_file(self, file_id: str, content: bytes) -> None:
        """Make ``getFile`` and the file endpoint serve ``content`` for ``file_id``."""
        self._state.files[file_id] = content

    # -- inspecting ----------------------------------------------------------------------
    @property
    def all_calls(self) -> list[Call]:
        return list(self._state.calls)

    def calls(self, method: str | None = None, *, ok_only: bool = False) -> list[Call]:
        """Recorded calls, optionally of one method and only the answered ones."""
        return [
            c
            for c in self._state.calls
            if (method is None or c.method.lower() == method.lower())
            and (not ok_only or c.status == 200)
        ]

    @property
    def pending_updates(self) -> int:
        return len(self._state.updates)

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

    async def wait_idle(self, within: float = 5.0) -> None:
        """Wait until every pushed update has been confirmed by a later ``getUpdates``."""
        await self.wait_until(lambda: not self._state.updates, within)

    # -- the HTTP side -------------------------------------------------------------------
    async def _record(self, call: Call) -> None:
        self._state.calls.append(call)
        async with self._changed:
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        """Record the call as it arrives (a long poll is visible while it waits), then answer."""
        arrived = time.monotonic()
        method = request.match_info["method"]
        token = request.match_info["token"]
        params = await _read_params(request)
        handler = _HANDLERS.get(method.lower())
        fault = self._next_fault(method) if token == self.token else None
        if token != self.token:
            status = 401
        elif fault is not None and fault.status != 200:
            status = fault.status
        else:
            status = 200 if handler is not None else 404
        call = Call(method, params, status, arrived, token)
        if self.before_answer is not None and token == self.token and self.before_answer(call):
            # The test killed the bot at this call: it is never answered (status 0), as
            # when a process dies with its request on the wire.
            call.status = 0
            await self._record(call)
            return _error(500, "the caller is gone")
        if self.hold_when is not None and token == self.token and self.hold_when(call):
            call.status, call.result = 0, _HELD
            await self._record(call)
            await self._released.wait()
            return _error(500, "held, never processed")
        await self._record(call)
        if fault is not None and fault.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.delay)
        if status == 401:
            return _error(401, "Unauthorized")
        if fault is not None and status == fault.status and status != 200:
            extra = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
            return _error(status, fault.description, extra)
        if handler is None:
            return _error(404, "Not Found: method not found")
        if method.lower() == "getupdates":
            result: Any = await self._get_updates(params)
        else:
            result = handler(self, params)
        call.result = result
        return web.json_response({"ok": True, "result": result})

    def _next_fault(self, method: str) -> Fault | None:
        queue = self._state.faults.get(method.lower())
        return queue.pop(0) if queue else None

    async def _get_updates(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates")
        if offset:
            # Telegram forgets every update below the offset: they are confirmed.
            self._state.updates = [u for u in self._state.updates if u["update_id"] >= offset]
            async with self._changed:
                self._changed.notify_all()
        if not self._state.updates and timeout > 0 and not self._closing.is_set():
            self._new_updates.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_updates.wait(), timeout)
        batch = self._state.updates[:limit]
        if allowed:
            batch = [u for u in batch if any(k in u for k in allowed)]
        return batch

    async def _file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        file_id = path.removeprefix("files/")
        content = self._state.files.get(file_id)
        await self._record(
            Call("file", {"path": path}, 200 if content else 404, time.monotonic(), "")
        )
        if content is None:
            raise web.HTTPNotFound()
        return web.Response(body=content)

    # -- answers to the methods ----------------------------------------------------------
    def _sent_message(self, params: Mapping[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params.get("chat_id") or 0)
        chat = (
            {"id": chat_id, "type": "private", "first_name": "Someone"}
            if chat_id > 0
            else {"id": chat_id, "type": "supergroup", "title": "A group"}
        )
        out: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            **content,
        }
        if "reply_markup" in params:
            out["reply_markup"] = params["reply_markup"]
        return out

    def _send_message(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._sent_message(params, text=params.get("text", ""))

    def _edit_message(self, params: Mapping[str, Any]) -> dict[str, Any]:
        out = self._sent_message(params, text=params.get("text", ""), edit_date=int(time.time()))
        out["message_id"] = int(params.get("message_id") or 0)
        return out

    def _edit_caption(self, params: Mapping[str, Any]) -> dict[str, Any]:
        out = self._sent_message(
            params, caption=params.get("caption", ""), edit_date=int(time.time())
        )
        out["message_id"] = int(params.get("message_id") or 0)
        return out

    def _get_file(self, params: Mapping[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        content = self._state.files.get(file_id, b"")
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(content),
            "file_path": f"files/{file_id}",
        }

    def _media_group(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [self._sent_message(params, text="") for _ in params.get("media") or []]


def _media_answer(kind: str) -> Callable[[FakeTelegramApi, Mapping[str, Any]], Any]:
    """The answer to ``send<Kind>``: a message carrying the sent file id."""

    def answer(api: FakeTelegramApi, params: Mapping[str, Any]) -> dict[str, Any]:
        file_id = str(params.get(kind, ""))
        media: Any = {"file_id": file_id, "file_unique_id": f"u-{file_id}"}
        if kind == "photo":
            media = [{**media, "width": 1280, "height": 1280}]
        elif kind == "voice":
            media["duration"] = 1
        elif kind == "video":
            media.update(width=640, height=360, duration=1)
        extra = {"caption": params["caption"]} if "caption" in params else {}
        return api._sent_message(params, **{kind: media}, **extra)

    return answer


def _true(_api: FakeTelegramApi, _params: Mapping[str, Any]) -> bool:
    return True


def _webhook_info(_api: FakeTelegramApi, _params: Mapping[str, Any]) -> dict[str, Any]:
    return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}


_HELD = object()  # the result of a held call: it was never processed

_HANDLERS: dict[str, Callable[[FakeTelegramApi, Mapping[str, Any]], Any]] = {
    "getme": lambda _api, _params: BOT_USER,
    "getupdates": _true,  # answered by FakeTelegramApi._get_updates
    "sendmessage": FakeTelegramApi._send_message,
    "editmessagetext": FakeTelegramApi._edit_message,
    "editmessagereplymarkup": FakeTelegramApi._edit_message,
    "editmessagecaption": FakeTelegramApi._edit_caption,
    "editmessagemedia": FakeTelegramApi._edit_caption,
    "answercallbackquery": _true,
    "sendphoto": _media_answer("photo"),
    "sendvoice": _media_answer("voice"),
    "sendvideo": _media_answer("video"),
    "senddocument": _media_answer("document"),
    "getfile": FakeTelegramApi._get_file,
    "setmycommands": _true,
    "deletemycommands": _true,
    "setwebhook": _true,
    "deletewebhook": _true,
    "getwebhookinfo": _webhook_info,
    "sendchataction": _true,
    "deletemessage": _true,
    "sendmediagroup": FakeTelegramApi._media_group,
}


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Decode a JSON, form-urlencoded or multipart body (and the query string)."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
        return params
    if request.body_exists:
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                content = value.file.read()  # kept: tests check what leaves the bot
                params[name] = {"filename": value.filename, "size": len(content), "data": content}
            else:
                params[name] = _decode(name, str(value))
    return params


def _decode(name: str, value: str) -> Any:
    if name in _JSON_PARAMS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    if name in _INT_PARAMS:
        with contextlib.suppress(ValueError):
            return int(value)
    if name in _BOOL_PARAMS and value in ("true", "false"):
        return value == "true"
    return value


def texts_sent(api: FakeTelegramApi, chat_id: int | None = None) -> list[str]:
    """The texts of every answered ``sendMessage`` (to one chat, when given)."""
    return [
        str(c.params.get("text", ""))
        for c in api.calls("sendMessage", ok_only=True)
        if chat_id is None or int(c.params.get("chat_id", 0)) == chat_id
    ]


def keyboard_of(call: Call) -> list[list[dict[str, Any]]]:
    """The inline keyboard rows of a recorded send or edit (empty when none)."""
    markup = call.params.get("reply_markup") or {}
    rows: Iterable[list[dict[str, Any]]] = markup.get("inline_keyboard", [])
    return [list(row) for row in rows]
