"""The Telegram :class:`~bot.core.delivery.Sender`: limits kept, errors translated.

python-telegram-bot's errors become the delivery errors the outbox reacts to:

========================================  ===========================================
``RetryAfter`` (429)                      :class:`~bot.core.delivery.RetryAfter`
``Forbidden`` (403: blocked, deactivated) :class:`~bot.core.delivery.Unreachable`
``BadRequest`` (400)                      :class:`~bot.core.delivery.PermanentError`,
                                          except "message is not modified" (success)
``TimedOut``, ``NetworkError`` (5xx...)   :class:`~bot.core.delivery.TransientError`
========================================  ===========================================

A message that takes several calls (a long text, media then text) remembers how far it
got, so a retry after a failure in the middle does not send the first parts again. A
message (or post) to delete that is already gone counts as deleted; one Telegram no
longer lets the bot delete (older than 48 hours) is emptied in place instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from telegram import Bot
from telegram import error as tg

from bot.adapters.telegram.limits import SendLimiter
from bot.adapters.telegram.parsing import PLATFORM
from bot.adapters.telegram.periods import seconds
from bot.adapters.telegram.rendering import (
    MediaFiles,
    PartKind,
    RenderError,
    blank,
    join_ids,
    perform,
    plan,
    without_edit,
)
from bot.core.delivery import (
    DeliveryError,
    PermanentError,
    RetryAfter,
    TransientError,
    Unreachable,
)
from bot.core.events import Outgoing

log = logging.getLogger(__name__)

# Partly sent messages are remembered this long for their retry (the outbox's longest
# backoff is shorter than this).
PROGRESS_TTL = 6 * 3600.0
_NOT_MODIFIED = "message is not modified"
_EDIT_TARGET_GONE = ("message to edit not found", "message can't be edited")
_DELETE_TARGET_GONE = ("message to delete not found",)
_DELETE_REFUSED = ("message can't be deleted",)  # older than 48 hours: emptied instead
_EDITING = frozenset({PartKind.EDIT, PartKind.EDIT_CAPTION})
_CREATING = frozenset(PartKind) - _EDITING - {PartKind.DELETE}


def map_error(exc: tg.TelegramError) -> DeliveryError | None:
    """The delivery error for a Bot API error, or None when it means success."""
    if isinstance(exc, tg.RetryAfter):
        return RetryAfter(seconds(exc, "retry_after") or 1.0)
    if isinstance(exc, tg.Forbidden):
        return Unreachable(exc.message)
    if isinstance(exc, tg.BadRequest):  # before NetworkError: BadRequest subclasses it
        if _NOT_MODIFIED in exc.message.lower():
            return None
        return PermanentError(exc.message)
    if isinstance(exc, tg.ChatMigrated):
        return PermanentError(f"group moved to {exc.new_chat_id}")
    if isinstance(exc, tg.InvalidToken):
        # Every send fails until an operator fixes the token: keep the messages.
        log.error("telegram rejected the bot token")
        return TransientError(exc.message)
    return TransientError(exc.message)  # TimedOut, NetworkError (5xx), Conflict, others


@dataclass(slots=True)
class _Progress:
    done: int
    ids: list[str]
    at: float


class TelegramSender:
    """Sends neutral messages through a python-telegram-bot ``Bot``.

    The id it returns names the whole message: one Telegram message id, or several
    joined by commas when the text was split (``"101,102"``). Edits and deletes accept
    such ids back.

    Args:
        bot: an initialised ``telegram.Bot``.
        limiter: the rate limits (Telegram's defaults when omitted).
        media: the media store, to upload local files (set by the composition root).
    """

    platform = PLATFORM

    def __init__(
        self,
        bot: Bot,
        limiter: SendLimiter | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        media: MediaFiles | None = None,
    ) -> None:
        self.bot = bot
        self.media = media
        self.limiter = limiter if limiter is not None else SendLimiter()
        self._clock = clock
        self._progress: dict[tuple[str, str], _Progress] = {}

    def wait_before(self, chat_id: str) -> float:
        """Seconds before ``chat_id`` may get another message (see :class:`Paced`)."""
        return self.limiter.wait_before(chat_id)

    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        """Send, edit or delete one message; see :class:`~bot.core.delivery.Sender`."""
        try:
            parts = plan(message)
        except RenderError as exc:
            raise PermanentError(str(exc)) from exc
        key = (chat_id, _fingerprint(message)) if len(parts) > 1 else None
        progress = self._progress.get(key) if key is not None else None
        start, ids = (progress.done, progress.ids) if progress else (0, [])
        for index in range(start, len(parts)):
            part = parts[index]
            await self.limiter.acquire(chat_id)
            try:
                sent = await perform(self.bot, chat_id, part, self.media)
            except RenderError as exc:  # a local file erased since: it can never be sent
                raise PermanentError(str(exc)) from exc
            except tg.TelegramError as exc:
                if part.kind in _EDITING and _says(exc, _EDIT_TARGET_GONE):
                    return await self.send(chat_id, without_edit(message))
                if part.kind is PartKind.DELETE and _says(exc, _DELETE_TARGET_GONE):
                    continue
                if part.kind is PartKind.DELETE and part.message_id and _says(exc, _DELETE_REFUSED):
                    try:
                        await blank(self.bot, chat_id, part.message_id)
                        continue
                    except tg.TelegramError as refused:
                        exc = refused
                mapped = map_error(exc)
                if mapped is None:
                    continue
                if key is not None:
                    self._remember(key, _Progress(index, ids, self._clock()))
                raise mapped from exc
            if part.kind in _CREATING and sent is not None:
                ids = [*ids, sent]
        if key is not None:
            self._progress.pop(key, None)
        if message.delete_of is not None:
            return None
        if message.edit_of is not None and not ids:
            return message.edit_of
        return join_ids(ids)  # new messages (an edit that could not be made in place too)

    def _remember(self, key: tuple[str, str], progress: _Progress) -> None:
        expired = progress.at - PROGRESS_TTL
        self._progress = {k: p for k, p in self._progress.items() if p.at >= expired}
        self._progress[key] = progress


def _says(exc: tg.TelegramError, reasons: tuple[str, ...]) -> bool:
    text = exc.message.lower()
    return isinstance(exc, tg.BadRequest) and any(reason in text for reason in reasons)


def _fingerprint(message: Outgoing) -> str:
    encoded = json.dumps(message.to_json(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
