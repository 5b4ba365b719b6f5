"""The moderation dashboard at ``/moderation``: the queue, one item, and its forms.

Moderators sign in with a one-time link (:mod:`bot.review.login_links`). Opening the link
shows a "sign in" button, and only that POST spends the link: link previews in chat apps
fetch URLs with GET and must not burn it. Signing in starts a session in an HttpOnly,
SameSite=Strict cookie; every POST carries a CSRF token (an HMAC of the session token)
and must be same-origin.

Every decision goes through :class:`~bot.review.service.ReviewService`, with the version
the form was rendered with: a stale form gets the facade's "already handled by X" and the
item as it is now. Pages are in ``MODERATION_LOCALE``; user text is only ever escaped.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from bot.adapters.normalise import normalise_text
from bot.core.deps import Deps
from bot.core.media import local_name
from bot.i18n import N_, _, ngettext
from bot.i18n.formatting import country_name, format_ago, format_count
from bot.i18n.translator import is_rtl
from bot.review.cards import CardView, load_card, not_received_line, reason_labels
from bot.review.queue import STATE_LABELS, QueueEntry, queue_languages, queue_page, timeline
from bot.review.roster import PartnerLead
from bot.review.service import PERMISSION, ActionRequest, Outcome, ReviewAction, ReviewService
from bot.web.sign_in import csrf_token, session_member
from bot.web.untrusted import ID_MAX, bounded_int, path_id, read_body, replayed
from bot.web.wall import positive_int
from moderation.actors import Moderator
from moderation.audit import ChainCheck, verify_chain
from moderation.flags import Flag
from moderation.intake import PRIORITY_SAFETY
from moderation.presentation import FileChoice
from moderation.reasons import ReasonCode
from moderation.states import SAFETY_ROLES, Role, may
from moderation.visibility import may_read
from storage.dashboard_tokens import SESSION_TTL, login_holder, sign_in, sign_out
from storage.models import ModerationEvent, StoryMedia, StoryState, utcnow
from storage.published import Presentation, presentation_of
from storage.times import as_utc

log = logging.getLogger(__name__)

PREFIX = "/moderation"
STATS_PATH = f"{PREFIX}/stats"  # bot.web.stats: the only page a partner lead sees
COOKIE = "tb_moderator"
SEARCH_MAX = 200
FORM_BYTES_MAX = 256 * 1024
TEMPLATES = Path(__file__).resolve().parent / "templates"

S = StoryState
# The queue's tabs, safety first.
TABS: tuple[StoryState, ...] = (
    S.SAFETY_REVIEW,
    S.PENDING_REVIEW,
    S.NEEDS_CHANGES,
    S.APPROVED,
    S.PUBLISHED,
    S.REJECTED,
    S.UNPUBLISHED,
)

ROLE_LABELS: dict[str, str] = {
    Role.MODERATOR: N_("moderator"),
    Role.SAFETY_MODERATOR: N_("safety moderator"),
    Role.LEAD: N_("lead"),
    Role.STORYTELLER: N_("storyteller"),
    Role.SYSTEM: N_("system"),
    Role.PARTNER: N_("partner lead"),
}
CREDIT_LABELS: dict[str, str] = {
    "full_name": N_("Full name"),
    "first_name": N_("First name only"),
    "anonymous": N_("Anonymous"),
}

# The dashboard's own words; templates read them as ``t.<key>``.
UI: dict[str, str] = {
    "skip": N_("Skip to the content"),  # base.html's skip link
    "title": N_("Moderation"),
    "queue": N_("Queue"),
    "thanks_queue": N_("Thanks from readers"),
    "stats": N_("Stats"),
    "sign_out": N_("Sign out"),
    "signed_in_as": N_("Signed in as {who} ({role})"),
    "sign_in_title": N_("Sign in to moderation"),
    "sign_in_help": N_(
        "Sign in with a one-time link. Ask the bot for one in a private chat, or ask an "
        "operator to run: together-bot moderators login <your id>"
    ),
    "sign_in_as": N_("Sign in as {who}"),
    "link_invalid": N_(
        "This sign-in link has expired or was already used. Please ask for a new one."
    ),
    "refused": N_("This request was refused for your safety. Please reload the page."),
    "not_found": N_("There is no such story."),
    "bad_request": N_("That form was incomplete. Please try again."),
    "search": N_("Search"),
    "search_label": N_("Story number or words in the text"),
    "language": N_("Language"),
    "all_languages": N_("All languages"),
    "results_for": N_("Results for “{query}”"),
    "clear_search": N_("Clear the search"),
    "story": N_("Story"),
    "priority": N_("Priority"),
    "priority_high": N_("High"),
    "priority_normal": N_("Normal"),
    "age": N_("Waiting since"),
    "claimed_by": N_("Claimed by"),
    "excerpt": N_("Beginning of the text"),
    "flags": N_("Flags"),
    "nobody": N_("—"),
    "empty": N_("Nothing here."),
    "previous_page": N_("Previous page"),
    "next_page": N_("Next page"),
    "audit_chain": N_("Audit log"),
    "chain_ok": N_("The audit chain is intact ({count} events checked)."),
    "chain_broken": N_(
        "The audit chain is broken at event {event}: an event was changed, inserted or removed."
    ),
    "story_number": N_("Story #{number}"),
    "state": N_("State"),
    "version": N_("Version"),
    "submitted": N_("Submitted"),
    "credit": N_("Credit"),
    "from": N_("From"),
    "living_in": N_("Living in"),
    "minor": N_("The storyteller is under 18."),
    "community_message": N_("Message to the host community"),
    "being_reviewed": N_("Being reviewed by {who} until {time}."),
    "decided": N_("Last decision by {who} at {time}."),
    "original": N_("Original (never published)"),
    "current": N_("Current text (revision {number})"),
    "media": N_("Attached files"),
    "no_media": N_("No files."),
    "open_file": N_("Open"),
    "kept_on": N_("kept on {platform}"),
    "file_published": N_("On the wall"),
    "file_hidden": N_("Not published"),
    "publish_file": N_("Publish this file on the wall"),
    "alt_text": N_("What it shows, for people who cannot see it (alt text)"),
    "save_file": N_("Save"),
    "wall_title": N_("Title on the wall (empty: its first sentence)"),
    "save_title": N_("Save the title"),
    "timeline": N_("Timeline"),
    "when": N_("When"),
    "who": N_("Who"),
    "action": N_("Action"),
    "change": N_("Change"),
    "reason": N_("Reason"),
    "note": N_("Note"),
    "actions": N_("Actions"),
    "claim": N_("Claim"),
    "release": N_("Release"),
    "approve": N_("Approve"),
    "reject": N_("Reject"),
    "changes": N_("Ask for changes"),
    "changes_label": N_("What should the storyteller change? (sent to them)"),
    "escalate": N_("Send to the safety team"),
    "redact": N_("Save the redacted text"),
    "redact_label": N_("Redact: edit the text (the original stays visible to moderators only)"),
    "unpublish": N_("Take down"),
    "takeover": N_("Take over"),
    "takeover_label": N_("Why do you take over? (kept in the audit log)"),
    "reopen": N_("Reopen"),
    "reopen_label": N_("Why reopen it? (kept in the audit log)"),
    "no_actions": N_("No action applies to this story now."),
    "safety_only": N_(
        "This story is with the safety team. Only safety moderators and leads can read it."
    ),
    "back_to_queue": N_("Back to the queue"),
    "continue": N_("Continue"),
}


def ui_strings() -> dict[str, str]:
    """The dashboard's words in the current locale."""
    return {key: _(text) for key, text in UI.items()}


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The moderator behind a request's session cookie."""

    moderator: Moderator
    token: str


