"""The web chat: the embedded default platform, on the one Starlette app.

The page is served at ``/``; its JSON API lives under ``/api/chat/``. A person is an
anonymous session: a random token in an HttpOnly, SameSite=Strict cookie (the database
keeps only a hash of it). Every POST carries a CSRF token derived from the session, and
must be same-origin. The transcript is stored, so replies sent later (notifications)
appear through a long poll without a reload.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bot.core.events import Inbound, InboundKind, MediaKind, MediaRef, Outgoing
from bot.core.service import BotCore
from bot.i18n import N_, _
from bot.i18n.formatting import format_count
from bot.i18n.translator import is_rtl
from storage.models import Participant, WebChatMessage

log = logging.getLogger(__name__)

PLATFORM = "web"
COOKIE = "tb_session"
POLL_SECONDS = 25.0
TEXT_MAX = 8000
TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"

# (magic bytes at offset, offset, kind, mime) — the type is sniffed, never trusted.
_SIGNATURES: tuple[tuple[bytes, int, MediaKind, str], ...] = (
    (b"\xff\xd8\xff", 0, MediaKind.PHOTO, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, MediaKind.PHOTO, "image/png"),
    (b"GIF8", 0, MediaKind.PHOTO, "image/gif"),
    (b"OggS", 0, MediaKind.VOICE, "audio/ogg"),
    (b"ID3", 0, MediaKind.VOICE, "audio/mpeg"),
    (b"\x1aE\xdf\xa3", 0, MediaKind.VIDEO, "video/webm"),
)


def sniff(head: bytes) -> tuple[MediaKind, str] | None:
    """The kind and MIME type of an upload from its first bytes, or None."""
    for magic, offset, kind, mime in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return kind, mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaKind.PHOTO, "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return MediaKind.VOICE, "audio/wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1"):
            return MediaKind.PHOTO, "image/heic"
        if brand in (b"M4A ", b"M4B "):
            return MediaKind.VOICE, "audio/mp4"
        return MediaKind.VIDEO, "video/mp4"
    return None


def _external_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:40]


class WebChat:
    """Routes of the web chat and its :class:`~bot.core.delivery.Sender`."""

    platform = PLATFORM

    def __init__(self, core: BotCore, *, session_secret: bytes) -> None:
        self.core = core
        self.deps = core.deps
        self._secret = session_secret
        # Long polls waiting for new messages, by the session's external id.
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        self.media_dir = self.deps.media_dir
        self.media_dir.mkdir(parents=True, exist_ok=True)

    def routes(self) -> list[Route]:
        return [
            Route("/", self.page, methods=["GET"]),
            Route("/api/chat/history", self.history, methods=["GET"]),
            Route("/api/chat/poll", self.poll, methods=["GET"]),
            Route("/api/chat/message", self.message, methods=["POST"]),
            Route("/api/chat/upload", self.upload, methods=["POST"]),
            Route("/media/{name:str}", self.media, methods=["GET"]),
            Route("/favicon.ico", self.favicon, methods=["GET"]),
        ]

    # -- sessions and CSRF -----------------------------------------------------------------
    def csrf_token(self, token: str) -> str:
        return hmac.new(self._secret, f"csrf:{token}".encode(), hashlib.sha256).hexdigest()

    def _session_token(self, request: Request) -> str | None:
        token = request.cookies.get(COOKIE)
        return token if token and 20 <= len(token) <= 100 else None

    def _check_post(self, request: Request, token: str | None) -> Response | None:
        """Refuse cross-site and forged requests before any work."""
        if token is None:
            return self._error(
                request, 401, N_("Your chat session has ended. Please reload the page.")
            )
        site = request.headers.get("sec-fetch-site")
        if site not in (None, "same-origin", "none"):
            return self._error(request, 403, N_("This request was refused for your safety."))
        origin = request.headers.get("origin")
        if (
            origin is not None
            and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}"
        ):
            return self._error(request, 403, N_("This request was refused for your safety."))
        sent = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent, self.csrf_token(token)):
            return self._error(
                request,
                403,
                N_("This request was refused for your safety. Please reload the page."),
            )
        return None

    def _error(self, request: Request, status: int, message: str) -> JSONResponse:
        """An error in the person's language (as their browser asks; English source)."""
        translator = self.deps.translator
        with translator.use(translator.negotiate(request.headers.get("accept-language"))):
            return JSONResponse({"error": _(message)}, status_code=status)

    # -- the page ---------------------------------------------------------------------------
    async def page(self, request: Request) -> Response:
        token = self._session_token(request)
        new_session = token is None
        if token is None:
            token = secrets.token_urlsafe(32)
        start = request.query_params.get("start", "")
        hint = request.headers.get("accept-language")
        if new_session or start:
            # A first visit (or a shared link) opens with the welcome, or the linked flow.
            await self.core.handle(
                Inbound(
                    platform=PLATFORM,
                    user_id=_external_id(token),
                    chat_id=_external_id(token),
                    key=f"start:{uuid.uuid4().hex}",
                    kind=InboundKind.COMMAND,
                    command="start",
                    args=start[:64],
                    locale_hint=hint,
                ),
                record=self._record_replies,
            )
            self._notify(_external_id(token))
        locale = await self._locale(token, hint)
        strings = self.ui_strings(locale)
        response = self.templates.TemplateResponse(
            request,
            "chat.html",
            {
                "lang": locale.replace("_", "-"),
                "dir": "rtl" if is_rtl(locale) else "ltr",
                "csrf_token": self.csrf_token(token),
                "strings": strings,
                "static_url": "/static",
                "max_upload_bytes": self.deps.settings.media_max_bytes,
            },
        )
        if new_session:
            response.set_cookie(
                COOKIE,
                token,
                max_age=60 * 60 * 24 * 180,
                httponly=True,
                samesite="strict",
                secure=self.deps.settings.resolved_public_url.startswith("https://"),
                path="/",
            )
        response.headers["Cache-Control"] = "no-store"
        return response

    def ui_strings(self, locale: str) -> dict[str, str]:
        """The page's own words in ``locale`` (the bot's messages come translated)."""
        with self.deps.translator.use(locale):
            mb = self.deps.settings.media_max_bytes // (1024 * 1024)
            return {
                "title": _("TOGETHER — share your story"),
                "subtitle": _("Respect, Safety and Dignity for All"),
                "placeholder": _("Write a message…"),
                "send": _("Send"),
                "attach": _("Attach a photo, voice note or video"),
                "attach_hint": _("Photos, voice notes and short videos"),
                "uploading": _("Sending your file…"),
                "error_network": _(
                    "The message could not be sent. Check your connection and try again."
                ),
                "error_generic": _(
                    "Something went wrong. Your message is kept — please try again."
                ),
                "retry": _("Try again"),
                "offline": _("You are offline. Your message is kept."),
                "reconnecting": _("Reconnecting…"),
                "you": _("You"),
                "bot": _("TOGETHER"),
                "skip_to_input": _("Skip to the message box"),
                "media_photo": _("Photo"),
                "media_voice": _("Voice note"),
                "media_video": _("Video"),
                "media_document": _("Document"),
                "file_too_large": _(
                    "That file is too large (the limit is {mb} MB). Could you send a smaller one?"
                ).format(mb=format_count(mb, locale)),
            }

    async def favicon(self, _request: Request) -> Response:
        return Response(status_code=204)

    async def _participant(self, session: AsyncSession, token: str) -> Participant | None:
        return (
            await session.execute(
                select(Participant).where(
                    col(Participant.platform) == PLATFORM,
                    col(Participant.external_id) == _external_id(token),
                )
            )
        ).scalar_one_or_none()

    async def _locale(self, token: str, hint: str | None) -> str:
        async with self.deps.db.transaction() as session:
            participant = await self._participant(session, token)
        translator = self.deps.translator
        if participant is not None:
            return participant.locale or translator.negotiate(participant.locale_hint or hint)
        return translator.negotiate(hint)

    # -- the API ----------------------------------------------------------------------------
    async def history(self, request: Request) -> Response:
        token = self._session_token(request)
        if token is None:
            return self._error(
                request, 401, N_("Your chat session has ended. Please reload the page.")
            )
        after = _int(request.query_params.get("after"))
        messages, locale = await self._messages(token, after)
        return JSONResponse(
            {
                "messages": messages,
                "locale": locale.replace("_", "-"),
                "dir": "rtl" if is_rtl(locale) else "ltr",
                "strings": self.ui_strings(locale),
            }
        )

    async def poll(self, request: Request) -> Response:
        token = self._session_token(request)
        if token is None:
            return self._error(
                request, 401, N_("Your chat session has ended. Please reload the page.")
            )
        after = _int(request.query_params.get("after"))
        async with self.deps.db.transaction() as session:
            participant = await self._participant(session, token)
        if participant is None or participant.id is None:
            return JSONResponse({"messages": []})
        event = asyncio.Event()
        waiting = _external_id(token)
        self._waiters[waiting].add(event)
        deadline = asyncio.get_running_loop().time() + POLL_SECONDS
        try:
            while True:
                event.clear()  # before reading: a message stored after this wakes us
                messages, _locale = await self._messages(token, after)
                remaining = deadline - asyncio.get_running_loop().time()
                if messages or remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(event.wait(), remaining)
                except TimeoutError:
                    break
        finally:
            self._waiters[waiting].discard(event)
            if not self._waiters[waiting]:
                del self._waiters[waiting]
        return JSONResponse({"messages": messages})

    async def message(self, request: Request) -> Response:
        token = self._session_token(request)
        refused = self._check_post(request, token)
        if refused is not None:
            return refused
        assert token is not None
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self._error(
                request, 415, N_("Something went wrong. Your message is kept — please try again.")
            )
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._error(
                request, 400, N_("Something went wrong. Your message is kept — please try again.")
            )
        client_id = str(body.get("client_id") or uuid.uuid4())[:64]
        text, choice = body.get("text"), body.get("choice")
        base = self._inbound_base(request, token, client_id)
        if isinstance(choice, str) and choice:
            inbound = Inbound(**base, kind=InboundKind.CHOICE, choice=choice[:64])
        elif isinstance(text, str) and text.strip():
            if len(text) > TEXT_MAX:
                return self._error(
                    request,
                    413,
                    N_(
                        "That message is too long to send at once. "
                        "Please split it into shorter messages."
                    ),
                )
            inbound = _text_inbound(base, text)
        else:
            return self._error(request, 400, N_("Please write a message first."))
        return await self._handle(token, inbound, body.get("after"))

    async def upload(self, request: Request) -> Response:
        token = self._session_token(request)
        refused = self._check_post(request, token)
        if refused is not None:
            return refused
        assert token is not None
        limit = self.deps.settings.media_max_bytes
        if _int(request.headers.get("content-length")) > limit + 64 * 1024:
            return self._too_large(request)
        try:
            form = await request.form(max_files=1, max_fields=5, max_part_size=limit + 1)
        except Exception:
            return self._too_large(request)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            return self._error(request, 400, N_("Please choose a file to send."))
        data = await upload.read(limit + 1)
        if len(data) > limit:
            return self._too_large(request)
        sniffed = sniff(data[:32])
        if sniffed is None:
            return self._error(
                request, 415, N_("Sorry, I can only take photos, voice notes and videos.")
            )
        kind, mime = sniffed
        async with self.deps.db.transaction() as session:
            participant = await self._participant(session, token)
        owner = participant.id if participant is not None else 0
        name = f"{owner}-{uuid.uuid4().hex}"
        await asyncio.to_thread((self.media_dir / name).write_bytes, data)
        caption = form.get("caption")
        client_id = str(form.get("client_id") or uuid.uuid4())[:64]
        inbound = Inbound(
            **self._inbound_base(request, token, client_id),
            kind=InboundKind.MEDIA,
            media=(MediaRef(kind=kind, ref=f"local:{name}", mime=mime, size=len(data)),),
            caption=caption[:TEXT_MAX] if isinstance(caption, str) and caption.strip() else None,
        )
        return await self._handle(token, inbound, form.get("after"))

    def _too_large(self, request: Request) -> JSONResponse:
        translator = self.deps.translator
        mb = self.deps.settings.media_max_bytes // (1024 * 1024)
        with translator.use(translator.negotiate(request.headers.get("accept-language"))) as locale:
            message = _(
                "That file is too large (the limit is {mb} MB). Could you send a smaller one?"
            ).format(mb=format_count(mb, locale))
        return JSONResponse({"error": message}, status_code=413)

    async def media(self, request: Request) -> Response:
        """A person's own uploads, for their transcript; nobody else's."""
        token = self._session_token(request)
        name = request.path_params["name"]
        if token is None or not all(c.isalnum() or c == "-" for c in name):
            return Response(status_code=404)
        async with self.deps.db.transaction() as session:
            participant = await self._participant(session, token)
        path = self.media_dir / name
        if participant is None or not name.startswith(f"{participant.id}-") or not path.is_file():
            return Response(status_code=404)
        return FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})

    # -- plumbing ---------------------------------------------------------------------------
    def _inbound_base(self, request: Request, token: str, client_id: str) -> dict[str, Any]:
        external = _external_id(token)
        return {
            "platform": PLATFORM,
            "user_id": external,
            "chat_id": external,
            "key": f"{external[:16]}:{client_id}",
            "locale_hint": request.headers.get("accept-language"),
            "message_id": client_id,
        }

    async def _handle(self, token: str, inbound: Inbound, after: object) -> Response:
        since = _int(after) if after is not None else None
        marker: dict[str, int] = {}

        async def record(
            session: AsyncSession, participant: Participant, replies: list[Outgoing]
        ) -> None:
            assert participant.id is not None
            payload = _user_payload(inbound)
            if inbound.choice:
                payload["text"] = await self._choice_label(session, participant.id, inbound.choice)
            first = WebChatMessage(participant_id=participant.id, sender="user", payload=payload)
            session.add(first)
            await session.flush()
            marker["first"] = first.id or 0
            await self._store(session, participant.id, replies)

        await self.core.handle(inbound, record=record)
        self._notify(_external_id(token))
        start = since if since is not None else marker.get("first", 0) - 1
        messages, _locale = await self._messages(token, max(start, 0))
        return JSONResponse({"messages": messages})

    async def _choice_label(self, session: AsyncSession, participant_id: int, choice: str) -> str:
        """The label of the pressed button, so the transcript shows what was chosen."""
        recent = (
            await session.execute(
                select(WebChatMessage)
                .where(
                    col(WebChatMessage.participant_id) == participant_id,
                    col(WebChatMessage.sender) == "bot",
                )
                .order_by(col(WebChatMessage.id).desc())
                .limit(10)
            )
        ).scalars()
        for row in recent:
            for offered in row.payload.get("choices", []):
                if offered.get("id") == choice:
                    return str(offered.get("label", ""))
        return ""

    async def _record_replies(
        self, session: AsyncSession, participant: Participant, replies: list[Outgoing]
    ) -> None:
        assert participant.id is not None
        await self._store(session, participant.id, replies)

    async def _store(
        self, session: AsyncSession, participant_id: int, replies: list[Outgoing]
    ) -> None:
        """Add replies to the transcript, in the turn's transaction (waiters are woken
        after it commits, or they would read before the rows are visible)."""
        for reply in replies:
            session.add(
                WebChatMessage(participant_id=participant_id, sender="bot", payload=reply.to_json())
            )
        await session.flush()

    def _notify(self, external_id: str) -> None:
        for event in self._waiters.get(external_id, ()):
            event.set()

    async def _messages(self, token: str, after: int) -> tuple[list[dict[str, Any]], str]:
        async with self.deps.db.transaction() as session:
            participant = await self._participant(session, token)
            if participant is None:
                return [], self.deps.translator.default
            rows = (
                (
                    await session.execute(
                        select(WebChatMessage)
                        .where(
                            col(WebChatMessage.participant_id) == participant.id,
                            col(WebChatMessage.id) > after,
                        )
                        .order_by(col(WebChatMessage.id))
                        .limit(500)
                    )
                )
                .scalars()
                .all()
            )
            locale = participant.locale or self.deps.translator.negotiate(participant.locale_hint)
        return [_render(row) for row in rows], locale

    # -- Sender: notifications that are not direct replies ----------------------------------
    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        async with self.deps.db.transaction() as session:
            participant = (
                await session.execute(
                    select(Participant).where(
                        col(Participant.platform) == PLATFORM,
                        col(Participant.external_id) == chat_id,
                    )
                )
            ).scalar_one_or_none()
            if participant is None or participant.id is None:
                return None
            row = WebChatMessage(
                participant_id=participant.id, sender="bot", payload=message.to_json()
            )
            session.add(row)
            await session.flush()
            message_id = str(row.id)
        self._notify(chat_id)  # after the commit, so the poll can read the row
        return message_id


