"""The public story wall: ``/stories`` (HTML), ``/stories/<id>``, ``/stories.json`` and
``/stories.rss`` for the campaign website.

Only stories whose moderation item is PUBLISHED appear, each with the text of its current
revision (the one approved and published; never an earlier one a moderator redacted),
credited exactly as the storyteller chose (:func:`~bot.review.delivery.credit_line`).
Each story is a card: its title (the moderator's, else its first sentence), text, credit
with the countries in the page's language, the message to the host community, and share
buttons (copy the link; the phone's own share sheet where there is one). Pages list all
stories or those in one language, with one country or of one kind
(``?language=ar&country=SY&kind=film``: an unknown value lists them all). Host-community
stories and films carry a label; a film's link (YouTube or Vimeo, checked again here) is
a plain link, never an embedded player. The page of one story carries Open Graph and Twitter
card tags, so a shared link previews with its title and opening words.

The reader's language (``?lang=``, else Accept-Language) is used for the page and the
country names; each story keeps its own language and direction.

Pages and feeds are kept (:class:`~bot.web.page_cache.PageCache`) per version of the wall
(:func:`~storage.published.wall_version`, the newest audit event: every publication,
take-down, withdrawal, erasure and choice of files or title writes one), read before the
page is built; so what leaves the wall leaves every page at the next request, on every
replica. Only the pledge count is filled in per request.

``?campaign=<id>`` (on any page of the wall) shows an open partner campaign in the
header: its name in the reader's language (else the default locale's, else any) and its
own count, with its pledge link; an unknown, disabled, not started or ended campaign
shows the default header. The first page lists the open partner campaigns (the
``CAMPAIGNS_SHOWN`` largest), each with its count and a link to its ``?campaign=`` view.
The counts are read per request like the default one, every campaign's in one aggregate
query; the campaigns' names and dates are kept 30 seconds
(:class:`~storage.rarely.RarelyChanging`), as the pledge flow and the badges keep them.
"""

from __future__ import annotations

import html
import re
from email.utils import format_datetime as rfc822
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from bot.core.deps import Deps
from bot.handlers.pledge import total_text
from bot.handlers.story_questions import film_link
from bot.i18n import N_, _, ngettext
from bot.i18n.formatting import (
    countries,
    country_name,
    format_count,
    format_day,
    language_name,
)
from bot.i18n.translator import is_rtl
from bot.review.delivery import credit_line
from bot.web.media import Attachment, PublishedMedia, media_path
from bot.web.page_cache import PageCache
from bot.web.untrusted import bounded_int, path_id
from storage.campaigns import CAMPAIGN_ID
from storage.media import MediaKind
from storage.models import StoryKind, StoryMedia, utcnow
from storage.published import (
    Facets,
    PublishedStory,
    WallFilter,
    published_facets,
    published_media,
    published_stories,
    wall_version,
)
from storage.wall_campaigns import PartnerCampaign, partner_campaigns, pledge_totals

PAGE_SIZE = 20
FEED_SIZE = 50
EXCERPT_MAX = 200  # characters of a story in a link preview (og:description)
TEMPLATES = Path(__file__).resolve().parent / "templates"
RSS_TYPE = "application/rss+xml; charset=utf-8"
# Characters XML 1.0 does not allow, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
NO_CACHE = {"Cache-Control": "no-cache", "Vary": "Accept-Language"}
# Where a page's pledge count (and the list of partner campaigns) go. Everything a
# person wrote is HTML-escaped, so no story can contain these comments: only the
# template's own markers are replaced.
PLEDGE_MARK = "<!--pledge-count-->"
CAMPAIGNS_MARK = "<!--partner-campaigns-->"
CAMPAIGNS_SHOWN = 10  # partner campaigns listed on the first page, the largest first

