"""Media a person sends is brought into our own store on arrival, cleaned.

A Telegram or Slack file is downloaded once, when its message arrives (before the turn's
transaction: never while holding the database's writer lock), re-encoded or stripped by
the :class:`~storage.media.MediaStore`, and the event goes on with ``local:<name>``
references instead of the platform's file ids. So nothing with a location, a name or a
camera in it is ever stored, shown to moderators, or sent again. The web chat's uploads
take the same path through :meth:`MediaIntake.keep`.

A download that fails for a passing reason (a network error, a timeout, a 5xx) is tried
again, :data:`FETCH_ATTEMPTS` times in all; a refusal (too large, unsupported) or an answer
that will not change never is. What happened on the way (a file refused, a download that
failed every time, the first photo of a person cleaned) travels with the event as
:attr:`Inbound.media_notes`; the handler tells the person, in their language, with
:func:`note_texts`, and a story keeps the count of files that never arrived for its
moderators (:func:`not_received`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
from collections.abc import Awaitable, Callable, Iterable

from bot.config import Settings
from bot.core.events import Inbound, InboundKind, MediaKind, MediaRef
from bot.i18n import N_, _
from bot.i18n.formatting import format_count
from storage.identity import IdentityHasher
from storage.media import MediaRefused, MediaStore, Refusal

log = logging.getLogger(__name__)

LOCAL = "local:"
_PHOTO_EXTENSIONS = (".jpg", ".png", ".webp")

# Downloads one platform file (at most ``max_bytes``; more raises MediaRefused).
Fetcher = Callable[[MediaRef, int], Awaitable[bytes]]


# A download that failed for a passing reason (network, timeout, a 5xx) is tried this
# many times in all, waiting FETCH_BACKOFF seconds, then twice that, between tries.
FETCH_ATTEMPTS = 3
FETCH_BACKOFF = 0.5


class FetchFailed(Exception):
    """The platform did not hand the file over (network, gone, refused).

    Args:
        reason: what went wrong, for the log (an error name or code, never a URL).
        transient: whether trying again may work (a network error, a timeout, a 5xx);
            False for an answer that will not change (gone, forbidden, a host we
            do not trust).
    """

    def __init__(self, reason: str, *, transient: bool = True) -> None:
        super().__init__(reason)
        self.transient = transient


class Note(enum.StrEnum):
    """What happened to a file on arrival, besides being kept (plus :class:`Refusal`)."""

    LOCATION_REMOVED = "location_removed"  # the first photo of this person: say so once
    DOWNLOAD_FAILED = "download_failed"


_NOTE_TEXTS: dict[str, str] = {
    Note.LOCATION_REMOVED: N_(
        "I removed the location, the camera details and any other hidden data from your "
        "photo before keeping it. Only the picture itself is stored."
    ),
    Note.DOWNLOAD_FAILED: N_(
        "I could not receive your file. Could you send it again? Anything you wrote with "
        "it is kept."
    ),
    Refusal.UNSUPPORTED: N_("Sorry, I can only take photos, voice notes and videos."),
    Refusal.DOCUMENT: N_(
        "I can't keep documents such as PDF files safely. Could you send a photo of it instead?"
    ),
    Refusal.DAMAGED: N_(
        "I could not open that file: it may be damaged. Could you send it again as a "
        "photo, voice note or video?"
    ),
    Refusal.TOO_MANY_PIXELS: N_(
        "That picture is too large for me to open safely. Could you send a smaller photo?"
    ),
}


def local_name(ref: MediaRef) -> str | None:
    """The store's name of a ``local:`` reference, or None for a platform file id."""
    return ref.ref[len(LOCAL) :] if ref.ref.startswith(LOCAL) else None


def note_texts(notes: Iterable[str], settings: Settings, locale: str) -> list[str]:
    """What to tell the person about their files, in the active language (one line per
    kind of note, refusals first)."""
    seen = list(dict.fromkeys(notes))
    seen.sort(key=lambda note: note == Note.LOCATION_REMOVED)
    texts = []
    for note in seen:
        if note == Refusal.TOO_LARGE:
            mb = settings.media_max_bytes // (1024 * 1024)
            texts.append(
                _(
                    "That file is too large (the limit is {mb} MB). Could you send a smaller one?"
                ).format(mb=format_count(mb, locale))
            )
        elif note in _NOTE_TEXTS:
            texts.append(_(_NOTE_TEXTS[note]))
    return texts


def not_received(notes: Iterable[str]) -> int:
    """How many files of a message could not be downloaded (each has its own note)."""
    return sum(1 for note in notes if note == Note.DOWNLOAD_FAILED)


def refused_only(inbound: Inbound) -> bool:
    """Whether nothing of a media message was kept (every file refused or not received)."""
    return inbound.kind is InboundKind.MEDIA and not inbound.media and bool(inbound.media_notes)