@dataclass(frozen=True, slots=True)
class SignedInPartner:
    """A partner lead behind a request's session cookie: their Stats page only."""

    partner: PartnerLead
    token: str


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of text; ``kind`` names the flag when the run is flagged."""

    text: str
    kind: str | None = None


def flagged_pieces(text: str, flags: tuple[Flag, ...], offset: int = 0) -> list[Piece]:
    """``text`` split at the flags' offsets (shifted by ``offset``), for ``<mark>``.

    Overlapping spans keep the earlier one; spans outside the text are ignored.
    """
    spans = sorted(
        (f.start - offset, f.end - offset, f.kind.value)
        for f in flags
        if 0 <= f.start - offset < f.end - offset <= len(text)
    )
    pieces: list[Piece] = []
    position = 0
    for start, end, kind in spans:
        if start < position:
            continue
        if start > position:
            pieces.append(Piece(text[position:start]))
        pieces.append(Piece(text[start:end], kind))
        position = end
    if position < len(text) or not pieces:
        pieces.append(Piece(text[position:]))
    return pieces


@dataclass(frozen=True, slots=True)
class QueueRow:
    item_id: int
    story_id: int
    state: str
    high_priority: bool
    language: str
    age: str
    claimed_by: str | None
    excerpt: str
    flags: int


@dataclass(frozen=True, slots=True)
class TimelineRow:
    when: str
    actor: str
    role: str
    action: str
    from_state: str | None
    to_state: str
    reason: str | None
    note: str | None


_LOCALE_CODE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8}){0,2}$")


class Dashboard:
    """Routes of the moderation dashboard.

    Args:
        deps: the bot's dependencies.
        review: the facade every decision goes through.
        session_secret: the deployment's session secret (CSRF tokens are HMACs with it).
    """

    def __init__(self, deps: Deps, review: ReviewService, *, session_secret: bytes) -> None:
        self.deps = deps
        self.review = review
        self._secret = session_secret
        self.templates = Jinja2Templates(directory=str(TEMPLATES))

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PREFIX, self.queue, methods=["GET"]),
            Route(f"{PREFIX}/login", self.sign_in_help, methods=["GET"]),
            Route(f"{PREFIX}/login/{{token:str}}", self.login_page, methods=["GET"]),
            Route(f"{PREFIX}/login/{{token:str}}", self.login, methods=["POST"]),
            Route(f"{PREFIX}/logout", self.logout, methods=["POST"]),
            # Ids are read by path_id: Starlette's int convertor raises on 5,000 digits.
            Route(f"{PREFIX}/items/{{item_id:str}}", self.item, methods=["GET"]),
            Route(f"{PREFIX}/items/{{item_id:str}}", self.act, methods=["POST"]),
            Route(f"{PREFIX}/items/{{item_id:str}}/media/{{index:str}}", self.media),
            *self._stats_routes(),
        ]

    def _stats_routes(self) -> list[BaseRoute]:
        from bot.web.stats import StatsPage  # it builds on this module

        return StatsPage(self).routes()

    # -- sessions and CSRF -----------------------------------------------------------------
    def csrf_token(self, session_token: str) -> str:
        return csrf_token(self._secret, session_token)

    async def _signed_in(self, request: Request) -> SignedIn | None:
        """The moderator signed in; None for anyone else (a partner lead included)."""
        member = await self.member(request)
        return member if isinstance(member, SignedIn) else None

    async def member(self, request: Request) -> SignedIn | SignedInPartner | None:
        """Whoever is signed in: a moderator, or a partner lead (who is remembered on the
        request, so that every page but their Stats page sends them there or refuses)."""
        token = request.cookies.get(COOKIE)
        if not token or not 20 <= len(token) <= 100:
            return None
        member = await session_member(self.deps, token)
        if isinstance(member, PartnerLead):
            request.state.partner = member
            return SignedInPartner(member, token)
        return SignedIn(member, token) if member is not None else None

    @staticmethod
    def _partner(request: Request) -> PartnerLead | None:
        partner = getattr(request.state, "partner", None)
        return partner if isinstance(partner, PartnerLead) else None

    def _same_origin(self, request: Request) -> bool:
        site = request.headers.get("sec-fetch-site")
        if site not in (None, "same-origin", "none"):
            return False
        origin = request.headers.get("origin")
        return (
            origin is None or origin.rstrip("/") == f"{request.url.scheme}://{request.url.netloc}"
        )

    async def _checked_form(
        self, request: Request, who: SignedIn | SignedInPartner
    ) -> dict[str, str] | None:
        """The form's text fields, or None when it is cross-site, forged or too large."""
        if not self._same_origin(request):
            return None
        try:
            # Capped as it arrives (a chunked body too), then parsed.
            body = await read_body(request, FORM_BYTES_MAX)
            form = await replayed(request, body).form(max_files=0, max_fields=20)
        except Exception:  # too large, or not a form: nothing of it is used
            return None
        fields = {
            key: normalise_text(value) for key, value in form.items() if isinstance(value, str)
        }
        sent = fields.get("csrf", "")
        # compare_digest takes ASCII strings only: anything else is no token of ours.
        if not sent.isascii() or not hmac.compare_digest(sent, self.csrf_token(who.token)):
            return None
        return fields

    # -- rendering --------------------------------------------------------------------------
    @property
    def locale(self) -> str:
        return self.deps.settings.moderation_locale

    def _render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        *,
        who: SignedIn | None = None,
        status: int = 200,
    ) -> Response:
        with self.deps.translator.use(self.locale) as locale:
            full = {
                "lang": locale.replace("_", "-"),
                "dir": "rtl" if is_rtl(locale) else "ltr",
                "t": ui_strings(),
                "static_url": "/static",
                "who": who,
                "who_role": _(ROLE_LABELS[who.moderator.role]) if who else "",
                "csrf": self.csrf_token(who.token) if who else "",
                "prefix": PREFIX,
                **context,
            }
            response = self.templates.TemplateResponse(request, name, full, status_code=status)
        response.headers["Cache-Control"] = "no-store"
        # Same-origin form posts then carry their Origin (with no-referrer it is "null");
        # nothing, the sign-in link included, is sent as a referrer to another site.
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    def _message_page(self, request: Request, key: str, status: int) -> Response:
        return self._render(request, "dashboard_message.html", {"message_key": key}, status=status)

    # -- signing in and out -----------------------------------------------------------------
    async def sign_in_help(self, request: Request) -> Response:
        return self._render(request, "dashboard_login.html", {"token": None, "moderator_id": None})

    async def login_page(self, request: Request) -> Response:
        """Shows a sign-in button: a GET (a link preview) never spends the link."""
        token = request.path_params["token"]
        moderator_id = await login_holder(self.deps.db, token)
        if moderator_id is None:
            return self._message_page(request, "link_invalid", 403)
        return self._render(
            request, "dashboard_login.html", {"token": token, "moderator_id": moderator_id}
        )

    async def login(self, request: Request) -> Response:
        if not self._same_origin(request):
            return self._message_page(request, "refused", 403)
        signed_in = await sign_in(self.deps.db, request.path_params["token"])
        if signed_in is None:
            return self._message_page(request, "link_invalid", 403)
        moderator_id, session_token = signed_in
        log.info("dashboard sign-in", extra={"moderator": moderator_id})
        response = RedirectResponse(PREFIX, status_code=303)
        response.set_cookie(
            COOKIE,
            session_token,
            max_age=int(SESSION_TTL.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=self.deps.settings.resolved_public_url.startswith("https://"),
            path=PREFIX,
        )
        return response

    async def logout(self, request: Request) -> Response:
        who = await self.member(request)
        if who is None:
            return self._message_page(request, "refused", 401)
        if await self._checked_form(request, who) is None:
            return self._message_page(request, "refused", 403)
        await sign_out(self.deps.db, who.token)
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
        return response

    def _to_sign_in(self, request: Request) -> Response:
        if self._partner(request) is not None:  # their campaign's numbers, nothing else
            return RedirectResponse(STATS_PATH, status_code=303)
        if request.headers.get("sec-fetch-site") == "cross-site":
            # A SameSite=Strict cookie is not sent on a navigation from another site (the
            # card's link in Telegram or Slack): load the page once more from here.
            return self._render(request, "dashboard_reload.html", {})
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    # -- the queue --------------------------------------------------------------------------
    async def queue(self, request: Request) -> Response:
        who = await self._signed_in(request)
        if who is None:
            return self._to_sign_in(request)
        params = request.query_params
        query = normalise_text(params.get("q", "")).strip()[:SEARCH_MAX]
        language = params.get("lang", "")
        language = language if _LOCALE_CODE.match(language) else ""
        page = max(1, positive_int(params.get("page")))
        role = who.moderator.role
        counts = await self.review.counts(reader=role)
        safety_team = role in SAFETY_ROLES
        state_param = params.get("state", "")
        if state_param in {tab.value for tab in TABS}:
            state = StoryState(state_param)
        elif safety_team and counts.get(S.SAFETY_REVIEW):
            state = S.SAFETY_REVIEW
        else:
            state = S.PENDING_REVIEW
        with self.deps.translator.use(self.locale) as locale:
            async with self.deps.db.transaction() as session:
                found = await queue_page(
                    session,
                    reader=role,
                    state=None if query else state,
                    language=language,
                    query=query,
                    page=page,
                )
                languages = await queue_languages(session, reader=role)
                chain = await verify_chain(session) if who.moderator.role is Role.LEAD else None
            now = utcnow()
            rows = [_queue_row(entry, now, locale) for entry in found.entries]
            tabs = [
                {
                    "state": tab.value,
                    "label": _(STATE_LABELS[tab]),
                    "count": format_count(counts.get(tab, 0), locale),
                    "current": tab is state and not query,
                }
                for tab in TABS
            ]
            language_options = [(code, _language_label(code, locale)) for code in languages]
            chain_text = _chain_text(chain, locale)
            waiting = counts.get(S.SAFETY_REVIEW, 0)
            # Need-to-know: a plain moderator learns how many, never what.
            safety_notice = (
                ngettext(
                    "{count} story awaits the safety team. Only safety moderators and leads "
                    "can read it.",
                    "{count} stories await the safety team. Only safety moderators and leads "
                    "can read them.",
                    waiting,
                ).format(count=format_count(waiting, locale))
                if waiting and not safety_team and not query
                else None
            )
        base = {"state": state.value, "lang": language, "q": query}
        return self._render(
            request,
            "dashboard_queue.html",
            {
                "tabs": tabs,
                "rows": rows,
                "query": query,
                "language": language,
                "languages": language_options,
                "state": state.value,
                "chain": chain,
                "chain_text": chain_text,
                "safety_notice": safety_notice,
                "newer": _page_link(base, page - 1) if page > 1 else None,
                "older": _page_link(base, page + 1) if found.more else None,
            },
            who=who,
        )

    # -- one item ---------------------------------------------------------------------------
    async def item(self, request: Request) -> Response:
        who = await self._signed_in(request)
        if who is None:
            return self._to_sign_in(request)
        item_id = path_id(request, "item_id")
        if item_id is None:  # no item has such a number (and no database takes it)
            return self._message_page(request, "not_found", 404)
        return await self._item_page(request, who, item_id)

    async def posted_form(
        self, request: Request, id_param: str
    ) -> tuple[SignedIn, dict[str, str], int] | Response:
        """A form posted about one row (its id is ``id_param`` in the path): the moderator,
        the checked fields and the id; or the page refusing it (not signed in, cross-site
        or forged, no such id)."""
        who = await self._signed_in(request)
        if who is None:
            status = 403 if self._partner(request) is not None else 401
            return self._message_page(request, "refused", status)
        form = await self._checked_form(request, who)
        if form is None:
            return self._message_page(request, "refused", 403)
        row_id = path_id(request, id_param)
        if row_id is None:
            return self._message_page(request, "not_found", 404)
        return who, form, row_id

    async def act(self, request: Request) -> Response:
        """One form's action through the facade; answers with the item as it is now."""
        posted = await self.posted_form(request, "item_id")
        if isinstance(posted, Response):
            return posted
        who, form, item_id = posted
        try:
            action = ReviewAction(form.get("action", ""))
            version = int(form.get("version", ""))
        except ValueError:
            return self._message_page(request, "bad_request", 400)
        if not 0 <= version <= ID_MAX:
            return self._message_page(request, "bad_request", 400)
        reason = form.get("reason") or None
        if reason is not None and reason not in set(ReasonCode):
            return self._message_page(request, "bad_request", 400)
        text = form.get("text")  # normalised: a textarea's CRLF lines are LF
        file = _file_choice(form) if action is ReviewAction.MEDIA else None
        if action is ReviewAction.MEDIA and file is None:
            return self._message_page(request, "bad_request", 400)
        outcome = await self.review.act(
            who.moderator,
            ActionRequest(action, item_id, version, reason),
            text=text or None,
            file=file,
        )
        return await self._item_page(
            request, who, item_id, outcome=outcome, status=200 if outcome.ok else 409
        )

    async def _item_page(
        self,
        request: Request,
        who: SignedIn,
        item_id: int,
        *,
        outcome: Outcome | None = None,
        status: int = 200,
    ) -> Response:
        async with self.deps.db.transaction() as session:
            view = await load_card(session, item_id)
            events = await timeline(session, item_id)
            shown = await presentation_of(session, view.story_id) if view else None
        if view is None or shown is None:
            return self._message_page(request, "not_found", 404)
        if not may_read(who.moderator.role, view.state, view.priority):
            # Not the text, the files, the flags nor the timeline: only what happened.
            return self._render(
                request,
                "dashboard_message.html",
                {"message_key": "safety_only", "outcome": outcome},
                who=who,
                status=200 if outcome is not None and outcome.ok else 403,
            )
        if view.priority >= PRIORITY_SAFETY and who.moderator.role not in SAFETY_ROLES:
            # Approved by the safety team: what they approved, not what it was before.
            view = dataclasses.replace(view, original_text=None)
        with self.deps.translator.use(self.locale) as locale:
            context = self._item_context(view, events, who.moderator, locale, shown)
        context["outcome"] = outcome
        return self._render(request, "dashboard_item.html", context, who=who, status=status)

    def _item_context(
        self,
        view: CardView,
        events: list[ModerationEvent],
        moderator: Moderator,
        locale: str,
        shown: Presentation,
    ) -> dict[str, Any]:
        now = utcnow()
        lease_until = as_utc(view.lease_expires_at)
        lease_live = view.lease_owner is not None and lease_until is not None and lease_until > now
        decided_at = as_utc(view.decided_at)
        reasons = reason_labels()
        # The flags' offsets index the screened text: the story, "\n", then the message.
        message_offset = len(view.text) + 1
        return {
            "view": view,
            "state_label": _(STATE_LABELS.get(view.state, view.state)),
            "language": _language_label(view.locale, locale),
            "submitted": _when(view.submitted_at, locale),
            "credit_label": _(CREDIT_LABELS.get(view.credit_mode, CREDIT_LABELS["anonymous"])),
            "origin": country_name(view.origin, locale) if view.origin else None,
            "residence": country_name(view.residence, locale) if view.residence else None,
            "text_dir": "rtl" if is_rtl(view.locale) else "ltr",
            "text_lang": view.locale.replace("_", "-"),
            "current": flagged_pieces(view.text, view.flags),
            "message": flagged_pieces(view.community_message, view.flags, message_offset)
            if view.community_message
            else None,
            "flags": [
                {"kind": f.kind.value, "action": f.action.value, "detail": f.detail}
                for f in view.flags
            ],
            "lease_owner": view.lease_owner if lease_live else None,
            "lease_until": _when(lease_until, locale) if lease_live else None,
            "decided_at": _when(decided_at, locale) if decided_at else None,
            "media": [
                {
                    "index": index,
                    "kind": ref.kind.value,
                    "mime": ref.mime,
                    "platform": platform,
                    "size": format_count(ref.size, locale) if ref.size else None,
                    "local": ref.ref.startswith("local:"),
                    "choice": _wall_choice(shown, index, ref.ref),
                }
                for index, (platform, ref) in enumerate(view.media)
            ],
            "not_received": not_received_line(view, locale),
            "wall_title": shown.title,
            "timeline": [_timeline_row(event, reasons, locale) for event in events],
            "forms": _forms(view, moderator, lease_live),
            "reasons": [(code.value, label) for code, label in reasons.items()],
        }

    async def media(self, request: Request) -> Response:
        """A file the storyteller sent (any platform: kept cleaned), for moderators only."""
        who = await self._signed_in(request)
        if who is None:
            return Response(status_code=404)
        item_id, index = path_id(request, "item_id"), path_id(request, "index")
        if item_id is None or index is None:
            return Response(status_code=404)
        async with self.deps.db.transaction() as session:
            view = await load_card(session, item_id)
        if view is None or not 0 <= index < len(view.media):
            return Response(status_code=404)
        if not may_read(who.moderator.role, view.state, view.priority):
            return Response(status_code=404)
        ref = view.media[index][1]
        # Only files of the media store (cleaned on arrival), by a name it made.
        name = local_name(ref)
        stored = self.deps.media.describe(name) if name is not None else None
        path = self.deps.media.path(name) if name is not None else None
        if stored is None or path is None:
            return Response(status_code=404)
        return FileResponse(
            path, media_type=stored.mime, headers={"Cache-Control": "private, no-store"}
        )


def _wall_choice(shown: Presentation, index: int, ref: str) -> StoryMedia | None:
    """The row of the card's ``index``-th file (both list a story's files in order)."""
    row = shown.files[index] if index < len(shown.files) else None
    return row if row is not None and row.ref == ref else None


def _file_choice(form: dict[str, str]) -> FileChoice | None:
    """A file form's choice (publish or not, alt text), or None when it names no file."""
    media_id = bounded_int(form.get("media"))
    if not media_id:
        return None
    return FileChoice(media_id, form.get("publish") == "1", form.get("alt_text"))


def _forms(view: CardView, moderator: Moderator, lease_live: bool) -> list[str]:
    """The actions this moderator's role may take on the item in its state."""
    try:
        state = StoryState(view.state)
    except ValueError:
        return []
    allowed = [a for a, action in PERMISSION.items() if may(moderator.role, action, state)]
    mine = lease_live and view.lease_owner == moderator.id
    hidden = {ReviewAction.CLAIM} if mine else {ReviewAction.RELEASE}
    if not lease_live or mine:
        hidden.add(ReviewAction.TAKEOVER)
    return [a.value for a in allowed if a not in hidden]


def _queue_row(entry: QueueEntry, now: datetime, locale: str) -> QueueRow:
    item = entry.item
    lease_until = as_utc(item.lease_expires_at)
    created = as_utc(item.created_at) or now
    return QueueRow(
        item_id=item.id or 0,
        story_id=item.story_id,
        state=_(STATE_LABELS.get(item.state, item.state)),
        high_priority=item.priority > 0,
        language=_language_label(item.locale, locale),
        age=format_ago(created, now, locale),
        claimed_by=item.lease_owner if lease_until is not None and lease_until > now else None,
        excerpt=" ".join(entry.excerpt.split()),
        flags=len(item.flags or []),
    )


def _timeline_row(
    event: ModerationEvent, reasons: dict[ReasonCode, str], locale: str
) -> TimelineRow:
    reason = None
    if event.reason_code:
        reason = (
            reasons[ReasonCode(event.reason_code)]
            if event.reason_code in set(ReasonCode)
            else event.reason_code
        )
    return TimelineRow(
        when=_when(as_utc(event.created_at), locale) or "",
        actor=event.actor,
        role=_(ROLE_LABELS[event.role]) if event.role in ROLE_LABELS else event.role,
        action=event.action or "",
        from_state=_(STATE_LABELS[event.from_state])
        if event.from_state in STATE_LABELS
        else event.from_state,
        to_state=_(STATE_LABELS.get(event.to_state, event.to_state)),
        reason=reason,
        note=event.note,
    )


def _when(moment: datetime | None, locale: str) -> str | None:
    if moment is None:
        return None
    aware = as_utc(moment) or moment
    return f"{format_datetime(aware, 'medium', tzinfo=UTC, locale=locale)} UTC"


def _language_label(code: str, locale: str) -> str:
    try:
        return str(Locale.parse(code).get_display_name(locale) or code)
    except (ValueError, UnknownLocaleError):
        return code


def _chain_text(chain: ChainCheck | None, locale: str) -> str | None:
    if chain is None:
        return None
    if chain.ok:
        return _(UI["chain_ok"]).format(count=format_count(chain.checked, locale))
    return _(UI["chain_broken"]).format(event=chain.first_bad_id)


def _page_link(base: dict[str, str], page: int) -> str:
    return "?" + urlencode({**{k: v for k, v in base.items() if v}, "page": str(page)})
