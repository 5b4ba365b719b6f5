"""The ``together-bot`` command: run the bot, manage the database and the moderators."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.logs import configure_logging

PRIVATE_UMASK = 0o077

if TYPE_CHECKING:
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
async def add_moderator(db: Database, moderator_id: str, role: str, accounts: list[str]) -> None:
    """Add a moderator to the ``moderator`` table, or change their role and accounts."""
    from moderation.actors import Moderator
    from moderation.states import Role
    from storage.models import ModeratorRecord

    Moderator(id=moderator_id, role=Role(role))  # refuses a bad id or a non-moderator role
    for account in accounts:
        platform, _sep, external_id = account.partition(":")
        if not platform or not external_id:
            raise ValueError(f"an account is <platform>:<user id>, not {account!r}")
    async with db.transaction() as session:
        record = await session.get(ModeratorRecord, moderator_id)
        if record is None:
            session.add(ModeratorRecord(id=moderator_id, role=role, accounts=accounts))
        else:
            record.role = role
            record.accounts = accounts


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
            members[record.id] = (record.role, list(record.accounts))
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
                await add_moderator(db, args.id, args.role, list(args.account))
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


def _moderators_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mods = sub.add_parser("moderators", help="the moderation team and dashboard sign-in links")
    actions = mods.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a moderator, or change their role and accounts")
    add.add_argument("id", help="a short stable id, e.g. 'ana'")
    add.add_argument(
        "--role", choices=["moderator", "safety_moderator", "lead"], default="moderator"
    )
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
    args = parser.parse_args(argv)
    # Every file this process creates (database, WAL, media, secrets) is its own alone.
    os.umask(PRIVATE_UMASK)
    settings = Settings()
    configure_logging(settings.log_level)
    if args.command == "run":
        from bot.facts import FactsError

        try:
            run(settings)
        except FactsError as exc:  # the file operators edit: say what is wrong, no traceback
            print(f"error: {exc}", file=sys.stderr)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
