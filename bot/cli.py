"""The ``together-bot`` command: run the bot, manage the database and the moderators,
export the data and print the headline numbers."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from bot import campaigns
from bot.config import Settings
from bot.logs import configure_logging

PRIVATE_UMASK = 0o077

if TYPE_CHECKING:
    from storage.bulk_export import ExportFilter, ExportKind, Headline
    from storage.db import Database


def run(settings: Settings) -> None:
    import uvicorn

    from bot.app import build_bot, create_app

    app = create_app(build_bot(settings))
    print(f"Together Bot: web chat on http://{settings.host}:{settings.port}/", flush=True)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


def db_upgrade(settings: Settings) -> None:
    from storage.db import Database
    from storage.migrate import current, upgrade

    async def go() -> str | None:
        db = Database(settings.resolved_database_url)
        try:
            await upgrade(db)
            return await current(db)
        finally:
            await db.dispose()

    print(f"database at revision {asyncio.run(go())}")


# -- moderators -------------------------------------------------------------------
async def add_moderator(
    db: Database,
    moderator_id: str,
    role: str,
    accounts: list[str],
    campaign: str | None = None,
) -> None:
    """Add a moderator to the ``moderator`` table, or change their role and accounts.

    A partner lead (role ``partner``) is added the same way with their ``campaign``
    (which must exist): they see its numbers on the dashboard and nothing else; their
    accounts act as no moderator anywhere. Every other role takes no campaign.
    """
    from moderation.actors import Moderator
    from moderation.states import Role
    from storage.models import Campaign, ModeratorRecord

    partner = Role(role) is Role.PARTNER
    # Refuses a bad id or a role that is neither a moderator's nor a partner lead's.
    Moderator(id=moderator_id, role=Role.LEAD if partner else Role(role))
    if partner and not campaign:
        raise ValueError("a partner lead needs --campaign <campaign id>")
    if not partner and campaign:
        raise ValueError("only a partner lead (--role partner) has a campaign")
    for account in accounts:
        platform, _sep, external_id = account.partition(":")
        if not platform or not external_id:
            raise ValueError(f"an account is <platform>:<user id>, not {account!r}")
    async with db.transaction() as session:
        if campaign and await session.get(Campaign, campaign) is None:
            raise ValueError(f"there is no campaign {campaign!r} (together-bot campaigns list)")
        record = await session.get(ModeratorRecord, moderator_id)
        if record is None:
            session.add(
                ModeratorRecord(
                    id=moderator_id, role=role, accounts=accounts, campaign_id=campaign or None
                )
            )
        else:
            record.role = role
            record.accounts = accounts
            record.campaign_id = campaign or None


async def remove_moderator(db: Database, moderator_id: str) -> bool:
    """Remove a moderator from the table (their dashboard sessions end with them)."""
    from storage.models import ModeratorRecord

    async with db.transaction() as session:
        record = await session.get(ModeratorRecord, moderator_id)
        if record is None:
            return False
        await session.delete(record)
    return True


async def list_moderators(
    db: Database, settings: Settings
) -> list[tuple[str, str, list[str], str]]:
    """Every moderator as (id, role, accounts, where it is defined); the table wins."""
    from sqlalchemy import select

    from storage.models import ModeratorRecord

    members = {
        mod_id: (str(spec.get("role", "moderator")), [str(a) for a in spec.get("accounts", [])])
        for mod_id, spec in settings.moderators.items()
    }
    source = dict.fromkeys(members, "MODERATORS")
    async with db.transaction() as session:
        for record in (await session.execute(select(ModeratorRecord))).scalars():
            role = f"partner:{record.campaign_id}" if record.campaign_id else record.role
            members[record.id] = (role, list(record.accounts))
            source[record.id] = "table"
    return [(mod_id, *members[mod_id], source[mod_id]) for mod_id in sorted(members)]


def moderators(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_bot
    from bot.review.login_links import UnknownModeratorError, create_login_link
    from storage.migrate import upgrade

    async def go() -> int:
        bot = build_bot(settings)
        db = bot.deps.db
        try:
            await upgrade(db)
            if args.action == "add":
                await add_moderator(db, args.id, args.role, list(args.account), args.campaign)
                print(f"moderator {args.id} ({args.role}) saved")
            elif args.action == "remove":
                if not await remove_moderator(db, args.id):
                    where = "MODERATORS" if args.id in settings.moderators else "the table"
                    print(f"no moderator {args.id} in the table (defined in {where}?)")
                    return 1
                print(f"moderator {args.id} removed")
            elif args.action == "list":
                for mod_id, role, accounts, source in await list_moderators(db, settings):
                    print(f"{mod_id}\t{role}\t{','.join(accounts) or '-'}\t({source})")
            elif args.action == "login":
                try:
                    link = await create_login_link(bot.deps, args.id)
                except UnknownModeratorError:
                    print(
                        f"no moderator {args.id} in the table: add them with "
                        "'together-bot moderators add' first",
                        file=sys.stderr,
                    )
                    return 1
                print(f"One-time sign-in link for {args.id} (valid 15 minutes, one use):")
                print(link)
            return 0
        finally:
            await db.dispose()

    try:
        return asyncio.run(go())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


# -- export and stats -------------------------------------------------------------
async def write_export(
    db: Database, kind: ExportKind, filters: ExportFilter, out: TextIO, fmt: str
) -> int:
    """Write the export to ``out`` as its rows are read (CSV with a header line, or JSON
    Lines: one object per line). Returns how many rows were written."""
    from storage.bulk_export import COLUMNS, csv_cell, export_rows

    columns = COLUMNS[kind]
    written = 0
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(columns)
        async for row in export_rows(db, kind, filters):
            writer.writerow([csv_cell(row[name]) for name in columns])
            written += 1
    else:
        async for row in export_rows(db, kind, filters):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            written += 1
    return written


def export(settings: Settings, args: argparse.Namespace) -> int:
    from storage.bulk_export import STATES, ExportFilter, ExportKind
    from storage.db import Database

    kind = ExportKind(args.kind)
    states = tuple(args.state)
    if kind is ExportKind.STORIES and "ERASED" in states:
        print(
            "error: erased stories are never exported ('together-bot stats' counts them)",
            file=sys.stderr,
        )
        return 2
    unknown = [state for state in states if state not in STATES[kind]]
    if unknown:
        print(
            f"error: no {kind} state {unknown[0]!r}; one of {', '.join(STATES[kind])}",
            file=sys.stderr,
        )
        return 2
    if args.campaign and kind is not ExportKind.PLEDGES:
        print("error: --campaign selects pledges only", file=sys.stderr)
        return 2
    filters = ExportFilter(
        since=args.since, until=args.until, states=states, campaigns=tuple(args.campaign)
    )

    async def go(out: TextIO) -> int:
        db = Database(settings.resolved_database_url)
        try:
            return await write_export(db, kind, filters, out, args.format)
        finally:
            await db.dispose()

    if args.output is None:
        try:
            written = asyncio.run(go(sys.stdout))
            sys.stdout.flush()
        except BrokenPipeError:  # `| head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    else:
        # Private like every file this process creates (the umask): it holds stories.
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            written = asyncio.run(go(out))
    print(f"{written} {kind} exported", file=sys.stderr)
    return 0


def moment(text: str) -> datetime:
    """A ``--since``/``--until`` value: an ISO 8601 date or time, UTC unless it says (a
    date alone: the start of that day), as a campaign's ``--starts``."""
    return campaigns.starts(text)