class MediaIntake:
    """Keeps what people send in the media store, whatever the platform.

    Args:
        store: the media store.
        hasher: makes a person's identity key, whose prefix names their files.
        max_bytes: the largest file taken (``MEDIA_MAX_BYTES``).
        attempts: tries of a download that fails for a passing reason.
        backoff: seconds before the second try (doubled before each next one; tests
            set 0).
    """

    def __init__(
        self,
        store: MediaStore,
        hasher: IdentityHasher,
        *,
        max_bytes: int,
        attempts: int = FETCH_ATTEMPTS,
        backoff: float = FETCH_BACKOFF,
    ) -> None:
        self.store = store
        self.hasher = hasher
        self.max_bytes = max_bytes
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._fetchers: dict[str, Fetcher] = {}

    def add_fetcher(self, platform: str, fetcher: Fetcher) -> None:
        """Download ``platform``'s files with ``fetcher`` (composition root)."""
        self._fetchers[platform] = fetcher

    def fetches(self, platform: str) -> bool:
        """Whether ``platform``'s files are downloaded into the store."""
        return platform in self._fetchers

    def owner(self, platform: str, user_id: str) -> str:
        """The file-name prefix of a person (from their identity key)."""
        return self.store.owner_of(self.hasher.key(platform, user_id))

    def has_photo(self, owner: str) -> bool:
        return any(name.endswith(_PHOTO_EXTENSIONS) for name in self.store.files_of(owner))

    async def keep(
        self, data: bytes, *, owner: str, key: str | None = None, duration: int | None = None
    ) -> tuple[MediaRef | None, tuple[str, ...]]:
        """Clean and keep one file: its ``local:`` reference (None when refused) and notes."""
        first_photo = not self.has_photo(owner)
        try:
            stored = await self.store.ingest(data, owner=owner, key=key)
        except MediaRefused as refused:
            log.info("media refused", extra={"reason": refused.reason.value})
            return None, (refused.reason.value,)
        ref = MediaRef(
            kind=stored.kind,
            ref=LOCAL + stored.name,
            mime=stored.mime,
            size=stored.size,
            duration=duration,
        )
        notes = (
            (Note.LOCATION_REMOVED.value,) if first_photo and ref.kind is MediaKind.PHOTO else ()
        )
        return ref, notes

    async def localise(self, inbound: Inbound, owner: str | None = None) -> Inbound:
        """``inbound`` with its platform files replaced by files in our store.

        Not a media message, a platform without a fetcher (the in-memory test adapter)
        or files already local: returned as it is. A file that cannot be fetched or kept
        is left out, with a note saying why; the rest of the message (its caption) goes on.
        """
        fetch = self._fetchers.get(inbound.platform)
        if inbound.kind is not InboundKind.MEDIA or fetch is None or not inbound.media:
            return inbound
        if owner is None:
            owner = self.owner(inbound.platform, inbound.user_id)
        kept: list[MediaRef] = []
        notes: list[str] = list(inbound.media_notes)
        for ref in inbound.media:
            if local_name(ref) is not None:
                kept.append(ref)
                continue
            key = f"{inbound.platform}:{ref.ref}"
            earlier = self.store.find(owner, key)
            if earlier is not None:  # a redelivered message: kept the first time
                kept.append(
                    MediaRef(
                        earlier.kind, LOCAL + earlier.name, earlier.mime, earlier.size, ref.duration
                    )
                )
                continue
            data = await self._fetch(fetch, ref, inbound.platform, notes)
            if data is None:
                continue
            local, new_notes = await self.keep(data, owner=owner, key=key, duration=ref.duration)
            notes.extend(new_notes)
            if local is not None:
                kept.append(local)
        return dataclasses.replace(inbound, media=tuple(kept), media_notes=tuple(notes))

    async def _fetch(
        self, fetch: Fetcher, ref: MediaRef, platform: str, notes: list[str]
    ) -> bytes | None:
        if ref.size is not None and ref.size > self.max_bytes:
            notes.append(Refusal.TOO_LARGE.value)
            return None
        try:
            data = await self._download(fetch, ref, platform)
        except MediaRefused as refused:  # an answer that will not change: never retried
            notes.append(refused.reason.value)
            return None
        except Exception:
            # The person is asked to send it again; the text stays, and the moderators'
            # card says a file did not arrive.
            notes.append(Note.DOWNLOAD_FAILED.value)
            return None
        if len(data) > self.max_bytes:
            notes.append(Refusal.TOO_LARGE.value)
            return None
        return data

    async def _download(self, fetch: Fetcher, ref: MediaRef, platform: str) -> bytes:
        """The file, tried again after a passing failure (network, timeout, 5xx)."""
        attempt = 1
        while True:
            try:
                return await fetch(ref, self.max_bytes)
            except MediaRefused:
                raise
            except Exception as exc:
                transient = (
                    exc.transient
                    if isinstance(exc, FetchFailed)
                    else isinstance(exc, (OSError, TimeoutError))
                )
                log.warning(
                    "media download failed",
                    extra={
                        "platform": platform,
                        "error": type(exc).__name__,
                        "attempt": attempt,
                        "transient": transient,
                    },
                )
                if not transient or attempt >= self.attempts:
                    raise
            await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            attempt += 1
