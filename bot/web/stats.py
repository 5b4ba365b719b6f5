"""The dashboard's Stats page, ``/moderation/stats``: the campaign's numbers as charts.

Pledges over time by campaign, the story funnel with its drop-off, stories by language
and by country, and the moderation time to decision (:mod:`storage.stats`): each a
server-rendered SVG chart (:mod:`bot.web.charts`) with a table of the same numbers
beside it, in ``MODERATION_LOCALE`` and its digits. A GET form picks the campaign and
the period. Counts only: nothing on the page is about one person.

Who sees what:

- moderators of every role: every campaign; leads may also download a campaign's
  pledges as CSV (the same rows as ``together-bot export pledges``: never who pledged);
- a partner lead (role ``partner``): their own campaign's pledges and its CSV, nothing
  else: the stories' numbers belong to no campaign, another campaign is refused, and
  every other dashboard page sends them here (:meth:`Dashboard._to_sign_in`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_skeleton, format_timedelta
from babel.numbers import format_percent
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from bot.i18n import N_, _, ngettext, pgettext
from bot.i18n.formatting import (
    babel_locale,
    country_name,
    format_count,
    format_duration,
    native_digits,
    numbering_system,
)
from bot.i18n.translator import is_rtl
from bot.web.charts import Series, bar_chart, line_chart
from bot.web.dashboard import (
    ROLE_LABELS,
    STATS_PATH,
    Dashboard,
    SignedIn,
    SignedInPartner,
    _language_label,
)
from moderation.states import Role
from storage.bulk_export import COLUMNS, ExportFilter, ExportKind, csv_cell, export_rows
from storage.models import utcnow
from storage.stats import BUCKETS, DEFAULT_DAYS, PERIODS, Period, Stats, read_stats

PATH = STATS_PATH
EXPORT_PATH = f"{PATH}/pledges.csv"
LINES_MAX = 5  # campaigns drawn one by one; the others are summed in one line
BARS_MAX = 12  # languages or countries drawn one by one; the others in one bar
# What a campaign id may look like (storage.campaigns.check_id is stricter): anything else
# asked for is no campaign, and never reaches a header.
CAMPAIGN_ID = re.compile(r"[A-Za-z0-9_-]{1,48}")

UI: dict[str, str] = {
    "heading": N_("Stats"),
    "intro": N_("Counts only: nothing here is about one person."),
    "partner_intro": N_("The numbers of your campaign, {campaign}."),
    "campaign": N_("Campaign"),
    "all_campaigns": N_("All campaigns"),
    "period": N_("Period"),
    "show": N_("Show"),
    "pledges": N_("Pledges per day"),
    "pledges_note": N_(
        "Confirmed pledges by the day (UTC) they were made; withdrawn pledges are not counted."
    ),
    "other_campaigns": N_("Other campaigns"),
    "day": N_("Day"),
    "total": N_("Total"),
    "export": N_("Download this campaign's pledges in this period (CSV)"),
    "export_note": N_(
        "One row per pledge: its state, the name the supporter chose to show while the "
        "pledge stands, country, link and times. Never who pledged."
    ),
    "stories_everyone": N_("Stories belong to no campaign: the figures below count every story."),
    "funnel": N_("Story funnel"),
    "funnel_note": N_(
        "Started and Consented count people whose latest start of a story, and latest "
        "consent to the story terms, fall in the period; the later steps count the "
        "stories submitted in the period, and of them those approved or published at "
        "least once."
    ),
    "step": N_("Step"),
    "count": N_("Count"),
    "drop_off": N_("Drop-off from the step before"),
    "by_language": N_("Stories by language"),
    "by_origin": N_("Stories by country of origin"),
    "by_residence": N_("Stories by country of residence"),
    "language": N_("Language"),
    "country": N_("Country"),
    "stories": N_("Stories"),
    "not_given": N_("Not given"),
    "others": N_("Others"),
    "decisions": N_("Moderation time to decision"),
    "decisions_note": N_(
        "From a story's first submission to its first approval or rejection, for the "
        "stories first decided in the period."
    ),
    "decided": N_("Stories decided"),
    "median": N_("Median"),
    "p90": N_("90th percentile"),
    "time_to_decision": N_("Time to decision"),
    "under": N_("under {time}"),
    "between": N_("{low} to {high}"),
    "over": N_("{time} or more"),
    "nothing": N_("None in this period."),
}


def page_strings() -> dict[str, str]:
    return {key: _(text) for key, text in UI.items()}


def period_label(days: int, locale: str) -> str:
    return ngettext("Last {count} day", "Last {count} days", days).format(
        count=format_count(days, locale)
    )


def short_day(day: date, locale: str) -> str:
    """``Dec 6``, ``٦ ديسمبر``: a day in the locale's words and digits."""
    text = format_skeleton("MMMd", day, locale=babel_locale(locale))
    return native_digits(text, numbering_system(locale))


