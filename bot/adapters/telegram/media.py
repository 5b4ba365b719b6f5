"""Downloading what a person sent on Telegram, so the media store can clean and keep it.

``getFile`` then the file itself. The Bot API hands over files of at most 20 MB
(a local ``telegram-bot-api`` server has no such limit).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from telegram import Bot
from telegram import error as tg

from bot.core.events import MediaRef
from bot.core.media import FetchFailed
from storage.media import MediaRefused, Refusal

BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024
OFFICIAL_HOST = "api.telegram.org"


def download_limit(api_base_url: str) -> int | None:
    """The largest file the Bot API at ``api_base_url`` hands over (None: no limit)."""
    return BOT_API_DOWNLOAD_LIMIT if urlsplit(api_base_url).hostname == OFFICIAL_HOST else None


class TelegramFetcher:
    """A :data:`~bot.core.media.Fetcher` for Telegram file ids.

    Args:
        bot: the adapter's initialised ``telegram.Bot``.
        limit: the Bot API's download limit (see :func:`download_limit`).
    """

    def __init__(self, bot: Bot, *, limit: int | None = BOT_API_DOWNLOAD_LIMIT) -> None:
        self.bot = bot
        self.limit = limit

    async def __call__(self, ref: MediaRef, max_bytes: int) -> bytes:
        """The content of one file.

        Raises:
            MediaRefused: larger than ``max_bytes`` or than the Bot API hands over.
            FetchFailed: Telegram did not give the file (``transient`` unless it
                refused the request itself).
        """
        cap = min(max_bytes, self.limit) if self.limit is not None else max_bytes
        if ref.size is not None and ref.size > cap:
            raise MediaRefused(Refusal.TOO_LARGE)
        try:
            file = await self.bot.get_file(ref.ref)
            if file.file_size is not None and file.file_size > cap:
                raise MediaRefused(Refusal.TOO_LARGE)
            data = bytes(await file.download_as_bytearray())
        except tg.BadRequest as exc:  # before NetworkError: BadRequest subclasses it
            if "too big" in exc.message.lower():
                raise MediaRefused(Refusal.TOO_LARGE) from None
            raise FetchFailed(type(exc).__name__, transient=False) from None
        except (tg.Forbidden, tg.InvalidToken) as exc:
            raise FetchFailed(type(exc).__name__, transient=False) from None
        except tg.TelegramError as exc:  # TimedOut, NetworkError (5xx), RetryAfter
            raise FetchFailed(type(exc).__name__) from None
        if len(data) > cap:
            raise MediaRefused(Refusal.TOO_LARGE)
        return data
