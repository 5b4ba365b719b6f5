"""The ``together-bot`` command: run the bot, manage the database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.config import Settings


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Third-party request logs would print full URLs, which carry bot tokens.
    for noisy in ("httpx", "httpcore", "telegram.ext", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="together-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="migrate the database and start the bot")
    db = sub.add_parser("db", help="database tasks")
    db.add_argument("action", choices=["upgrade"], help="apply all migrations")
    i18n = sub.add_parser("i18n", help="translation catalogs")
    i18n.add_argument("action", choices=["check"], help="check every catalog is complete")
    args = parser.parse_args(argv)
    settings = Settings()
    _configure_logging(settings.log_level)
    if args.command == "run":
        run(settings)
    elif args.command == "db":
        db_upgrade(settings)
    elif args.command == "i18n":
        from bot.i18n.check import main as check_catalogs

        return check_catalogs()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
