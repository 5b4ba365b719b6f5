"""``together-bot campaigns``: partner campaigns for operators: add, edit, list, show
(the deep links of every platform, the badge and a QR code of each link), disable,
enable, and load a campaigns file (:mod:`bot.campaigns_file`).

The rows are read and written by :mod:`storage.campaigns`; this module parses what the
operator typed, checks the languages against the bot's, and prints.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

from bot.config import Settings

if TYPE_CHECKING:
    from storage.campaigns import CampaignSpec, CampaignSummary
    from storage.db import Database

QR_SCALE = 10  # pixels per module: a phone reads it from a poster or a screen
QR_BORDER = 4  # the quiet zone the QR standard asks for
# A running bot keeps a campaign's row 30 seconds (storage.rarely): when it sees a change.
ON_A_RUNNING_BOT = " (within 30 seconds on a running bot)"


# -- parsing --------------------------------------------------------------------------
def _moment(text: str, *, end: bool) -> datetime:
    """An ISO 8601 date or time, UTC unless it says; a date alone is the start of that
    day, or for an end the end of that day (the campaign runs through it)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(0, 0), tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date or time (2026-12-01, 2026-12-01T08:00+01:00): {text!r}"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def starts(text: str) -> datetime:
    return _moment(text, end=False)


def ends(text: str) -> datetime:
    return _moment(text, end=True)


def milestone(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 0 < int(text) <= 10**12):
        raise argparse.ArgumentTypeError(f"a milestone is a number of pledges: not {text!r}")
    return int(text)


def pledge_texts(values: list[str]) -> dict[str, str]:
    """``LANG=TEXT`` pairs as locale -> text, each language one the bot speaks.

    Raises:
        ValueError: a pair without ``=``, an unknown language, or one given twice.
    """
    texts: dict[str, str] = {}
    for value in values:
        lang, sep, text = value.partition("=")
        if not sep or not lang.strip():
            raise ValueError(f"a pledge text is LANG=TEXT, e.g. en='I stand with…': not {value!r}")
        lang = language(lang)
        if lang in texts:
            raise ValueError(f"two pledge texts in {lang}")
        texts[lang] = text
    return texts


def language(text: str) -> str:
    """``text`` as one of the bot's locales (``zh-Hans`` is ``zh_Hans``), else
    :class:`ValueError`."""
    from bot.i18n.check import SUPPORTED_LOCALES

    lang = text.strip().replace("-", "_")
    if lang not in SUPPORTED_LOCALES:
        raise ValueError(f"no language {lang!r} in the bot; one of {', '.join(SUPPORTED_LOCALES)}")
    return lang


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``campaigns`` command and its actions."""
    command = sub.add_parser(
        "campaigns", help="partner campaigns: their pledge, links and QR codes"
    )
    actions = command.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create a partner campaign")
    add.add_argument("id", help="lowercase letters, digits and dashes, e.g. 'osaka-welcome'")
    add.add_argument("--name", required=True, help="the campaign's name (on its badge)")
    _options(add, editing=False)
    edit = actions.add_parser("edit", help="change a campaign: only the options given")
    edit.add_argument("id")
    edit.add_argument("--name", help="its name in DEFAULT_LOCALE (other languages stay)")
    _options(edit, editing=True)
    edit.add_argument(
        "--drop-milestone",
        action="append",
        type=milestone,
        default=[],
        metavar="N",
        help="remove a milestone not reached yet (repeatable)",
    )
    enable = actions.add_parser("enable", help="open a disabled campaign's pledge again")
    enable.add_argument("id")
    load = actions.add_parser(
        "load", help="create or update the campaigns of a campaigns file (CAMPAIGNS_FILE)"
    )
    load.add_argument("file", type=Path)
    load.add_argument(
        "--check", action="store_true", help="only check the file; the database is not touched"
    )
    actions.add_parser("list", help="list the campaigns with their status and count")
    show = actions.add_parser("show", help="a campaign, its links and badge; QR codes")
    show.add_argument("id")
    show.add_argument("--qr-dir", type=Path, help="write a QR code of each link here (PNG, SVG)")
    disable = actions.add_parser("disable", help="close a campaign's pledge (its count stays)")
    disable.add_argument("id")


def _options(parser: argparse.ArgumentParser, *, editing: bool) -> None:
    """The options ``add`` and ``edit`` share (``edit`` changes only those given)."""
    parser.add_argument(
        "--pledge-text",
        action="append",
        default=[],
        metavar="LANG=TEXT",
        help="the pledge in one language, replacing that language's (repeatable)"
        if editing
        else "the pledge in one language (repeatable); none: the TOGETHER pledge",
    )
    parser.add_argument(
        "--milestone",
        action="append",
        type=milestone,
        default=[],
        metavar="N",
        help="a pledge count to celebrate" + (", added" if editing else "") + " (repeatable)",
    )
    parser.add_argument("--starts", type=starts, help="when the pledge opens (UTC unless it says)")
    parser.add_argument("--ends", type=ends, help="the last day (or the time) it is open")


# -- links and QR codes ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Link:
    platform: str
    url: str | None  # None: no link on this platform (``note`` says why)
    note: str = ""


def campaign_links(settings: Settings, campaign_id: str) -> list[Link]:
    """Where a person opens the campaign's pledge, on every platform."""
    payload = quote(f"pledge-{campaign_id}")
    username = settings.telegram_bot_username.lstrip("@")
    return [
        Link("telegram", f"https://t.me/{username}?start={payload}")
        if username
        else Link("telegram", None, "set TELEGRAM_BOT_USERNAME to get the link"),
        Link("web", f"{settings.resolved_public_url}/?start={payload}")
        if settings.web_chat_enabled
        else Link("web", None, "the web chat is off (WEB_CHAT_ENABLED)"),
        # WhatsApp fills in the word; sent alone it is /start <word> (its adapter's parsing).
        Link("whatsapp", f"https://wa.me/{settings.whatsapp_phone_number}?text={payload}")
        if settings.whatsapp_phone_number
        else Link("whatsapp", None, "set WHATSAPP_PHONE_NUMBER to get the link"),
        Link(
            "slack",
            None,
            "no link: Slack's /pledge command takes no campaign (it opens the default pledge)",
        ),
    ]