UI: dict[str, str] = {
    "skip": N_("Skip to the stories"),
    "title": N_("TOGETHER — stories"),
    "subtitle": N_("Respect, Safety and Dignity for All"),
    "intro": N_("Migrants and refugees tell their own stories, in their own words."),
    "share": N_("Share your story"),
    "empty": N_("No stories are published yet."),
    "no_match": N_("No published story matches this choice yet."),
    "newer": N_("Newer stories"),
    "older": N_("Older stories"),
    "all_stories": N_("All stories"),
    "published_on": N_("Published on {date}"),
    "story_number": N_("Story #{number}"),
    "rss": N_("RSS feed"),
    "not_found": N_("This story is not published."),
    "language": N_("Language"),
    "all_languages": N_("All languages"),
    "country": N_("Country"),
    "all_countries": N_("All countries"),
    "show": N_("Show stories"),
    "copy_link": N_("Copy the link"),
    "copied": N_("Link copied."),
    "share_story": N_("Share this story"),
    "take_pledge": N_("Take the pledge"),
    "kind": N_("Kind of story"),
    "films": N_("Short films"),
    "partner_campaigns": N_("Partner campaigns"),
}
# The label of a story's kind on its card (a migrant's own story has none) and the
# kind's name in the filter.
KIND_LABELS: dict[str, str] = {
    StoryKind.HOST_COMMUNITY: N_("Welcoming newcomers"),
    StoryKind.FILM: N_("Short film"),
}
KIND_CHOICES: dict[str, str] = {
    StoryKind.MIGRANT: N_("Migrants' stories"),
    StoryKind.HOST_COMMUNITY: N_("Welcoming newcomers"),
    StoryKind.FILM: N_("Short films"),
}
# Rel of a film's link: it leaves the site, and the storyteller chose it.
FILM_REL = "noopener nofollow ugc"
# A file's label when a moderator gave no alt text (a photo) and a player's name.
MEDIA_LABELS: dict[str, str] = {
    MediaKind.PHOTO: N_("Photo"),
    MediaKind.VOICE: N_("Voice note"),
    MediaKind.VIDEO: N_("Video"),
}


def ui_strings() -> dict[str, str]:
    """The wall's words in the current locale."""
    return {key: _(text) for key, text in UI.items()}


@lru_cache(maxsize=1)
def _country_codes() -> frozenset[str]:
    return frozenset(code for code, _name in countries("en"))


