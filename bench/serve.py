"""The bot as ``python -m bot.cli run`` serves it, with two knobs only a benchmark needs.

    python -m bench.serve       # settings from the environment, as bot.cli

- ``BENCH_LIMITS_SCALE=K``: Telegram's sending limits, which the adapter keeps to
  (``TelegramLimits``; not a setting), each K times higher, for a fake Bot API that
  enforces the same limits K times higher (B5 runs Telegram's minute in seconds).
- ``BENCH_WALL=built``: the story wall builds every page for every reader (its page cache
  keeps nothing), the other side of B7's kept-vs-built ratio.

Everything else (the app, its routes and middleware, uvicorn, the logs) is the
production path unchanged.
"""

from __future__ import annotations

import dataclasses
import os

import uvicorn

from bot.adapters.telegram.limits import SendLimiter, TelegramLimits
from bot.app import build_bot, create_app
from bot.config import Settings
from bot.logs import configure_logging
from bot.web.page_cache import PageCache
from bot.web.wall import StoryWall


def scaled(limits: TelegramLimits, factor: float) -> TelegramLimits:
    """Every rate ``factor`` times higher; bursts (counts, not rates) as they are."""
    return dataclasses.replace(
        limits,
        overall_per_second=limits.overall_per_second * factor,
        private_per_second=limits.private_per_second * factor,
        group_per_minute=limits.group_per_minute * factor,
    )


def main() -> None:
    os.umask(0o077)
    settings = Settings()
    configure_logging(settings.log_level)
    bot = build_bot(settings)
    scale = float(os.environ.get("BENCH_LIMITS_SCALE") or 1)
    if bot.telegram is not None and scale != 1:
        bot.telegram.sender.limiter = SendLimiter(scaled(TelegramLimits(), scale))
    app = create_app(bot)
    if os.environ.get("BENCH_WALL") == "built":
        # Matched before the wall create_app mounted: the same pages, none kept.
        app.router.routes[0:0] = StoryWall(bot.deps, cache=PageCache(max_entries=0)).routes()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


if __name__ == "__main__":
    main()
