"""The WhatsApp :class:`~bot.core.delivery.Sender`: pywa's async client, errors translated.

Graph's error codes become the delivery errors the outbox reacts to:

===========================================  ==============================================
130429 (rate limit), 131056 (pair rate       :class:`~bot.core.delivery.RetryAfter` (Graph
limit: one message every 6 seconds to one    names no delay: 2 s, 6 s for the pair limit),
number), 4 and 80007 (API call limits)
131026 (undeliverable: not on WhatsApp,      :class:`~bot.core.delivery.Unreachable`
blocked, an old app)
131047 (re-engagement: outside the 24-hour   :class:`~bot.core.delivery.OutsideWindow`
window; only a template reaches them)        (a :class:`PermanentError` the outbox can
                                             answer with a template)
HTTP 5xx, a transient error, timeouts,       :class:`~bot.core.delivery.TransientError`
network errors; a rejected token (kept
until an operator fixes it)
any other 4xx                                :class:`~bot.core.delivery.PermanentError`
===========================================  ==============================================

A notice (an outbox row that is not a direct reply) goes through :meth:`send_notice`:
as it is inside the person's 24-hour window, else as the matching template while the
notice waits for their answer (:mod:`bot.adapters.whatsapp.window`).

An error names its code only: Graph's messages can quote what was sent. A message that
takes several sends (a long text, a list split in two, files then text) remembers how
far it got, so a retry after a failure in the middle does not send the first parts again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx
from pywa_async import WhatsApp
from pywa_async.errors import WhatsAppError
from pywa_async.types import Button, Section, SectionList, SectionRow, URLButton
from pywa_async.types.templates import TemplateLanguage

from bot.adapters.whatsapp.parsing import PLATFORM
from bot.adapters.whatsapp.rendering import Part, PartKind, plan
from bot.adapters.whatsapp.templates import language_code, send_components, template_for
from bot.adapters.whatsapp.window import NOTE, WAIT, NoAnswer, Window, note_of
from bot.core.delivery import (
    DeliveryError,
    OutsideWindow,
    PermanentError,
    RetryAfter,
    TransientError,
    Unreachable,
)
from bot.core.events import MediaKind, Outgoing
from bot.core.media import local_name
from bot.core.outbox import Deferred
from bot.i18n import N_, _
from bot.i18n.translator import Translator
from storage.outbox import DueMessage

log = logging.getLogger(__name__)

RATE_LIMITED = frozenset({130429, 4, 80007})
PAIR_RATE_LIMITED = 131056
UNDELIVERABLE = frozenset({131026})
RE_ENGAGEMENT = 131047
BAD_TOKEN = frozenset({0, 190})
TRANSIENT = frozenset({1, 2, 131000, 131016, 133004})
RATE_WAIT = 2.0
PAIR_RATE_WAIT = 6.0  # WhatsApp lets a business send one number a message every 6 s
PROGRESS_TTL = 6 * 3600.0

# The button that opens a list of choices, and the body of a list's continuation.
LIST_BUTTON = N_("Choose")
MORE_CHOICES = N_("More choices:")


class MediaFiles(Protocol):
    """Where local media are read from (:class:`storage.media.MediaStore`)."""

    async def read(self, name: str) -> bytes | None: ...


def map_error(exc: Exception) -> DeliveryError:
    """The delivery error for a failed Graph call (or a failed connection)."""
    if isinstance(exc, WhatsAppError):
        code = exc.code
        status = exc.status_code or 0
        if code in RATE_LIMITED:
            return RetryAfter(RATE_WAIT)
        if code == PAIR_RATE_LIMITED:
            return RetryAfter(PAIR_RATE_WAIT)
        if code in UNDELIVERABLE:
            return Unreachable(f"whatsapp error {code}")
        if code == RE_ENGAGEMENT:
            return OutsideWindow(f"whatsapp error {code}")
        if code in BAD_TOKEN or status == 401:
            # Every send fails until an operator fixes the token: keep the messages.
            log.error("whatsapp rejected the access token", extra={"error": code})
            return TransientError(f"whatsapp error {code}")
        if status >= 500 or status == 429 or code in TRANSIENT or exc.is_transient:
            return TransientError(f"whatsapp error {code}")
        return PermanentError(f"whatsapp error {code}")
    return TransientError(type(exc).__name__)  # timeouts, connection errors


@dataclass(slots=True)
class _Progress:
    done: int
    ids: list[str]
    at: float


class WhatsAppSender:
    """Sends neutral messages through ``pywa_async.WhatsApp``.

    The id it returns is the WhatsApp message id of the last message sent.

    Args:
        client: the adapter's client (its httpx session points at ``WHATSAPP_API_URL``).
        translator: the list button's and the continuation's words in the message's locale.
        media: the media store, to upload local files (set by the composition root).
        window: the people's 24-hour windows (set by the composition root; without it
            every notice is sent as it is).
    """

    platform = PLATFORM

    def __init__(
        self,
        client: WhatsApp,
        translator: Translator,
        *,
        media: MediaFiles | None = None,
        window: Window | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.translator = translator
        self.media = media
        self.window = window
        self._clock = clock
        self._progress: dict[tuple[str, str], _Progress] = {}

    def plan(self, message: Outgoing) -> list[Part]:
        with self.translator.use(message.locale):
            return plan(message, list_button=_(LIST_BUTTON), more=_(MORE_CHOICES))

    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        """Send one message (an edit is sent anew; a delete sends nothing)."""
        parts = self.plan(message)
        key = (chat_id, _fingerprint(message)) if len(parts) > 1 else None
        progress = self._progress.get(key) if key is not None else None
        start, ids = (progress.done, progress.ids) if progress else (0, [])
        for index in range(start, len(parts)):
            try:
                sent = await self._perform(chat_id, parts[index])
            except (WhatsAppError, httpx.HTTPError) as exc:
                if key is not None:
                    self._remember(key, _Progress(index, ids, self._clock()))
                raise map_error(exc) from None
            if sent is not None:
                ids = [*ids, sent]
        if key is not None:
            self._progress.pop(key, None)
        return ids[-1] if ids else None

    async def send_notice(self, due: DueMessage, message: Outgoing) -> str | None:
        """Send a notice as it is inside the person's window; outside it (or when
        WhatsApp answers 131047) send its template and raise
        :class:`~bot.core.outbox.Deferred`: the row waits for the person's answer.

        Raises:
            NoAnswer: the notice waited for an answer that never came.
            RetryAfter, TransientError, Unreachable, PermanentError: as :meth:`send`.
        """
        window = self.window
        if window is None or due.participant_id is None:
            return await self.send(due.chat_id, message)
        contact = await window.contact(due.participant_id)
        if contact is None:
            return await self.send(due.chat_id, message)
        note = note_of(due.payload)
        if window.is_open(contact, note):
            try:
                sent = await self.send(due.chat_id, message)
            except OutsideWindow:
                note = {"closed_at": window.now().isoformat()}  # closed meanwhile
            else:
                if sent is not None:
                    await window.record_message(due.id, sent)
                return sent
        if note.get("waiting"):
            raise NoAnswer("no answer outside the window")
        if window.may_send_template(contact):
            sent = await self._send_template(due, message.locale)
            if sent is not None:
                await window.template_sent(due.participant_id)
                await window.record_message(due.id, sent)
        payload = {**due.payload, NOTE: {**note, "waiting": True}}
        raise Deferred(WAIT, payload, contact.last_inbound_at)

    async def _send_template(self, due: DueMessage, locale: str) -> str | None:
        """The notice's template; None when WhatsApp refused it (not approved yet, say):
        the notice still waits for the person's next message."""
        spec, values = template_for(due.payload, locale)
        try:
            sent = await self.client.send_template(
                due.chat_id,
                name=spec.name,
                language=TemplateLanguage(language_code(locale)),
                params=send_components(spec, values),
            )
        except (WhatsAppError, httpx.HTTPError) as exc:
            error = map_error(exc)
            if type(error) is PermanentError:
                log.warning(
                    "whatsapp template refused",
                    extra={"outbox_id": due.id, "template": spec.name, "error": str(error)},
                )
                return None
            raise error from None
        log.info("whatsapp template sent", extra={"outbox_id": due.id, "template": spec.name})
        return sent.id

    async def _perform(self, to: str, part: Part) -> str | None:
        client = self.client
        if part.kind is PartKind.TEXT:
            return (await client.send_message(to, part.text)).id
        if part.kind is PartKind.BUTTONS:
            buttons = [Button(title=o.title, callback_data=o.id) for o in part.options]
            return (await client.send_message(to, part.text, buttons=buttons)).id
        if part.kind is PartKind.LIST:
            assert part.button is not None
            rows = [SectionRow(o.title, o.id, o.description) for o in part.options]
            section_list = SectionList(part.button, [Section(part.button, rows)])
            return (await client.send_message(to, part.text, buttons=section_list)).id
        if part.kind is PartKind.LINK:
            assert part.button is not None and part.url is not None
            link = URLButton(title=part.button, url=part.url)
            return (await client.send_message(to, part.text, buttons=link)).id
        return await self._send_file(to, part)

    async def _send_file(self, to: str, part: Part) -> str | None:
        media = part.media
        assert media is not None
        name = local_name(media)
        data = await self.media.read(name) if self.media is not None and name else None
        if data is None:
            # Another platform's file id, or a file erased since: it can never be sent.
            log.warning("whatsapp: a file that is not in the media store is skipped")
            return None
        mime = media.mime or "application/octet-stream"
        if media.kind is MediaKind.PHOTO:
            return (await self.client.send_image(to, data, mime_type=mime)).id
        if media.kind is MediaKind.VOICE:
            return (await self.client.send_audio(to, data, mime_type=mime)).id
        if media.kind is MediaKind.VIDEO:
            return (await self.client.send_video(to, data, mime_type=mime)).id
        sent = await self.client.send_document(to, data, filename=name, mime_type=mime)
        return sent.id

    def _remember(self, key: tuple[str, str], progress: _Progress) -> None:
        expired = progress.at - PROGRESS_TTL
        self._progress = {k: p for k, p in self._progress.items() if p.at >= expired}
        self._progress[key] = progress


def _fingerprint(message: Outgoing) -> str:
    encoded = json.dumps(message.to_json(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