def age(seconds: float) -> str:
    """A waiting time in a few characters: ``45m``, ``3h 05m``, ``2d 04h``."""
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def table(title: str, header: tuple[str, ...], rows: list[tuple[object, ...]]) -> list[str]:
    """A titled plain-text table: the first column left-aligned, the others right."""
    cells = [header, *[tuple(_number(v) for v in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title]
    for row in cells:
        first, *rest = row
        line = first.ljust(widths[0]) + "".join(
            "  " + cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True)
        )
        lines.append("  " + line.rstrip())
    if not rows:
        lines.append("  (none)")
    return lines


def _number(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def headline_text(numbers: Headline, now: datetime) -> str:
    """The headline numbers as small tables."""
    from storage.models import PledgeState

    pledge_states = tuple(s.value for s in PledgeState)
    blocks = [
        table(
            "Pledges by campaign",
            ("campaign", *pledge_states),
            [
                (campaign, *(counts.get(state, 0) for state in pledge_states))
                for campaign, counts in sorted(numbers.pledges.items())
            ],
        ),
        table("Stories by state", ("state", "stories"), list(numbers.stories_by_state.items())),
        table(
            "Stories by language (not erased)",
            ("language", "stories"),
            list(numbers.stories_by_language.items()),
        ),
        table(
            "Moderation queue",
            ("state", "waiting", "oldest"),
            [
                (
                    queue.state,
                    queue.waiting,
                    "-"
                    if queue.oldest_since is None
                    else age(max((now - queue.oldest_since).total_seconds(), 0)),
                )
                for queue in numbers.queue
            ],
        ),
        table(
            "People by platform", ("platform", "people"), list(numbers.people_by_platform.items())
        ),
    ]
    return "\n\n".join("\n".join(block) for block in blocks)


def stats(settings: Settings) -> int:
    from storage.bulk_export import headline
    from storage.db import Database

    async def go() -> Headline:
        db = Database(settings.resolved_database_url)
        try:
            return await headline(db)
        finally:
            await db.dispose()

    print(headline_text(asyncio.run(go()), datetime.now(UTC)))
    return 0


def _export_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = sub.add_parser(
        "export",
        help="export stories, pledges or moderation decisions as CSV or JSON Lines",
        description="Rows are written as they are read. Erased stories are never "
        "exported, pledges never say who pledged.",
    )
    # storage.bulk_export.ExportKind's values (not imported: every command parses this).
    command.add_argument("kind", choices=["stories", "pledges", "moderation"])
    command.add_argument("--format", choices=["csv", "json"], default="csv")
    command.add_argument(
        "--since", type=moment, help="from this date or time on (UTC unless it says)"
    )
    command.add_argument("--until", type=moment, help="before this date or time")
    command.add_argument(
        "--state", action="append", default=[], help="only rows in this state (repeatable)"
    )
    command.add_argument(
        "--campaign", action="append", default=[], help="pledges of this campaign (repeatable)"
    )
    command.add_argument("--output", "-o", help="write to this file (0600) instead of stdout")
    sub.add_parser("stats", help="print the headline numbers")


def _moderators_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mods = sub.add_parser("moderators", help="the moderation team and dashboard sign-in links")
    actions = mods.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a moderator, or change their role and accounts")
    add.add_argument("id", help="a short stable id, e.g. 'ana'")
    add.add_argument(
        "--role",
        choices=["moderator", "safety_moderator", "lead", "partner"],
        default="moderator",
        help="partner: a partner lead, who sees only their campaign's numbers",
    )
    add.add_argument("--campaign", help="a partner lead's campaign id (only with --role partner)")
    add.add_argument(
        "--account",
        action="append",
        default=[],
        help="a chat account acting as this moderator, e.g. telegram:12345 (repeatable)",
    )
    actions.add_parser("list", help="list the moderators")
    remove = actions.add_parser("remove", help="remove a moderator from the table")
    remove.add_argument("id")
    login = actions.add_parser("login", help="print a one-time dashboard sign-in link")
    login.add_argument("id")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="together-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="migrate the database and start the bot")
    db = sub.add_parser("db", help="database tasks")
    db.add_argument("action", choices=["upgrade"], help="apply all migrations")
    i18n = sub.add_parser("i18n", help="translation catalogs")
    i18n.add_argument("action", choices=["check"], help="check every catalog is complete")
    facts = sub.add_parser("facts", help="the facts /facts answers with")
    facts.add_argument(
        "action", choices=["check"], help="check the facts file and that every fact is translated"
    )
    _moderators_parser(sub)
    campaigns.add_parser(sub)
    whatsapp = sub.add_parser("whatsapp", help="WhatsApp: the message templates to submit")
    whatsapp.add_argument(
        "action", choices=["templates"], help="print them as the Graph API's JSON, one a line"
    )
    whatsapp.add_argument("--format", choices=["json", "markdown"], default="json")
    _export_parser(sub)
    args = parser.parse_args(argv)
    # Every file this process creates (database, WAL, media, secrets) is its own alone.
    os.umask(PRIVATE_UMASK)
    settings = Settings()
    configure_logging(settings.log_level)
    if args.command == "run":
        from bot.campaigns_file import CampaignsFileError
        from bot.facts import FactsError

        try:
            run(settings)
        except FactsError as exc:  # the file operators edit: say what is wrong, no traceback
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except CampaignsFileError as exc:  # likewise, every problem of the file
            for error in exc.errors:
                print(f"error: {error}", file=sys.stderr)
            print("the bot did not start: correct CAMPAIGNS_FILE", file=sys.stderr)
            return 2
    elif args.command == "db":
        db_upgrade(settings)
    elif args.command == "i18n":
        from bot.i18n.check import main as check_catalogs

        return check_catalogs()
    elif args.command == "facts":
        from bot.facts.check import main as check_facts

        return check_facts(settings.facts_file)
    elif args.command == "moderators":
        return moderators(settings, args)
    elif args.command == "export":
        return export(settings, args)
    elif args.command == "stats":
        return stats(settings)
    elif args.command == "campaigns":
        return campaigns.main(settings, args)
    elif args.command == "whatsapp":
        from bot.adapters.whatsapp.templates import print_templates

        return print_templates(args.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