class StoryWall:
    """Routes of the public wall and its feeds."""

    def __init__(self, deps: Deps, *, cache: PageCache[Any] | None = None) -> None:
        self.deps = deps
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        self.media = PublishedMedia(deps)
        # Pages and feeds as built, by what they show and the wall's version.
        self.cache: PageCache[Any] = cache if cache is not None else PageCache()

    def routes(self) -> list[BaseRoute]:
        return [
            *self.media.routes(),
            Route("/stories", self.index, methods=["GET"]),
            Route("/stories.json", self.json_feed, methods=["GET"]),
            Route("/stories.rss", self.rss_feed, methods=["GET"]),
            # The id is read by path_id: Starlette's int convertor raises on 5,000 digits.
            Route("/stories/{story_id:str}", self.story, methods=["GET"]),
        ]

    @property
    def base_url(self) -> str:
        return self.deps.settings.resolved_public_url

    def story_url(self, story_id: int) -> str:
        return f"{self.base_url}/stories/{story_id}"

    @property
    def pledge_link(self) -> str | None:
        """Where a reader takes the pledge: the web chat, else the Telegram bot."""
        return self.campaign_link(None)

    def campaign_link(self, campaign_id: str | None) -> str | None:
        """Where a reader takes a campaign's pledge (None: the default one), as
        :attr:`pledge_link`."""
        settings = self.deps.settings
        start = "pledge" if campaign_id is None else f"pledge-{campaign_id}"
        if settings.web_chat_enabled:
            return f"/?start={start}"
        if settings.telegram_bot_token and settings.telegram_bot_username:
            return f"https://t.me/{settings.telegram_bot_username}?start={start}"
        return None

    async def _campaigns(self) -> tuple[PartnerCampaign, ...]:
        """Every partner campaign's name and dates (kept 30 seconds: an operator's
        change shows within that, as in the pledge flow)."""
        default = self.deps.settings.default_campaign

        async def read() -> tuple[PartnerCampaign, ...]:
            async with self.deps.db.read() as session:
                return await partner_campaigns(session, default)

        found: tuple[PartnerCampaign, ...] = await self.deps.rarely.get(("wall-campaigns",), read)
        return found

    def _reader_locale(self, request: Request) -> tuple[str, str]:
        """The reader's locale (``?lang=`` when given, else the browser's
        Accept-Language), and what the page's own links carry (``""``: nothing chosen)."""
        chosen = request.query_params.get("lang", "")[:32]
        locale = self.deps.translator.negotiate(chosen or request.headers.get("accept-language"))
        return locale, locale if chosen else ""

    def _filter(self, params: QueryParams) -> WallFilter:
        """The stories asked for: a language, country and kind we know, else all of them."""
        language = params.get("language", "")[:32].replace("-", "_")
        country = params.get("country", "")[:8].upper()
        kind = params.get("kind", "")[:32]
        return WallFilter(
            language=language if language in self.deps.translator.locales else None,
            country=country if country in _country_codes() else None,
            kind=kind if kind in KIND_CHOICES else None,
        )

    async def _page(
        self, page: int, size: int, only: WallFilter
    ) -> tuple[list[PublishedStory], dict[int, list[StoryMedia]], bool]:
        """One page of stories (and their published files), and whether there are more."""
        async with self.deps.db.transaction() as session:
            found = await published_stories(
                session, limit=size + 1, offset=(page - 1) * size, only=only
            )
            media = await published_media(session, (item.story_id for item in found[:size]))
        return found[:size], media, len(found) > size

    async def _version(self, *, pledges: bool = True) -> tuple[int, dict[str, int]]:
        """The wall's version, read before any page is built, and every campaign's
        pledge count, in one query (none when ``pledges`` is false: the feeds do not
        show them)."""
        async with self.deps.db.transaction() as session:
            version = await wall_version(session)
            totals = await pledge_totals(session) if pledges else {}
        return version, totals

    def _feed_entry(self, item: PublishedStory, locale: str) -> dict[str, Any]:
        """One story as the JSON feed gives it (call inside ``translator.use(locale)``)."""
        story = item.story
        return {
            "id": item.story_id,
            "title": item.title,
            "text": item.text,
            "credit": credit_line(story, locale),
            "countries": {"origin": story.origin_country, "residence": story.current_country},
            "community_message": story.community_message,
            "locale": story.locale.replace("_", "-"),
            "published_at": item.published_at.isoformat(),
            "url": self.story_url(item.story_id),
            "tags": [story.kind],
        }

    def _page_entry(
        self, item: PublishedStory, locale: str, files: list[StoryMedia]
    ) -> dict[str, Any]:
        """One story for a page: its feed entry, its direction, the date to show, and its
        published files (the first photo is its picture in link previews)."""
        media = _media_entries(files)
        photo = next((file for file in media if file["kind"] == MediaKind.PHOTO), None)
        text, link = _film_parts(item)
        label = KIND_LABELS.get(item.story.kind)
        return {
            **self._feed_entry(item, locale),
            "body": text,
            "film_link": link,
            "film_rel": FILM_REL,
            "kind_label": _(label) if label else None,
            "dir": "rtl" if is_rtl(item.story.locale) else "ltr",
            "published_on": _(UI["published_on"]).format(
                date=format_day(item.published_at, locale)
            ),
            "path": f"/stories/{item.story_id}",
            "excerpt": excerpt(item.text),
            "media": media,
            "image": f"{self.base_url}{photo['thumb']}" if photo else None,
            "image_alt": photo["alt"] if photo else None,
        }

    async def _attachments(self, media: dict[int, list[StoryMedia]]) -> dict[int, list[Attachment]]:
        return {story_id: await self.media.attachments(rows) for story_id, rows in media.items()}

    def _attachments_json(self, files: list[Attachment]) -> dict[str, Any]:
        """A story's files in the JSON feed (absolute URLs; ``image``: its first photo's
        small copy, for a site's card)."""
        image = next((file.thumbnail for file in files if file.thumbnail), None)
        return {
            "image": f"{self.base_url}{image}" if image else None,
            "attachments": [
                {
                    "url": f"{self.base_url}{file.path}",
                    "mime_type": file.mime,
                    "size_in_bytes": file.size,
                    "kind": file.kind,
                    "alt_text": file.alt_text,
                    **(
                        {"thumbnail_url": f"{self.base_url}{file.thumbnail}"}
                        if file.thumbnail
                        else {}
                    ),
                }
                for file in files
            ],
        }

    # -- HTML -------------------------------------------------------------------------------
    def _html(self, name: str, locale: str, context: dict[str, Any]) -> str:
        """A page, rendered in ``locale`` (its pledge count still to be filled in)."""
        with self.deps.translator.use(locale) as active:
            full = {
                "lang": active.replace("_", "-"),
                "dir": "rtl" if is_rtl(active) else "ltr",
                "t": ui_strings(),
                "static_url": "/static",
                "pledge_mark": PLEDGE_MARK,
                "campaigns_mark": CAMPAIGNS_MARK,
                **context,
            }
            return self.templates.env.get_template(name).render(full)

    async def _respond(
        self, request: Request, page: tuple[int, str], totals: dict[str, int], locale: str
    ) -> Response:
        """A page (status, HTML) with the live pledge counts in the reader's language:
        the header's (the ``?campaign=`` asked for when it is open, else the default
        campaign's) and the partner campaigns' list, where the page has one."""
        status, body = page
        asked = request.query_params.get("campaign", "")[:64]
        wanted = asked if CAMPAIGN_ID.fullmatch(asked) else None
        listed = CAMPAIGNS_MARK in body
        partners: tuple[PartnerCampaign, ...] = ()
        if wanted or listed:
            now = utcnow()
            partners = tuple(item for item in await self._campaigns() if item.is_open(now))
        chosen = next((item for item in partners if item.id == wanted), None)
        default_locale = self.deps.settings.default_locale
        templates = self.templates.env
        with self.deps.translator.use(locale) as active:
            campaign = self.deps.settings.default_campaign if chosen is None else chosen.id
            header = templates.get_template("wall_pledge.html").render(
                campaign=None if chosen is None else chosen.name(active, default_locale),
                count=total_text(totals.get(campaign, 0), active),
                link=self.campaign_link(None if chosen is None else chosen.id),
                take_pledge=_(UI["take_pledge"]),
            )
            block = ""
            if listed and partners:
                _reader, lang = self._reader_locale(request)
                largest = sorted(partners, key=lambda item: (-totals.get(item.id, 0), item.id))
                entries = [
                    {
                        "name": item.name(active, default_locale),
                        "count": _pledges_text(totals.get(item.id, 0), active),
                        "href": "/stories?"
                        + urlencode({"campaign": item.id, **({"lang": lang} if lang else {})}),
                        "current": item is chosen,
                    }
                    for item in largest[:CAMPAIGNS_SHOWN]
                ]
                block = templates.get_template("wall_campaigns.html").render(
                    heading=_(UI["partner_campaigns"]), campaigns=entries
                )
        body = body.replace(PLEDGE_MARK, header, 1).replace(CAMPAIGNS_MARK, block, 1)
        return HTMLResponse(body, status, headers=NO_CACHE)

    async def index(self, request: Request) -> Response:
        only = self._filter(request.query_params)
        page = max(1, positive_int(request.query_params.get("page")))
        locale, lang = self._reader_locale(request)
        version, totals = await self._version()
        built = await self.cache.get(
            ("index", locale, lang, only, page, PAGE_SIZE),
            version,
            lambda: self._index_page(only, page, locale, lang),
        )
        return await self._respond(request, built, totals, locale)

    async def _index_page(
        self, only: WallFilter, page: int, locale: str, lang: str
    ) -> tuple[int, str]:
        stories, media, more = await self._page(page, PAGE_SIZE, only)
        async with self.deps.db.transaction() as session:
            facets = await published_facets(session)
        with self.deps.translator.use(locale) as active:
            entries = [
                self._page_entry(item, active, media.get(item.story_id, [])) for item in stories
            ]
            choices = _filter_choices(facets, only, active)
            films = _query(lang, 1, WallFilter(kind=StoryKind.FILM))
        body = self._html(
            "wall_index.html",
            locale,
            {
                "stories": entries,
                "heading": "h2",
                "share": "/?start=story" if self.deps.settings.web_chat_enabled else None,
                "filters": choices,
                "chosen": only,
                "page_lang": lang,
                "filtered": bool(only.language or only.country or only.kind),
                "films": films if StoryKind.FILM in facets.kinds else None,
                "newer": _query(lang, page - 1, only) if page > 1 else None,
                "older": _query(lang, page + 1, only) if more else None,
                "first_page": page == 1,
            },
        )
        return 200, body

    async def story(self, request: Request) -> Response:
        locale, _lang = self._reader_locale(request)
        story_id = path_id(request, "story_id")
        version, totals = await self._version()
        if story_id is None:  # no story has that number (and no database takes it)
            return await self._respond(request, self._missing_page(locale), totals, locale)
        built = await self.cache.get(
            ("story", locale, story_id), version, lambda: self._story_page(story_id, locale)
        )
        return await self._respond(request, built, totals, locale)

    async def _story_page(self, story_id: int, locale: str) -> tuple[int, str]:
        async with self.deps.db.transaction() as session:
            found = await published_stories(session, limit=1, story_id=story_id)
            media = await published_media(session, [story_id] if found else [])
        if not found:
            return self._missing_page(locale)
        with self.deps.translator.use(locale) as active:
            entry = self._page_entry(found[0], active, media.get(story_id, []))
        return 200, self._html("wall_story.html", locale, {"story": entry, "heading": "h1"})

    def _missing_page(self, locale: str) -> tuple[int, str]:
        return 404, self._html("wall_missing.html", locale, {})

    # -- feeds ------------------------------------------------------------------------------
    async def json_feed(self, request: Request) -> Response:
        only = self._filter(request.query_params)
        page = max(1, positive_int(request.query_params.get("page")))
        locale, lang = self._reader_locale(request)
        version, _total = await self._version(pledges=False)
        body = await self.cache.get(
            ("json", locale, lang, only, page, FEED_SIZE),
            version,
            lambda: self._json_body(only, page, locale, lang),
        )
        return Response(body, media_type="application/json", headers=NO_CACHE)

    async def _json_body(self, only: WallFilter, page: int, locale: str, lang: str) -> bytes:
        stories, media, more = await self._page(page, FEED_SIZE, only)
        files = await self._attachments(media)
        with self.deps.translator.use(locale) as active:
            items = [
                {
                    **self._feed_entry(item, active),
                    **self._attachments_json(files.get(item.story_id, [])),
                }
                for item in stories
            ]
        body = {
            "stories": items,
            "locale": locale.replace("_", "-"),
            "next": f"{self.base_url}/stories.json{_query(lang, page + 1, only)}" if more else None,
        }
        return bytes(JSONResponse(body).body)

    async def rss_feed(self, request: Request) -> Response:
        only = self._filter(request.query_params)
        locale, _lang = self._reader_locale(request)
        version, _total = await self._version(pledges=False)
        body = await self.cache.get(
            ("rss", locale, only, FEED_SIZE), version, lambda: self._rss_body(only, locale)
        )
        return Response(body, media_type=RSS_TYPE, headers=NO_CACHE)

    async def _rss_body(self, only: WallFilter, locale: str) -> bytes:
        async with self.deps.db.transaction() as session:
            stories = await published_stories(session, limit=FEED_SIZE, only=only)
            media = await published_media(session, (item.story_id for item in stories))
        files = await self._attachments(media)
        with self.deps.translator.use(locale) as active:
            rss = ET.Element("rss", version="2.0")
            channel = ET.SubElement(rss, "channel")
            _text(channel, "title", _(UI["title"]))
            _text(channel, "link", f"{self.base_url}/stories")
            _text(channel, "description", _(UI["intro"]))
            _text(channel, "language", active.replace("_", "-").lower())
            if stories:
                _text(channel, "lastBuildDate", rfc822(stories[0].published_at))
            for item in stories:
                entry = ET.SubElement(channel, "item")
                url = self.story_url(item.story_id)
                # Some readers render a title as HTML: escaped as the description is.
                _text(entry, "title", html.escape(item.title, quote=False))
                _text(entry, "link", url)
                _text(entry, "guid", url).set("isPermaLink", "true")
                _text(entry, "pubDate", rfc822(item.published_at))
                _text(entry, "category", item.story.kind)
                _text(entry, "description", _description(item, active))
                for file in files.get(item.story_id, []):
                    ET.SubElement(
                        entry,
                        "enclosure",
                        url=f"{self.base_url}{file.path}",
                        length=str(file.size),
                        type=file.mime,
                    )
        return bytes(ET.tostring(rss, encoding="utf-8", xml_declaration=True))