def percent(share: float, locale: str) -> str:
    system = numbering_system(locale)
    text = format_percent(share, locale=babel_locale(locale), numbering_system=system)
    return native_digits(text, system)


class StatsPage:
    """The Stats page's routes, inside the dashboard (same cookie path and sign-in)."""

    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PATH, self.page, methods=["GET"]),
            Route(EXPORT_PATH, self.export, methods=["GET"]),
        ]

    async def _viewer(
        self, request: Request
    ) -> tuple[SignedIn | SignedInPartner, str | None, int] | Response:
        """Who asks, the campaign shown (None: all) and the period's days; or the answer
        refusing them (not signed in; a partner lead asking for another campaign)."""
        board = self.dashboard
        who = await board.member(request)
        if who is None:
            return board._to_sign_in(request)
        params = request.query_params
        days = next((d for d in PERIODS if params.get("days") == str(d)), DEFAULT_DAYS)
        asked = params.get("campaign") or None
        if isinstance(who, SignedInPartner):
            if asked is not None and asked != who.partner.campaign_id:
                return board._message_page(request, "refused", 403)
            return who, who.partner.campaign_id, days
        if asked is not None and not CAMPAIGN_ID.fullmatch(asked):
            return RedirectResponse(f"{PATH}?days={days}", status_code=303)
        return who, asked, days

    async def page(self, request: Request) -> Response:
        viewer = await self._viewer(request)
        if isinstance(viewer, Response):
            return viewer
        who, campaign, days = viewer
        partner = isinstance(who, SignedInPartner)
        period = Period.last_days(days, utcnow())
        stats = await read_stats(
            self.dashboard.deps.db, period, campaign=campaign, stories=not partner
        )
        if campaign is not None and campaign not in stats.campaigns:
            if partner:  # their campaign is gone: nothing to show
                return self.dashboard._message_page(request, "not_found", 404)
            return RedirectResponse(f"{PATH}?days={days}", status_code=303)
        board = self.dashboard
        with board.deps.translator.use(board.locale) as locale:
            context = _context(stats, campaign, days, locale, partner=partner)
            context["export"] = (
                f"{EXPORT_PATH}?{urlencode({'campaign': campaign, 'days': days})}"
                if campaign is not None
                and (partner or (isinstance(who, SignedIn) and who.moderator.role is Role.LEAD))
                else None
            )
            if isinstance(who, SignedInPartner):
                context["partner"] = who.partner
                context["partner_role"] = _(ROLE_LABELS[Role.PARTNER])
                context["csrf"] = board.csrf_token(who.token)
        return board._render(
            request, "dashboard_stats.html", context, who=who if isinstance(who, SignedIn) else None
        )

    async def export(self, request: Request) -> Response:
        """The campaign's pledges made in the period, as CSV: leads and its partner lead."""
        viewer = await self._viewer(request)
        if isinstance(viewer, Response):
            return viewer
        who, campaign, days = viewer
        if campaign is None or (isinstance(who, SignedIn) and who.moderator.role is not Role.LEAD):
            return self.dashboard._message_page(request, "refused", 403)
        period = Period.last_days(days, utcnow())
        filters = ExportFilter(since=period.since, until=period.until, campaigns=(campaign,))
        columns = COLUMNS[ExportKind.PLEDGES]
        if isinstance(who, SignedInPartner):
            # A first name was given to be shown among the supporters, not handed to
            # an organisation: the partner's copy has counts and places, no names.
            columns = tuple(name for name in columns if name != "name")
        rows = _csv(export_rows(self.dashboard.deps.db, ExportKind.PLEDGES, filters), columns)
        name = f"pledges-{campaign}-{period.since.date().isoformat()}.csv"
        headers = {
            "Cache-Control": "no-store",
            # A campaign id is letters, digits, '-' and '_' (storage.campaigns.check_id).
            "Content-Disposition": f'attachment; filename="{name}"',
        }
        return StreamingResponse(rows, media_type="text/csv; charset=utf-8", headers=headers)


