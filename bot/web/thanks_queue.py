"""The dashboard's thanks page at ``/moderation/thanks``: readers' messages, one click each.

Each thank-you waiting for a moderator is listed with its text and the name it is signed
with, flagged spans marked as on the story pages, its story's number, and Pass / Reject
buttons. Nothing about the reader is shown. It shares the dashboard's sign-in, CSRF
check and page frame; every decision goes through :class:`~bot.review.thanks.ThanksDesk`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.i18n import N_, _
from bot.i18n.formatting import format_ago, format_count
from bot.i18n.translator import is_rtl
from bot.review.thanks import PendingThanks, ThanksDesk, ThanksOutcome, Verdict
from bot.web.dashboard import PREFIX, Dashboard, SignedIn, _language_label, flagged_pieces
from storage.models import utcnow
from storage.times import as_utc

PATH = f"{PREFIX}/thanks"

UI: dict[str, str] = {
    "heading": N_("Thanks from readers"),
    "intro": N_(
        "Readers' messages to storytellers. Each reaches the storyteller only once a "
        "moderator passes it; nothing about the reader is shown here or to them."
    ),
    "waiting": N_("Waiting: {count}"),
    "number": N_("Thank-you #{number}"),
    "for_story": N_("for story #{number}"),
    "signed": N_("Signed"),
    "anonymous": N_("Anonymous"),
    "pass": N_("Pass"),
    "reject": N_("Reject"),
}


def page_strings() -> dict[str, str]:
    return {key: _(text) for key, text in UI.items()}


class ThanksQueue:
    """The thanks page's routes, inside the dashboard (same cookie path and sign-in)."""

    def __init__(self, dashboard: Dashboard, desk: ThanksDesk) -> None:
        self.dashboard = dashboard
        self.desk = desk

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PATH, self.queue, methods=["GET"]),
            Route(f"{PATH}/{{thanks_id:str}}", self.decide, methods=["POST"]),
        ]

    async def queue(self, request: Request) -> Response:
        board = self.dashboard
        who = await board._signed_in(request)
        if who is None:
            return board._to_sign_in(request)
        return await self._page(request, who)

    async def decide(self, request: Request) -> Response:
        """One Pass or Reject; answers with the queue as it is now and what happened."""
        posted = await self.dashboard.posted_form(request, "thanks_id")
        if isinstance(posted, Response):
            return posted
        who, form, thanks_id = posted
        try:
            verdict = Verdict(form.get("action", ""))
        except ValueError:
            return self.dashboard._message_page(request, "bad_request", 400)
        outcome = await self.desk.decide(who.moderator, thanks_id, verdict)
        return await self._page(request, who, outcome=outcome, status=200 if outcome.ok else 409)

    async def _page(
        self,
        request: Request,
        who: SignedIn,
        *,
        outcome: ThanksOutcome | None = None,
        status: int = 200,
    ) -> Response:
        pending = await self.desk.pending()
        with self.dashboard.deps.translator.use(self.dashboard.locale) as locale:
            now = utcnow()
            context = {
                "tt": page_strings(),
                "waiting": _(UI["waiting"]).format(count=format_count(len(pending), locale)),
                "entries": [_entry(p, now, locale) for p in pending],
                "outcome": outcome,
                "thanks_path": PATH,
            }
        return self.dashboard._render(
            request, "dashboard_thanks.html", context, who=who, status=status
        )


def _entry(pending: PendingThanks, now: datetime, locale: str) -> dict[str, Any]:
    # The flags' offsets index the screened text: the message, "\n", then the name.
    name_offset = len(pending.text) + 1
    return {
        "id": pending.thanks_id,
        "story_id": pending.story_id,
        "language": _language_label(pending.locale, locale),
        "lang": pending.locale.replace("_", "-"),
        "dir": "rtl" if is_rtl(pending.locale) else "ltr",
        "age": format_ago(as_utc(pending.created_at) or now, now, locale),
        "text": flagged_pieces(pending.text, pending.flags),
        "signed": flagged_pieces(pending.signed, pending.flags, name_offset)
        if pending.signed
        else None,
        "flags": sorted({f.kind.value for f in pending.flags}),
    }