def _pledges_text(total: int, locale: str) -> str:
    """ "12 pledges": a partner campaign's count in the list (the badge's words)."""
    return ngettext("{count} pledge", "{count} pledges", total).format(
        count=format_count(total, locale)
    )


def excerpt(text: str, limit: int = EXCERPT_MAX) -> str:
    """The opening words of ``text`` on one line, at most ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"


def _media_entries(files: list[StoryMedia]) -> list[dict[str, Any]]:
    """The published files of a story as a page shows them (call in the page's locale):
    photos by their two sizes and alt text, voice notes and videos as players."""
    entries: list[dict[str, Any]] = []
    for file in files:
        path = media_path(file)
        if path is None or file.kind not in MEDIA_LABELS:
            continue  # not in the media store, or a document: never on the wall
        label = _(MEDIA_LABELS[file.kind])
        entry: dict[str, Any] = {"kind": file.kind, "src": path, "mime": file.mime}
        if file.kind == MediaKind.PHOTO:
            entry |= {"thumb": media_path(file, "thumb"), "full": path}
            entry["alt"] = file.alt_text or label
        else:
            entry["label"] = file.alt_text or label
        entries.append(entry)
    return entries


def _filter_choices(facets: Facets, only: WallFilter, locale: str) -> dict[str, Any]:
    """The filter form's options: the languages (each in its own words) and countries
    (in the page's language, sorted by name) that published stories have."""
    languages = [
        (code.replace("_", "-"), language_name(code), code == only.language)
        for code in facets.languages
    ]
    named = sorted(
        ((code, country_name(code, locale)) for code in facets.countries),
        key=lambda pair: pair[1].casefold(),
    )
    found = [(code, name, code == only.country) for code, name in named]
    kinds = [
        (kind, _(name), kind == only.kind)
        for kind, name in KIND_CHOICES.items()
        if kind in facets.kinds or kind == only.kind
    ]
    return {"languages": languages, "countries": found, "kinds": kinds}


def _film_parts(item: PublishedStory) -> tuple[str, str | None]:
    """A story's text to show and, for a film, its link: the last paragraph when it is
    a link to a known film host (checked again: a moderator may have edited the text)."""
    if item.story.kind != StoryKind.FILM:
        return item.text, None
    head, _sep, last = item.text.rstrip().rpartition("\n\n")
    link = film_link(last.strip())
    if link is None:
        return item.text, None
    return head, link


def _description(item: PublishedStory, locale: str) -> str:
    """An item's description: RSS readers render it as HTML, so the text is escaped as
    HTML here (and as XML again when written): a ``<script>`` stays text in any reader."""
    parts = [f"<p>{html.escape(paragraph)}</p>" for paragraph in item.text.split("\n\n")]
    parts.append(f"<p>{html.escape(credit_line(item.story, locale))}</p>")
    if item.story.community_message:
        parts.append(f"<blockquote>{html.escape(item.story.community_message)}</blockquote>")
    return "".join(parts)


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = _NOT_XML.sub("", text)
    return element


def _query(lang: str, page: int, only: WallFilter | None = None) -> str:
    params = {"lang": lang} if lang else {}
    if only is not None and only.language:
        params["language"] = only.language.replace("_", "-")
    if only is not None and only.country:
        params["country"] = only.country
    if only is not None and only.kind:
        params["kind"] = only.kind
    if page > 1:
        params["page"] = str(page)
    return f"?{urlencode(params)}" if params else ""


def positive_int(value: object) -> int:
    """A query or header value as a non-negative integer (0 when absent or malformed),
    never larger than a database integer (a page number past it would overflow)."""
    return bounded_int(value)