async def _csv(rows: AsyncIterator[dict[str, Any]], columns: tuple[str, ...]) -> AsyncIterator[str]:
    """CSV lines as ``together-bot export`` writes them (a formula made plain text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    async for row in rows:
        writer.writerow([csv_cell(row[name]) for name in columns])
        if buffer.tell() > 32 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# -- what the template shows --------------------------------------------------------------
def _campaign_name(titles: dict[str, str], campaign_id: str, locale: str) -> str:
    language = locale.split("_")[0]
    return titles.get(locale) or titles.get(language) or titles.get("en") or campaign_id


def _context(
    stats: Stats, campaign: str | None, days: int, locale: str, *, partner: bool
) -> dict[str, Any]:
    rtl = is_rtl(locale)
    names = {cid: _campaign_name(title, cid, locale) for cid, title in stats.campaigns.items()}
    context: dict[str, Any] = {
        "st": page_strings(),
        "stats_path": PATH,
        "campaign": campaign,
        "campaign_name": names.get(campaign, campaign) if campaign else None,
        "campaigns": [] if partner else list(names.items()),  # theirs only, for a partner
        "days": days,
        "periods": [(d, period_label(d, locale)) for d in PERIODS],
        "pledges": _pledges(stats, campaign, names, locale, rtl),
    }
    if partner:
        return context
    assert stats.funnel is not None and stats.decisions is not None
    context["funnel"] = _funnel(stats, locale, rtl)
    assert stats.by_language is not None
    context["languages"] = _bars(
        "chart-languages",
        _(UI["by_language"]),
        _(UI["language"]),
        {_language_label(code, locale): n for code, n in stats.by_language.items()},
        locale,
        rtl,
    )
    for key, counts in (("by_origin", stats.by_origin), ("by_residence", stats.by_residence)):
        assert counts is not None
        labelled: dict[str, int] = {}
        for code, n in counts.items():
            label = country_name(code, locale) if code else _(UI["not_given"])
            labelled[label] = labelled.get(label, 0) + n
        context[key] = _bars(
            f"chart-{key.replace('_', '-')}", _(UI[key]), _(UI["country"]), labelled, locale, rtl
        )
    context["decisions"] = _decisions(stats, locale, rtl)
    return context


def _pledges(
    stats: Stats, campaign: str | None, names: dict[str, str], locale: str, rtl: bool
) -> dict[str, Any]:
    days = stats.period.days()
    totals = {cid: sum(per_day.values()) for cid, per_day in stats.pledges.items() if per_day}
    ranked = sorted(totals, key=lambda cid: (-totals[cid], cid))
    series: list[Series] = [
        Series(names.get(cid, cid), tuple(float(stats.pledges[cid].get(d, 0)) for d in days))
        for cid in ranked[:LINES_MAX]
    ]
    rest = ranked[LINES_MAX:]
    if rest:
        series.append(
            Series(
                _(UI["other_campaigns"]),
                tuple(float(sum(stats.pledges[c].get(d, 0) for c in rest)) for d in days),
            )
        )
    if not series:  # nothing pledged: a flat line of the campaign (or of all)
        name = names.get(campaign, campaign) if campaign else _(UI["all_campaigns"])
        series = [Series(name, tuple(0.0 for _day in days))]
    labels = [short_day(d, locale) for d in days]
    title = _(UI["pledges"])
    return {
        "title": title,
        "chart": line_chart(
            chart_id="chart-pledges",
            title=title,
            labels=labels,
            series=series,
            tick=lambda v: format_count(int(v), locale),
            rtl=rtl,
        ),
        "columns": [s.name for s in series],
        "rows": [
            (label, [format_count(int(s.values[i]), locale) for s in series])
            for i, label in enumerate(labels)
        ],
        "totals": [format_count(int(sum(s.values)), locale) for s in series],
    }


def _funnel(stats: Stats, locale: str, rtl: bool) -> dict[str, Any]:
    funnel = stats.funnel
    assert funnel is not None
    # A step of the funnel: "Submitted" elsewhere is a date's label.
    steps = [
        (pgettext("story funnel", "Started"), funnel.started),
        (pgettext("story funnel", "Consented"), funnel.consented),
        (pgettext("story funnel", "Submitted"), funnel.submitted),
        (pgettext("story funnel", "Approved"), funnel.approved),
        (pgettext("story funnel", "Published"), funnel.published),
    ]
    rows: list[tuple[str, str, str]] = []
    previous: int | None = None
    for label, count in steps:
        if previous is None:
            drop = ""
        else:
            lost = previous - count
            share = f" ({percent(lost / previous, locale)})" if previous else ""
            drop = f"{format_count(lost, locale)}{share}"
        rows.append((label, format_count(count, locale), drop))
        previous = count
    title = _(UI["funnel"])
    return {
        "title": title,
        "chart": bar_chart(
            chart_id="chart-funnel",
            title=title,
            labels=[label for label, _count in steps],
            values=[count for _label, count in steps],
            value_labels=[format_count(count, locale) for _label, count in steps],
            rtl=rtl,
        ),
        "rows": rows,
    }


def _bars(
    chart_id: str, title: str, heading: str, counts: dict[str, int], locale: str, rtl: bool
) -> dict[str, Any]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = ranked[:BARS_MAX]
    rest = sum(n for _label, n in ranked[BARS_MAX:])
    if rest:
        shown.append((_(UI["others"]), rest))
    return {
        "id": chart_id,
        "title": title,
        "heading": heading,
        "chart": bar_chart(
            chart_id=chart_id,
            title=title,
            labels=[label for label, _n in shown],
            values=[n for _label, n in shown],
            value_labels=[format_count(n, locale) for _label, n in shown],
            rtl=rtl,
        )
        if shown
        else None,
        "rows": [(label, format_count(n, locale)) for label, n in shown],
    }


def _bucket_labels(locale: str) -> list[str]:
    def span(seconds: float) -> str:  # a bound exactly: "1 hour", "1 day", "1 week"
        text = format_timedelta(
            timedelta(seconds=seconds), threshold=1, format="long", locale=babel_locale(locale)
        )
        return native_digits(text, numbering_system(locale))

    labels: list[str] = []
    low: float | None = None
    for bound in BUCKETS:
        if low is None and bound is not None:
            labels.append(_(UI["under"]).format(time=span(bound)))
        elif bound is None:
            labels.append(_(UI["over"]).format(time=span(low or 0)))
        else:
            labels.append(_(UI["between"]).format(low=span(low or 0), high=span(bound)))
        low = bound
    return labels


def _decisions(stats: Stats, locale: str, rtl: bool) -> dict[str, Any]:
    decisions = stats.decisions
    assert decisions is not None
    labels = _bucket_labels(locale)
    title = _(UI["decisions"])

    def took(seconds: float | None) -> str:
        return format_duration(timedelta(seconds=seconds), locale) if seconds is not None else "—"

    return {
        "title": title,
        "chart": bar_chart(
            chart_id="chart-decisions",
            title=title,
            labels=labels,
            values=list(decisions.buckets),
            value_labels=[format_count(n, locale) for n in decisions.buckets],
            rtl=rtl,
        ),
        "rows": [
            (label, format_count(n, locale))
            for label, n in zip(labels, decisions.buckets, strict=True)
        ],
        "decided": format_count(decisions.decided, locale),
        "median": took(decisions.median),
        "p90": took(decisions.p90),
    }
