"""The web chat: the embedded default platform, on the one Starlette app.

The page is served at ``/``; its JSON API lives under ``/api/chat/``. A person is an
anonymous session: a random token in an HttpOnly, SameSite=Strict cookie (the database
keeps only a hash of it). Every POST carries a CSRF token derived from the session, and
must be same-origin. The transcript is stored, so replies sent later (notifications)
appear through a long poll without a reload.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import logging
import re
import secrets
import uuid
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel import UnknownLocaleError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bot.adapters.normalise import normalise_json, normalise_optional, normalise_text
from bot.core.events import Inbound, InboundKind, Outgoing
from bot.core.media import MediaIntake, note_texts
from bot.core.service import BotCore
from bot.i18n import N_, _
from bot.i18n.formatting import format_count, numbering_system
from bot.i18n.translator import is_rtl
from bot.web.media import media_path
from bot.web.untrusted import BodyTooLargeError, bounded_int, parse_json, read_body
from storage.media import Refusal
from storage.models import Participant, StoryMedia
from storage.participants import Brief, find_brief
from storage.published import published_files_by_ref
from storage.signals import Listener
from storage.times import aware
from storage.transcripts import (
    BOT,
    CHANNEL,
    USER,
    TranscriptRow,
    add_messages,
    announce,
    append_message,
    has_transcript,
    latest_bot_messages,
    messages_from,
)

log = logging.getLogger(__name__)

PLATFORM = "web"
COOKIE = "tb_session"
POLL_SECONDS = 25.0
TEXT_MAX = 8000
# A message's JSON: TEXT_MAX characters even at six bytes each (``\u0001``) fit.
MESSAGE_BODY_MAX = 64 * 1024
CHOICE_MAX = 64
CLIENT_ID_MAX = 64
LOCALE_HINT_MAX = 64  # the participant's column
# What ``secrets.token_urlsafe`` makes; nothing else is ever a session token.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")
TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"


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
        # On PostgreSQL, replies committed by another replica wake this one's polls.
        self.listener = Listener(core.deps.db, CHANNEL, self._notify)
        self.poll_waiting = asyncio.Event()
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        # Uploads are cleaned and kept by the media store, like every platform's files.
        self.intake = core.media or MediaIntake(
            self.deps.media, self.deps.hasher, max_bytes=self.deps.settings.media_max_bytes
        )

    async def start(self) -> None:
        await self.listener.start()

    async def stop(self) -> None:
        await self.listener.stop()

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
        return token if token and _TOKEN.fullmatch(token) else None

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
        # compare_digest takes ASCII strings only: anything else is no token of ours.
        if not sent.isascii() or not hmac.compare_digest(sent, self.csrf_token(token)):
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
        new_session = token is None or not await self._issued(token)
        if new_session:
            # A cookie value we never issued (planted by someone who wants to read along,
            # or a session purged since) is never adopted: the server makes a new one.
            token = secrets.token_urlsafe(32)
        assert token is not None
        start = normalise_text(request.query_params.get("start", ""))
        hint = _locale_hint(request)
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

    async def _issued(self, token: str) -> bool:
        """Whether ``token`` is a session this server made (its participant exists)."""
        async with self.deps.db.read() as session:
            return await self._participant(session, token) is not None

    async def _participant(self, session: AsyncSession, token: str) -> Brief | None:
        return await find_brief(session, PLATFORM, _external_id(token))

    async def _locale(self, token: str, hint: str | None) -> str:
        async with self.deps.db.read() as session:
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
        messages, locale, reset = await self._messages(token, after)
        return JSONResponse(
            {
                "messages": messages,
                "reset": reset,
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
        async with self.deps.db.read() as session:
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
                messages, _locale, reset = await self._messages(token, after)
                remaining = deadline - asyncio.get_running_loop().time()
                if messages or reset or remaining <= 0:
                    break
                self.poll_waiting.set()  # one poll read nothing new and waits (tests)
                # The same, seen from outside the process (tests/replicas).
                log.debug("web chat poll waiting")
                try:
                    await asyncio.wait_for(event.wait(), remaining)
                except TimeoutError:
                    break
        finally:
            self._waiters[waiting].discard(event)
            if not self._waiters[waiting]:
                del self._waiters[waiting]
        return JSONResponse({"messages": messages, "reset": reset})

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
        too_long = N_(
            "That message is too long to send at once. Please split it into shorter messages."
        )
        try:
            body = parse_json(await read_body(request, MESSAGE_BODY_MAX))
        except BodyTooLargeError:
            return self._error(request, 413, too_long)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._error(
                request, 400, N_("Something went wrong. Your message is kept — please try again.")
            )
        text, choice = normalise_optional(body.get("text")), normalise_optional(body.get("choice"))
        base = self._inbound_base(request, token, body.get("client_id"))
        if choice:
            inbound = Inbound(**base, kind=InboundKind.CHOICE, choice=choice[:CHOICE_MAX])
        elif text and text.strip():
            if len(text) > TEXT_MAX:
                return self._error(request, 413, too_long)
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
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            # Only multipart parts are capped as they arrive (a chunked url-encoded body
            # would be read whole): anything else is no upload from the page.
            return self._error(request, 400, N_("Please choose a file to send."))
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
        caption = form.get("caption")
        client_id = str(form.get("client_id") or uuid.uuid4())[:64]
        base = self._inbound_base(request, token, client_id)
        # Cleaned before it is written (no location, name or camera is kept); a retry
        # with the same client_id keeps the same one file.
        kept, notes = await self.intake.keep(
            data, owner=self.intake.owner(PLATFORM, base["user_id"]), key=f"web:{base['key']}"
        )
        if kept is None:
            return await self._refused(request, token, notes)
        inbound = Inbound(
            **base,
            kind=InboundKind.MEDIA,
            media=(kept,),
            media_notes=notes,
            caption=caption[:TEXT_MAX] if isinstance(caption, str) and caption.strip() else None,
        )
        return await self._handle(token, inbound, form.get("after"))

    async def _refused(self, request: Request, token: str, notes: tuple[str, ...]) -> JSONResponse:
        """A file the store would not keep: why, in the person's language."""
        locale = await self._locale(token, request.headers.get("accept-language"))
        with self.deps.translator.use(locale):
            message = " ".join(note_texts(notes, self.deps.settings, locale))
        status = {Refusal.TOO_LARGE: 413, Refusal.UNSUPPORTED: 415, Refusal.DOCUMENT: 415}
        return JSONResponse({"error": message}, status_code=status.get(Refusal(notes[0]), 422))

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
        store = self.deps.media
        if token is None or store.owner_of_name(name) != self.intake.owner(
            PLATFORM, _external_id(token)
        ):
            return Response(status_code=404)
        stored = store.describe(name)
        path = store.path(name)
        if stored is None or path is None:
            return Response(status_code=404)
        return FileResponse(
            path, media_type=stored.mime, headers={"Cache-Control": "private, max-age=3600"}
        )

    # -- plumbing ---------------------------------------------------------------------------
    def _inbound_base(self, request: Request, token: str, client_id: object) -> dict[str, Any]:
        external = _external_id(token)
        # The page's idempotency key: any string it likes, made safe; else a fresh one.
        sent = normalise_optional(client_id)
        client_id = sent[:CLIENT_ID_MAX] if sent else uuid.uuid4().hex
        return {
            "platform": PLATFORM,
            "user_id": external,
            "chat_id": external,
            "key": f"{external[:16]}:{client_id}",
            "locale_hint": _locale_hint(request),
            "message_id": client_id,
        }

    async def _handle(self, token: str, inbound: Inbound, after: object) -> Response:
        inbound = _normalised(inbound)
        since = _int(after) if after is not None else None
        marker: dict[str, int] = {}
        cleared = False

        async def record(
            session: AsyncSession, participant: Participant, replies: list[Outgoing]
        ) -> None:
            nonlocal cleared
            assert participant.id is not None
            # "Erase everything" deletes the transcript inside this turn: the page must
            # start over (the ids that follow may even be below those it has seen).
            cleared = not await has_transcript(session, participant.id)
            payload = _user_payload(inbound)
            if inbound.choice:
                # Empty when the button's message is gone (erased with the transcript).
                payload["text"] = await self._choice_label(session, participant.id, inbound.choice)
            if payload["text"] or payload["media"]:  # never an empty bubble
                (first,) = await add_messages(session, participant.id, USER, [payload])
                marker["first"] = first
            stored = await self._store(session, participant.id, replies)
            if "first" not in marker and stored:
                marker["first"] = stored[0]
            # Another replica may hold this person's long poll (another tab).
            await announce(session, self.deps.db, _external_id(token))

        await self.core.handle(inbound, record=record)
        self._notify(_external_id(token))
        if cleared:
            messages, _locale, _reset = await self._messages(token, 0)
            return JSONResponse({"messages": messages, "reset": True})
        if since is None:  # a client that does not say what it has: this turn's messages
            first = marker.get("first", 0)
            messages, _locale, _reset = await self._messages(token, first - 1, known=False)
            return JSONResponse({"messages": messages, "reset": False})
        messages, _locale, reset = await self._messages(token, since)
        return JSONResponse({"messages": messages, "reset": reset})

    async def _choice_label(self, session: AsyncSession, participant_id: int, choice: str) -> str:
        """The label of the pressed button, so the transcript shows what was chosen."""
        for row in await latest_bot_messages(session, participant_id, 10):
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
    ) -> list[int]:
        """Add replies to the transcript, in the turn's transaction (waiters are woken
        after it commits, or they would read before the rows are visible)."""
        return await add_messages(
            session, participant_id, BOT, [reply.to_json() for reply in replies]
        )

    def _notify(self, external_id: str) -> None:
        for event in self._waiters.get(external_id, ()):
            event.set()

    async def _messages(
        self, token: str, after: int, *, known: bool = True
    ) -> tuple[list[dict[str, Any]], str, bool]:
        """The transcript after the message ``after``, the person's locale, and whether
        the transcript was cleared since the page saw ``after`` (then: all of it).

        ``known``: ``after`` is a message the page has shown (else only a position).
        """
        after = max(after, 0)
        # A reader: history and long polls never queue behind the turns being written.
        async with self.deps.db.read() as session:
            participant = await self._participant(session, token)
            if participant is None:
                return [], self.deps.translator.default, known and after > 0
            if not known:
                after += 1
            # From ``after`` itself: if that row is gone, the transcript was erased.
            rows = await self._rows(session, participant.id, after)
            reset = known and after > 0 and (not rows or rows[0].id != after)
            if reset:
                rows = await self._rows(session, participant.id, 0)
            elif known and after > 0:
                rows = rows[1:]
            locale = participant.locale or self.deps.translator.negotiate(participant.locale_hint)
            # A story card's files, shown from the wall while a moderator publishes them.
            published = await published_files_by_ref(session, _bot_media_refs(rows))
        return [_render(row, published, locale) for row in rows], locale, reset

    async def _rows(
        self, session: AsyncSession, participant_id: int | None, since: int
    ) -> list[TranscriptRow]:
        return await messages_from(session, participant_id, since, 500 + (1 if since else 0))

    # -- Sender: notifications that are not direct replies ----------------------------------
    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        message_id = await append_message(self.deps.db, PLATFORM, chat_id, message.to_json())
        if message_id is None:
            return None
        self._notify(chat_id)  # after the commit, so the poll can read the row
        return str(message_id)


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


