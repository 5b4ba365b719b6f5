"""The media store: the only code that writes, reads or deletes media files.

Every file is cleaned before it is written (:mod:`storage.scrub`: photos re-encoded
without metadata, voice and video containers stripped); the original is never written
anywhere. A file's name starts with its owner, so everything of one person is found (for
an export) and deleted (for an erasure) by name alone::

    <owner>-<32 hex>.<extension>      e.g. 3f9a…c1-0b7e…52.jpg

Files are written atomically (a temporary file, then a rename) with mode 0600, in a
directory with mode 0700.

A published photo is shown in smaller sizes (:meth:`MediaStore.derived`): JPEG copies made
once from the cleaned file, named after it and its owner, so deleting the photo (or
everything of its owner) deletes them too.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import secrets
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from storage.scrub import (
    EXTENSIONS,
    MediaKind,
    MediaRefused,
    Refusal,
    Sniffed,
    scrub,
    sniff,
)

__all__ = [
    "MediaKind",
    "MediaRefused",
    "MediaStore",
    "Refusal",
    "Sniffed",
    "StoredMedia",
    "sniff",
]

OWNER_LENGTH = 24
# The widths of a published photo's copies: a card's thumbnail, and the full view.
THUMBNAIL_WIDTH = 480
FULL_WIDTH = 1600
DERIVED_WIDTHS = (THUMBNAIL_WIDTH, FULL_WIDTH)
_DERIVED_QUALITY = 82
_OWNER = re.compile(r"^[0-9a-f]{24}$")
_NAME = re.compile(r"^([0-9a-f]{24})-[0-9a-f]{32}\.(" + "|".join(set(EXTENSIONS.values())) + r")$")
_MIME_BY_EXTENSION = {extension: mime for mime, extension in EXTENSIONS.items()}


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """A file in the store.

    Args:
        name: its name in the store (``local:<name>`` in a :class:`MediaRef`).
        kind: photo, voice or video.
        mime: its MIME type (of the cleaned file: a HEIC photo is kept as a JPEG).
        size: its size in bytes.
    """

    name: str
    kind: MediaKind
    mime: str
    size: int


class MediaStore:
    """Media files of everyone, in one directory.

    Args:
        root: the directory (``DATA_DIR/media``); created with mode 0700 on first write.
        max_bytes: the largest file accepted (``MEDIA_MAX_BYTES``).
    """

    def __init__(self, root: Path, *, max_bytes: int = 20 * 1024 * 1024) -> None:
        self.root = root
        self.max_bytes = max_bytes
        # One resize per copy at a time: a viral page's first readers wait for it.
        self._deriving: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    @staticmethod
    def owner_of(identity_key: str) -> str:
        """The file-name prefix of one person, from ``Participant.identity_key`` (already
        a keyed hash of their platform identity: its first 24 hex digits)."""
        prefix = identity_key[:OWNER_LENGTH].lower()
        if _OWNER.match(prefix):
            return prefix
        return hashlib.sha256(identity_key.encode()).hexdigest()[:OWNER_LENGTH]

    @staticmethod
    def owner_of_name(name: str) -> str | None:
        """The owner a file name belongs to, or None for a name the store never makes."""
        match = _NAME.match(name)
        return match.group(1) if match else None

    def path(self, name: str) -> Path | None:
        """Where the file ``name`` is, or None if the name is not one the store makes
        (so ``../`` and the like never reach the file system) or there is no such file."""
        if not _NAME.match(name):
            return None
        path = self.root / name
        return path if path.is_file() else None

    def describe(self, name: str) -> StoredMedia | None:
        """What the stored file ``name`` is, or None when there is none."""
        path = self.path(name)
        if path is None:
            return None
        mime = _MIME_BY_EXTENSION[name.rsplit(".", 1)[1]]
        with path.open("rb") as file:
            sniffed = sniff(file.read(32))
        kind = sniffed.kind if sniffed is not None else MediaKind.DOCUMENT
        return StoredMedia(name, kind, mime, path.stat().st_size)

    async def read(self, name: str) -> bytes | None:
        """The content of the stored file ``name``, or None when there is none."""
        path = self.path(name)
        if path is None:
            return None
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:  # erased meanwhile
            return None

    def files_of(self, owner: str) -> list[str]:
        """The names of every file of one person, sorted."""
        if not _OWNER.match(owner) or not self.root.is_dir():
            return []
        prefix = owner + "-"
        return sorted(
            entry.name
            for entry in os.scandir(self.root)
            if entry.name.startswith(prefix) and _NAME.match(entry.name)
        )

    async def erase_owner(self, owner: str) -> int:
        """Delete every file of one person; returns how many were deleted."""

        def erase() -> int:
            count = 0
            for name in self.files_of(owner):
                try:
                    (self.root / name).unlink()
                except FileNotFoundError:
                    continue
                count += 1
            return count

        return await asyncio.to_thread(erase)

    async def delete(self, names: Iterable[str]) -> int:
        """Delete the stored files ``names`` (a name the store never makes is passed
        over, so nothing outside the store is touched) and their smaller copies; returns
        how many of ``names`` were deleted."""

        def delete() -> int:
            count = 0
            for name in set(names):
                for width in DERIVED_WIDTHS:
                    copy = self.path(self.derived_name(name, width) or "")
                    if copy is not None:
                        copy.unlink(missing_ok=True)
                path = self.path(name)
                if path is None:
                    continue
                try:
                    path.unlink()
                except FileNotFoundError:
                    continue
                count += 1
            return count

        return await asyncio.to_thread(delete)

    def derived_name(self, name: str, width: int) -> str | None:
        """The name of the ``width`` copy of the photo ``name`` (None for a name the store
        never makes)."""
        owner = self.owner_of_name(name)
        if owner is None:
            return None
        return f"{_stem(owner, f'derived:{width}:{name}')}.jpg"

    async def derived(self, name: str, width: int) -> StoredMedia | None:
        """A copy of the photo ``name`` at most ``width`` pixels wide (and twice that
        high), made on the first call and kept: a JPEG with no metadata at all, from the
        file already cleaned on arrival. None when there is no such photo."""
        target = self.derived_name(name, width)
        if target is None or width not in DERIVED_WIDTHS:
            return None
        lock = self._deriving.setdefault(target, asyncio.Lock())
        async with lock:
            made = self.describe(target)
            if made is not None:
                return made
            source = self.describe(name)
            data = await self.read(name) if source and source.kind is MediaKind.PHOTO else None
            if data is None:
                return None
            resized = await asyncio.to_thread(_resized, data, width)
            await asyncio.to_thread(self._write, target, resized)
            return StoredMedia(target, MediaKind.PHOTO, "image/jpeg", len(resized))

    def find(self, owner: str, key: str) -> StoredMedia | None:
        """The file kept earlier for ``key`` (see :meth:`ingest`), if any."""
        stem = _stem(owner, key)
        for name in self.files_of(owner):
            if name.startswith(stem + "."):
                return self.describe(name)
        return None

    async def ingest(self, data: bytes, *, owner: str, key: str | None = None) -> StoredMedia:
        """Clean ``data`` and keep it as a file of ``owner``.

        Args:
            data: the file as it arrived (never written anywhere as it is).
            owner: the person's prefix, from :meth:`owner_of`.
            key: what identifies the file on its platform (e.g. ``telegram:<file id>``):
                the same key always gives the same name, so a redelivered message does
                not leave a second copy. None gives a new random name.

        Raises:
            MediaRefused: the file is too large, not a photo, voice note or video, a
                document, damaged, or a decompression bomb. Nothing is kept.
        """
        if not _OWNER.match(owner):
            raise ValueError("not an owner made by owner_of")
        if len(data) > self.max_bytes:
            raise MediaRefused(Refusal.TOO_LARGE)
        clean = await asyncio.to_thread(scrub, data)
        stem = _stem(owner, key) if key is not None else f"{owner}-{secrets.token_hex(16)}"
        name = f"{stem}.{clean.extension}"
        await asyncio.to_thread(self._write, name, clean.data)
        return StoredMedia(name, clean.kind, clean.mime, len(clean.data))

    def ensure_root(self) -> None:
        """Create the directory (mode 0700), or tighten an existing one to 0700."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.root.stat().st_mode & 0o777 != 0o700:
            self.root.chmod(0o700)

    def _write(self, name: str, data: bytes) -> None:
        self.ensure_root()
        temporary = self.root / f".{name}.{secrets.token_hex(4)}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.root / name)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise


def _stem(owner: str, key: str) -> str:
    digest = hashlib.sha256(f"{owner}:{key}".encode()).hexdigest()[:32]
    return f"{owner}-{digest}"


def _resized(data: bytes, width: int) -> bytes:
    """``data`` (a cleaned photo) as a JPEG at most ``width`` wide and ``2 * width`` high.

    Only pixels are copied: no EXIF, XMP, ICC profile or comment is written.
    """
    with Image.open(io.BytesIO(data)) as opened:
        opened.draft("RGB", (width, width * 2))  # a JPEG decodes at a smaller scale
        image = opened.convert("RGBA") if opened.mode not in ("RGB", "L") else opened.copy()
    if image.mode == "RGBA":  # transparent parts on white, as a JPEG cannot keep them
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    image.thumbnail((width, width * 2), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=_DERIVED_QUALITY, optimize=True, progressive=True)
    return out.getvalue()
