"""A person's copy of their data: a one-time link (``/export/<token>``) and the ZIP.

``/privacy`` → "Send me a copy of my data" issues a link holding a random token (32
bytes): it works for one download, for 24 hours, and only the SHA-256 of the token is
stored (:class:`~storage.models.ExportLink`); asking again replaces the earlier link, and
erasing one's data ends it. Opening the link shows a page with a download button, so the
link previews chat apps fetch never spend it; the button spends it and answers a ZIP:

- ``data.json``: everything kept about the person (:func:`storage.export.collect`);
- ``media/``: the stored photos, voice notes and videos it refers to;
- ``README.txt``: what the archive holds, in the person's language.

The ZIP is built when it is downloaded, from what is stored at that moment, in an
anonymous temporary file inside ``DATA_DIR`` (0600, without a name from the start, so
nothing is left behind after the download, an expiry or a crash), and streamed out.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from bot.core.deps import Deps
from bot.i18n import N_, _
from bot.i18n.formatting import format_day
from bot.i18n.translator import is_rtl
from storage.export import PersonalData
from storage.export_links import (
    EXPORT_PATH,
    known_link,
    linked_data,
    live_link,
    spend_export_link,
)
from storage.models import utcnow

TOKEN_MAX = 100  # tokens are 43 characters; anything much longer is not one of ours
CHUNK = 64 * 1024
TEMPLATES = Path(__file__).resolve().parent / "templates"
NO_STORE = {"Cache-Control": "no-store"}

UI: dict[str, str] = {
    "skip": N_("Skip to the content"),
    "title": N_("Your data from TOGETHER"),
    "intro": N_(
        "Here you can download a copy of everything we keep about you: your stories, "
        "photos, pledges and chat messages, in one ZIP file."
    ),
    "careful": N_(
        "The file may identify you. Download it only on a device you trust, and keep it "
        "somewhere safe."
    ),
    "download": N_("Download my data (ZIP)"),
    "once": N_("This link works once: after the download it stops working."),
    "gone": N_(
        "This link has expired or was already used. To get a new one, send /privacy in "
        "the chat and choose “Send me a copy of my data”."
    ),
}


# -- the archive --------------------------------------------------------------------------------
def readme_text(locale_day: str) -> str:
    """README.txt of the archive, in the current locale."""
    return "\n\n".join(
        (
            _("Your data from TOGETHER"),
            _(
                "This archive is a copy of everything the TOGETHER bot keeps about you, "
                "made on {date}."
            ).format(date=locale_day),
            _(
                "data.json: your stories with every version of their text, what the "
                "moderation team decided about them (never who decided), your pledges, your "
                "consent, your language and your web chat messages. Its labels are in "
                "English so that any program can read it."
            ),
            _(
                "media: the photos, voice notes and videos you sent that we stored. Files "
                "you sent in another chat app stay there; data.json lists them without a file."
            ),
            _(
                "This file may identify you. Keep it somewhere safe, and delete it when you "
                "no longer need it. To erase everything we keep, send /privacy in the chat "
                "and choose “Erase all my data”."
            ),
        )
    )


def write_archive(out: IO[bytes], data: PersonalData, media_dir: Path, readme: str) -> list[str]:
    """Write the ZIP of ``data`` to ``out``.

    Returns:
        The archive paths of files that were no longer in the media store (also listed in
        ``data.json`` under ``files_missing``).
    """
    missing: list[str] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme)
        for file in data.files:
            source = media_dir / file.name
            if source.is_file():
                # Photos and recordings are compressed already.
                archive.write(source, file.path, compress_type=zipfile.ZIP_STORED)
            else:
                missing.append(file.path)
        document: dict[str, Any] = {**data.document, "files_missing": missing}
        archive.writestr("data.json", json.dumps(document, ensure_ascii=False, indent=2))
    return missing


# -- the pages ----------------------------------------------------------------------------------
class ExportPages:
    """``GET /export/<token>`` (the page) and ``POST`` (the download)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.templates = Jinja2Templates(directory=str(TEMPLATES))

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{EXPORT_PATH}/{{token:str}}", self.page, methods=["GET"]),
            Route(f"{EXPORT_PATH}/{{token:str}}", self.download, methods=["POST"]),
        ]

    async def page(self, request: Request) -> Response:
        token = _token(request)
        link = await live_link(self.deps.db, token) if token else None
        if link is None:
            return await self._gone(request, token)
        return self._render(request, link.locale, {"token": True, "path": request.url.path})

    async def download(self, request: Request) -> Response:
        token = _token(request)
        link = await spend_export_link(self.deps.db, token) if token else None
        if link is None:
            return await self._gone(request, token)
        data = await linked_data(self.deps.db, link)
        with self.deps.translator.use(link.locale) as locale:
            readme = readme_text(format_day(utcnow(), locale))
        out = tempfile.TemporaryFile(dir=self.deps.settings.data_dir)  # noqa: SIM115
        try:
            await asyncio.to_thread(write_archive, out, data, self.deps.media_dir, readme)
            size = out.tell()
            out.seek(0)
        except BaseException:
            out.close()
            raise
        headers = {
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="{_file_name()}"',
            "Content-Length": str(size),
        }
        return StreamingResponse(_chunks(out), media_type="application/zip", headers=headers)

    async def _gone(self, request: Request, token: str) -> Response:
        """Unknown (404), or known but expired or used (410): the same kind words."""
        known = await known_link(self.deps.db, token) if token else None
        if known is not None:
            return self._render(request, known.locale, {"token": False}, status=410)
        locale = self.deps.translator.negotiate(request.headers.get("accept-language"))
        return self._render(request, locale, {"token": False}, status=404)

    def _render(
        self, request: Request, locale: str, context: dict[str, Any], status: int = 200
    ) -> Response:
        with self.deps.translator.use(locale) as active:
            full = {
                "lang": active.replace("_", "-"),
                "dir": "rtl" if is_rtl(active) else "ltr",
                "t": {key: _(text) for key, text in UI.items()},
                "static_url": "/static",
                **context,
            }
            response = self.templates.TemplateResponse(
                request, "export.html", full, status_code=status
            )
        response.headers.update(NO_STORE)
        return response


def _token(request: Request) -> str:
    token = str(request.path_params.get("token", ""))
    return token if 0 < len(token) <= TOKEN_MAX else ""


def _file_name() -> str:
    return f"together-my-data-{utcnow().date().isoformat()}.zip"


async def _chunks(out: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(out.read, CHUNK):
            yield chunk
    finally:
        out.close()