def _normalised(inbound: Inbound) -> Inbound:
    """``inbound`` with every text a person typed normalised (uploads' captions too)."""
    return dataclasses.replace(
        inbound,
        text=normalise_optional(inbound.text),
        caption=normalise_optional(inbound.caption),
        choice=normalise_optional(inbound.choice),
        args=normalise_text(inbound.args),
    )


def _locale_hint(request: Request) -> str | None:
    hint = request.headers.get("accept-language")
    return normalise_text(hint)[:LOCALE_HINT_MAX] if hint else None


def _bot_media_refs(rows: list[TranscriptRow]) -> set[str]:
    """The files the bot's messages carry (a story card's)."""
    return {
        str(item.get("ref", ""))
        for row in rows
        if row.sender == BOT and isinstance(row.payload, dict)
        for item in _dicts(row.payload.get("media"))
    }


def _render(
    row: TranscriptRow, published: Mapping[str, StoryMedia], conversation_locale: str
) -> dict[str, Any]:
    """One transcript row as the page reads it. ``at`` is an instant with its UTC offset
    (the page shows it in the reader's own time zone); a message the person sent is in
    the conversation's locale (its time is written as the bot's replies are)."""
    # Rows stored before text was normalised at the edge may hold a lone surrogate,
    # which no JSON encoder writes as UTF-8: cleaned here, so history always answers.
    payload = normalise_json(row.payload)
    if not isinstance(payload, dict):
        payload = {}
    locale = str(payload.get("locale") or conversation_locale)
    media = []
    for item in _dicts(payload.get("media")):
        ref = str(item.get("ref", ""))
        if row.sender == BOT:
            # A story's file, only while published: from the wall, with the moderator's
            # alt text (a file hidden since disappears from the transcript too).
            if (shown := _published(published.get(ref))) is not None:
                media.append(shown)
            continue
        media.append(
            {
                "kind": item.get("kind"),
                "url": f"/media/{ref[6:]}" if ref.startswith("local:") else None,
            }
        )
    text = payload.get("text")
    return {
        "id": row.id,
        "from": row.sender,
        "text": text if isinstance(text, str) else "",
        "choices": _dicts(payload.get("choices")) if row.sender == "bot" else [],
        "media": media,
        "at": aware(row.created_at).isoformat(),
        "locale": locale.replace("_", "-"),
        "dir": "rtl" if is_rtl(locale) else "ltr",
        "digits": _digits(locale),
    }


def _digits(locale: str) -> str:
    """The numbering system the page writes a message's time in (``arab`` for Arabic, as
    its text is); Latin for a locale Babel does not know (a row of an older version)."""
    try:
        return numbering_system(locale)
    except (ValueError, UnknownLocaleError):
        return "latn"


def _published(row: StoryMedia | None) -> dict[str, Any] | None:
    """How the page shows a published file: a photo's two sizes and alt text, a voice
    note's or video's URL (the wall serves ranges, so the player can seek)."""
    url = media_path(row) if row is not None else None
    if row is None or url is None:
        return None
    shown: dict[str, Any] = {"kind": row.kind, "url": url, "alt": row.alt_text or ""}
    if row.kind == "photo":
        shown["thumb"] = media_path(row, "thumb")
    return shown


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _int(value: object) -> int:
    """A number the page sent (``after``), clamped to what an id can be."""
    return bounded_int(value)
