"""A partner campaign's counter badge: ``/campaigns/<id>/badge.svg``, a small SVG with
the campaign's name and its pledge count, for the partner's own website::

    <img src="https://together.example/campaigns/osaka-welcome/badge.svg" alt="...">

The count is in the reader's language and digits (``?lang=``, else Accept-Language).
The SVG holds no script, no style sheet and no link: text and two rectangles, every
character of the name escaped. The name and count are kept a short while in memory
(:class:`~storage.rarely.RarelyChanging`) and the answer may be kept by browsers and
caches for a minute: a badge on a busy page costs the database one read per replica
every 30 seconds. A disabled campaign's badge still shows its count.
"""

from __future__ import annotations

import html
import re
import unicodedata

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.core.deps import Deps
from bot.i18n import ngettext
from bot.i18n.formatting import format_count
from storage.campaigns import CAMPAIGN_ID, campaign_count, title_in

MAX_AGE = 60  # seconds a browser or a cache may keep a badge
HEIGHT = 20
PADDING = 6  # pixels either side of each text
NARROW, WIDE = 7, 12  # pixels per character at the badge's 11 px font, about
# Characters XML 1.0 does not allow, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
HEADERS = {
    "Cache-Control": f"public, max-age={MAX_AGE}",
    "Vary": "Accept-Language",
    # Opened on its own, the badge may load nothing at all.
    "Content-Security-Policy": "default-src 'none'",
}


def text_width(text: str) -> int:
    """About how wide ``text`` is in the badge's font (wide for CJK characters)."""
    return sum(WIDE if unicodedata.east_asian_width(c) in "WF" else NARROW for c in text)


def _xml(text: str) -> str:
    """``text`` as XML character data or an attribute value: escaped, quotes included."""
    return html.escape(_NOT_XML.sub("", text), quote=True)


def badge_svg(name: str, count: str) -> str:
    """The badge: ``name`` on the left, ``count`` on the right."""
    left = text_width(name) + 2 * PADDING
    right = text_width(count) + 2 * PADDING
    label = _xml(f"{name}: {count}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + right}" height="{HEIGHT}" '
        f'role="img" aria-label="{label}">'
        f"<title>{label}</title>"
        f'<rect width="{left}" height="{HEIGHT}" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="{HEIGHT}" fill="#0072bc"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" '
        'text-anchor="middle">'
        f'<text x="{left / 2:g}" y="14">{_xml(name)}</text>'
        f'<text x="{left + right / 2:g}" y="14">{_xml(count)}</text>'
        "</g></svg>"
    )


class CampaignBadges:
    """The badge route of every campaign."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def routes(self) -> list[BaseRoute]:
        return [Route("/campaigns/{campaign_id:str}/badge.svg", self.badge, methods=["GET"])]

    async def _count(self, campaign_id: str) -> tuple[dict[str, str], int] | None:
        async def read() -> tuple[dict[str, str], int] | None:
            async with self.deps.db.read() as session:
                return await campaign_count(session, campaign_id)

        # Only a campaign that exists is kept: unknown ids must not fill the memory.
        found: tuple[dict[str, str], int] | None = await self.deps.rarely.get(
            ("badge", campaign_id), read, keep=lambda value: value is not None
        )
        return found

    async def badge(self, request: Request) -> Response:
        campaign_id = request.path_params["campaign_id"]
        found = await self._count(campaign_id) if CAMPAIGN_ID.fullmatch(campaign_id) else None
        if found is None:
            return PlainTextResponse("no such campaign", status_code=404)
        titles, total = found
        translator = self.deps.translator
        hint = request.query_params.get("lang", "")[:32] or request.headers.get("accept-language")
        with translator.use(translator.negotiate(hint)) as locale:
            name = title_in(titles, locale, self.deps.settings.default_locale, campaign_id)
            count = ngettext("{count} pledge", "{count} pledges", total).format(
                count=format_count(total, locale)
            )
        return Response(badge_svg(name, count), media_type="image/svg+xml", headers=HEADERS)