def badge_url(settings: Settings, campaign_id: str) -> str:
    return f"{settings.resolved_public_url}/campaigns/{campaign_id}/badge.svg"


def write_qr_codes(link: str, directory: Path, stem: str, title: str) -> list[Path]:
    """A QR code of ``link`` as ``<stem>.png`` and ``<stem>.svg`` in ``directory``."""
    import segno

    directory.mkdir(parents=True, exist_ok=True)
    # Level M: about 15 % of the code may be damaged or covered and it still reads.
    code = segno.make_qr(link, error="m")
    png, svg = directory / f"{stem}.png", directory / f"{stem}.svg"
    code.save(str(png), kind="png", scale=QR_SCALE, border=QR_BORDER)
    code.save(str(svg), kind="svg", scale=QR_SCALE, border=QR_BORDER, title=title)
    return [png, svg]


# -- the command ----------------------------------------------------------------------
def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def describe(campaign: CampaignSummary, settings: Settings, now: datetime) -> list[str]:
    lines = [
        f"{campaign.id}: {campaign.name(settings.default_locale)} ({campaign.status(now)})",
        f"  pledges: {campaign.total:,}",
        f"  open: from {_when(campaign.starts_at)} until {_when(campaign.ends_at)}",
        "  milestones: "
        + (
            ", ".join(
                f"{threshold:,}" + ("" if reached is None else f" (reached {_when(reached)})")
                for threshold, reached in campaign.milestones.items()
            )
            or "-"
        ),
        "  pledge text: "
        + (
            ", ".join(sorted(campaign.pledge_text))
            if campaign.pledge_text
            else "the TOGETHER pledge"
        ),
        "  links:",
    ]
    for link in campaign_links(settings, campaign.id):
        lines.append(f"    {link.platform}: {link.url or link.note}")
    lines.append(f"  badge: {badge_url(settings, campaign.id)}")
    return lines


