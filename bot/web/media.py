"""Published files: ``/stories/media/<name>``, for the wall, its feeds and link previews.

A file is served only while its story is PUBLISHED and a moderator chose to publish it
(``StoryMedia.publish``): both are read from the database on every request, so a story
taken down, withdrawn or erased, or a file a moderator hid, is never served again (a
browser or proxy may keep a copy for :data:`MAX_AGE` seconds at most).

The name in the URL is opaque: the file's row id, a hash of its store reference (so ids
cannot be walked through, and nothing about its owner shows), and for a photo the size
(``thumb`` or ``full``). Nothing of the request reaches the file system: the file is
found through the row, by a name the :class:`~storage.media.MediaStore` checks. Photos
are served only as their smaller copies (JPEG, made once, no metadata); voice notes and
videos as they were cleaned on arrival, with their type and ``Range`` support, so a
browser plays and seeks them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from bot.core.deps import Deps
from bot.core.media import LOCAL
from bot.web.untrusted import ID_MAX
from storage.media import FULL_WIDTH, THUMBNAIL_WIDTH, MediaKind, StoredMedia
from storage.models import StoryMedia
from storage.published import published_file

PREFIX = "/stories/media"
MAX_AGE = 60  # seconds a copy may be kept after a file stops being published
SIZES = {"thumb": THUMBNAIL_WIDTH, "full": FULL_WIDTH}
_NAME = re.compile(r"^([0-9]{1,10})-([0-9a-f]{16})(?:-(thumb|full))?\.([a-z0-9]{2,4})$")


def _signature(ref: str) -> str:
    return hashlib.sha256(ref.encode()).hexdigest()[:16]


def _store_name(row: StoryMedia) -> str | None:
    return row.ref[len(LOCAL) :] if row.ref.startswith(LOCAL) else None


def media_path(row: StoryMedia, size: str = "full") -> str | None:
    """The public path of a published file (``size``: a photo's ``thumb`` or ``full``),
    or None for a file that is not in the media store."""
    name = _store_name(row)
    if name is None or row.id is None:
        return None
    stem = f"{PREFIX}/{row.id}-{_signature(row.ref)}"
    if row.kind == MediaKind.PHOTO:
        return f"{stem}-{size}.jpg"
    return f"{stem}.{name.rsplit('.', 1)[-1]}"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A published file as the feeds describe it (paths are absolute from the site root)."""

    kind: str
    path: str
    mime: str
    size: int
    alt_text: str | None
    thumbnail: str | None  # a photo's small copy


class PublishedMedia:
    """The route of published files."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def routes(self) -> list[BaseRoute]:
        return [Route(f"{PREFIX}/{{name:str}}", self.serve, methods=["GET"])]

    async def stored(self, row: StoryMedia, size: str | None) -> StoredMedia | None:
        """The file to serve for ``row``: a photo's copy of ``size``, else the file."""
        name = _store_name(row)
        if name is None:
            return None
        if row.kind == MediaKind.PHOTO:
            return await self.deps.media.derived(name, SIZES[size]) if size else None
        return None if size else self.deps.media.describe(name)

    async def attachments(self, rows: list[StoryMedia]) -> list[Attachment]:
        """The files of ``rows`` that can be served (a photo as its full view, made now if
        it was not yet), with their type and size, for feed enclosures."""
        found = []
        for row in rows:
            path = media_path(row)
            if path is None or row.kind not in (MediaKind.PHOTO, MediaKind.VOICE, MediaKind.VIDEO):
                continue
            photo = row.kind == MediaKind.PHOTO
            stored = await self.stored(row, "full" if photo else None)
            if stored is None:  # gone from the store
                continue
            thumbnail = media_path(row, "thumb") if photo else None
            found.append(
                Attachment(row.kind, path, stored.mime, stored.size, row.alt_text, thumbnail)
            )
        return found

    async def serve(self, request: Request) -> Response:
        match = _NAME.match(request.path_params["name"])
        if match is None or int(match.group(1)) > ID_MAX:
            return Response(status_code=404)
        media_id, signature, size, extension = match.groups()
        async with self.deps.db.transaction() as session:
            row = await published_file(session, int(media_id))
        if row is None or not hmac.compare_digest(signature, _signature(row.ref)):
            return Response(status_code=404)
        stored = await self.stored(row, size)
        path = self.deps.media.path(stored.name) if stored is not None else None
        if stored is None or path is None or not stored.name.endswith(f".{extension}"):
            return Response(status_code=404)
        try:
            stat = os.stat(path)
        except FileNotFoundError:  # erased meanwhile
            return Response(status_code=404)
        headers = {"Cache-Control": f"public, max-age={MAX_AGE}"}
        response = FileResponse(path, media_type=stored.mime, headers=headers, stat_result=stat)
        if request.headers.get("if-none-match") == response.headers["etag"]:
            kept = {k: response.headers[k] for k in ("etag", "cache-control", "last-modified")}
            return Response(status_code=304, headers=kept)
        return response