def _text_inbound(base: dict[str, Any], text: str) -> Inbound:
    stripped = text.strip()
    if stripped.startswith("/") and len(stripped) > 1 and " " not in stripped.split("\n")[0][:33]:
        command, _sep, args = stripped[1:].partition(" ")
        return Inbound(
            **base, kind=InboundKind.COMMAND, command=command.lower(), args=args, text=text
        )
    return Inbound(**base, kind=InboundKind.TEXT, text=text)


def _user_payload(inbound: Inbound) -> dict[str, Any]:
    return {
        "text": inbound.text or inbound.caption or "",
        "choice": inbound.choice,
        "media": [m.to_json() for m in inbound.media],
    }


def _render(row: WebChatMessage) -> dict[str, Any]:
    payload = row.payload
    locale = str(payload.get("locale", "en"))
    media = []
    for item in payload.get("media", []):
        ref = str(item.get("ref", ""))
        media.append(
            {
                "kind": item.get("kind"),
                "url": f"/media/{ref[6:]}" if ref.startswith("local:") else None,
            }
        )
    return {
        "id": row.id,
        "from": row.sender,
        "text": payload.get("text", ""),
        "choices": payload.get("choices", []) if row.sender == "bot" else [],
        "media": media,
        "at": row.created_at.isoformat(),
        "locale": locale.replace("_", "-"),
        "dir": "rtl" if is_rtl(locale) else "ltr",
    }


def _int(value: object) -> int:
    try:
        return max(0, int(str(value)))
    except (TypeError, ValueError):
        return 0