async def command(db: Database, settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """Run one ``campaigns`` action on ``db``; 0 when done, 1 for an unknown campaign, 2
    for input refused (the reason on stderr)."""
    from storage.campaigns import (
        CampaignError,
        add_campaign,
        apply_campaigns,
        check_id,
        disable_campaign,
        enable_campaign,
        find_campaign,
        list_campaigns,
    )

    now = datetime.now(UTC)
    try:
        if args.action == "add":
            await add_campaign(
                db,
                args.id,
                title={settings.default_locale: args.name},
                pledge_text=pledge_texts(args.pledge_text) or None,
                milestones=tuple(args.milestone),
                starts_at=args.starts,
                ends_at=args.ends,
            )
            print(f"campaign {args.id} added", file=out)
            for line in describe(_added(await find_campaign(db, args.id)), settings, now)[1:]:
                print(line, file=out)
        elif args.action == "edit":
            return await _edit(db, settings, args, out, now)
        elif args.action == "enable":
            if not await enable_campaign(db, check_id(args.id)):
                print(f"no campaign {args.id}", file=sys.stderr)
                return 1
            print(f"campaign {args.id} enabled{ON_A_RUNNING_BOT}", file=out)
        elif args.action == "load":
            specs = _load(settings, args.file)
            if specs is None:
                return 2
            outcome = await apply_campaigns(db, specs)
            for campaign_id, what in outcome.items():
                print(f"campaign {campaign_id} {what}", file=out)
            if any(what != "unchanged" for what in outcome.values()):
                print(f"(seen{ON_A_RUNNING_BOT})", file=out)
        elif args.action == "list":
            for campaign in await list_campaigns(db):
                print(
                    f"{campaign.id}\t{campaign.status(now)}\t{campaign.total}\t"
                    f"{campaign.name(settings.default_locale)}",
                    file=out,
                )
        elif args.action == "show":
            found = await find_campaign(db, check_id(args.id))
            if found is None:
                print(f"no campaign {args.id}", file=sys.stderr)
                return 1
            for line in describe(found, settings, now):
                print(line, file=out)
            if args.qr_dir is not None:
                for link in campaign_links(settings, found.id):
                    if link.url is not None:
                        title = f"{found.name(settings.default_locale)} ({link.platform})"
                        for path in write_qr_codes(
                            link.url, args.qr_dir, f"{found.id}-{link.platform}", title
                        ):
                            print(f"  QR code ({link.platform}): {path}", file=out)
        elif args.action == "disable":
            if args.id == settings.default_campaign:
                raise CampaignError(
                    f"{args.id} is the default campaign (DEFAULT_CAMPAIGN): every other "
                    "link falls back to it"
                )
            if not await disable_campaign(db, check_id(args.id)):
                print(f"no campaign {args.id}", file=sys.stderr)
                return 1
            print(
                f"campaign {args.id} disabled: its links offer the default pledge"
                f"{ON_A_RUNNING_BOT}",
                file=out,
            )
    except ValueError as exc:  # CampaignError included
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _added(found: CampaignSummary | None) -> CampaignSummary:
    assert found is not None  # just added, never deleted
    return found


async def _edit(
    db: Database, settings: Settings, args: argparse.Namespace, out: TextIO, now: datetime
) -> int:
    from storage.campaigns import check_id, edit_campaign, find_campaign

    changes: dict[str, Any] = {}
    if args.name is not None:
        changes["title"] = {settings.default_locale: args.name}
    if args.pledge_text:
        changes["pledge_text"] = pledge_texts(args.pledge_text)
    if args.milestone:
        changes["add_milestones"] = tuple(args.milestone)
    if args.drop_milestone:
        changes["drop_milestones"] = tuple(args.drop_milestone)
    if args.starts is not None:
        changes["starts_at"] = args.starts
    if args.ends is not None:
        changes["ends_at"] = args.ends
    if not changes:
        print(
            "error: nothing to change: give --name, --pledge-text, --milestone, "
            "--drop-milestone, --starts or --ends",
            file=sys.stderr,
        )
        return 2
    if not await edit_campaign(db, check_id(args.id), **changes):
        print(f"no campaign {args.id}", file=sys.stderr)
        return 1
    print(f"campaign {args.id} changed{ON_A_RUNNING_BOT}", file=out)
    for line in describe(_added(await find_campaign(db, args.id)), settings, now)[1:]:
        print(line, file=out)
    return 0


def _load(settings: Settings, path: Path) -> tuple[CampaignSpec, ...] | None:
    """The campaigns of the file at ``path``; None when it is wrong (each problem on
    stderr)."""
    from bot.campaigns_file import CampaignsFileError, load_campaigns

    try:
        return load_campaigns(
            path,
            default_locale=settings.default_locale,
            default_campaign=settings.default_campaign,
        )
    except CampaignsFileError as exc:
        for error in exc.errors:
            print(f"error: {error}", file=sys.stderr)
        print(f"{path}: refused, nothing applied ({len(exc.errors)} problem(s))", file=sys.stderr)
        return None


def main(settings: Settings, args: argparse.Namespace) -> int:
    """``together-bot campaigns ...`` on the configured database (migrated first)."""
    from storage.db import Database
    from storage.migrate import upgrade

    if args.action == "load" and args.check:
        specs = _load(settings, args.file)
        if specs is None:
            return 2
        print(f"{args.file}: {len(specs)} campaign(s), all valid", file=sys.stdout)
        return 0

    async def go() -> int:
        db = Database(settings.resolved_database_url)
        try:
            await upgrade(db)
            return await command(db, settings, args, sys.stdout)
        finally:
            await db.dispose()

    return asyncio.run(go())
