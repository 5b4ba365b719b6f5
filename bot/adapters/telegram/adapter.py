"""Running the Telegram side: long polling or the webhook, one update at a time per chat.

The path of one update here: receive (``getUpdates`` or the webhook) -> the chat's turn
(updates of one chat in arrival order, different chats concurrently) -> parse -> answer
a callback query at once (the spinner stops) -> ``core.accept`` (effect and replies
committed) -> ``core.deliver`` (the replies, through the same rendering and limits as
the outbox) -> only then is the update acknowledged: the polling offset moves past it
(see :mod:`bot.adapters.telegram.polling`) or the webhook answers 200. Blocked/unblocked
changes go to ``core.set_reachable``; the moderators' group goes to the moderation
surface.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from starlette.routing import BaseRoute
from telegram import BotCommand, Update
from telegram import error as tg
from telegram.request import HTTPXRequest

from bot.adapters.telegram.limits import SendLimiter, TelegramLimits
from bot.adapters.telegram.parsing import (
    PLATFORM,
    GroupUpdate,
    Ignored,
    ParseConfig,
    ReachabilityChange,
    parse_update,
)
from bot.adapters.telegram.polling import Poller, RawUpdatesBot
from bot.adapters.telegram.sender import TelegramSender
from bot.adapters.telegram.webhook import WebhookEndpoint, webhook_path, webhook_secret
from bot.config import Settings
from bot.core.delivery import Sender
from bot.core.events import Inbound, Outgoing
from bot.core.service import Core
from bot.i18n.translator import Translator

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")

GroupHandler = Callable[[Update], Awaitable[None]]
CommandMenus = Mapping[str, Sequence[tuple[str, str]]]


async def ignore_group_update(update: Update) -> None:
    """The default moderation surface: none until one is wired in."""
    del update


def command_menus(
    translator: Translator, describe: Callable[[str], list[tuple[str, str]]]
) -> dict[str, list[tuple[str, str]]]:
    """The command menu per Telegram language code ("" is everyone else's).

    Args:
        translator: the compiled catalogs; each locale's menu is built inside its ``use``.
        describe: ``bot.handlers.menu.command_descriptions``.
    """
    menus: dict[str, list[tuple[str, str]]] = {}
    for locale in translator.locales:
        with translator.use(locale):
            commands = describe(locale)
        language = locale.split("_")[0].lower()
        if locale == translator.default:
            menus[""] = commands
        if len(language) == 2:  # Telegram takes ISO 639-1 codes only
            menus.setdefault(language, commands)
    return menus


def file_base_url(base_url: str) -> str:
    """``https://api.telegram.org/bot`` -> ``https://api.telegram.org/file/bot``."""
    root = base_url.rstrip("/").removesuffix("/bot")
    return f"{root}/file/bot"


class TelegramAdapter:
    """The Telegram platform: receives updates, hands them to the core, sends replies.

    Long polling when ``TELEGRAM_WEBHOOK_URL`` is empty (development), otherwise the
    webhook on the app's routes (production, several replicas).

    Args:
        settings: the bot's settings; ``telegram_bot_token`` must be set.
        core: handles inbound events and reachability changes.
        group_handler: receives every update of the moderators' group.
        command_menus: the command menu per language code, set at start.
        limits: sending limits (Telegram's guidance by default).
        request_timeout: seconds to wait for a Bot API answer.
        poll_timeout: the long-poll timeout of ``getUpdates``.
        max_concurrent_updates: updates handled at once (different chats). Above the HTTP
            pool (64) httpcore's pool bookkeeping costs more than concurrency gains.
    """

    def __init__(
        self,
        settings: Settings,
        core: Core,
        *,
        group_handler: GroupHandler = ignore_group_update,
        command_menus: CommandMenus | None = None,
        limits: TelegramLimits | None = None,
        request_timeout: float = 10.0,
        poll_timeout: float = 10.0,
        max_concurrent_updates: int = 32,
    ) -> None:
        if settings.telegram_bot_token is None:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        token = settings.telegram_bot_token.get_secret_value()
        self.settings = settings
        self.core = core
        self.group_handler = group_handler
        self.command_menus = dict(command_menus or {})
        self.mode: Literal["polling", "webhook"] = (
            "webhook" if settings.telegram_webhook_url else "polling"
        )
        self.bot = RawUpdatesBot(
            token,
            base_url=settings.telegram_api_base_url,
            base_file_url=file_base_url(settings.telegram_api_base_url),
            request=HTTPXRequest(
                connection_pool_size=64,
                read_timeout=request_timeout,
                write_timeout=request_timeout,
                connect_timeout=request_timeout,
                pool_timeout=request_timeout,
            ),
            get_updates_request=HTTPXRequest(connection_pool_size=1, read_timeout=request_timeout),
        )
        self.sender = TelegramSender(self.bot, SendLimiter(limits))
        secret_setting = settings.telegram_webhook_secret
        self.webhook_secret = webhook_secret(
            token, secret_setting.get_secret_value() if secret_setting else None
        )
        self.webhook_path = webhook_path(token, self.webhook_secret)
        self._webhook = WebhookEndpoint(self.bot, self.webhook_secret, self._on_webhook)
        self._parse = ParseConfig(
            moderation_chat_id=_chat_id(settings.telegram_moderation_chat_id),
            safety_chat_id=_chat_id(settings.telegram_safety_chat_id),
            bot_username=settings.telegram_bot_username.lower().lstrip("@") or None,
        )
        self._poller = Poller(
            self.bot,
            self._dispatch,
            allowed_updates=ALLOWED_UPDATES,
            timeout=int(poll_timeout),
            read_timeout=request_timeout,
        )
        self._polling = False
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._tasks: set[asyncio.Task[None]] = set()
        self._booting: asyncio.Task[None] | None = None
        self.processed = 0
        # Connected: polling, or the webhook registered (``/readyz``).
        self.booted = False

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def bot_username(self) -> str | None:
        return self._parse.bot_username

    def routes(self) -> list[BaseRoute]:
        """The webhook route (webhook mode only) for the app's one Starlette router."""
        if self.mode != "webhook":
            return []
        return [self._webhook.route(self.webhook_path)]

    async def start(self) -> None:
        """Connect (``getMe``), set the command menus, then poll or register the webhook.

        A network failure does not stop the app: the adapter keeps trying in the
        background. A rejected token or webhook URL raises.
        """
        try:
            await self._boot()
        except tg.InvalidToken:
            # PTB's message quotes the token; it must not reach a log.
            raise tg.InvalidToken("Telegram rejected TELEGRAM_BOT_TOKEN") from None
        except tg.NetworkError as exc:
            if isinstance(exc, tg.BadRequest):
                raise
            log.warning(
                "telegram unreachable at start, retrying", extra={"error": type(exc).__name__}
            )
            self._booting = asyncio.create_task(self._keep_booting(), name="telegram-boot")

    async def _keep_booting(self) -> None:
        delay = 1.0
        while True:
            await asyncio.sleep(delay)
            try:
                await self._boot()
            except tg.TelegramError as exc:
                if not isinstance(exc, tg.NetworkError) or isinstance(exc, tg.BadRequest):
                    log.error("telegram refused the set-up", extra={"error": type(exc).__name__})
                    return
                delay = min(60.0, delay * 2)
            else:
                log.info("telegram connected")
                return

    async def _boot(self) -> None:
        await self.bot.initialize()
        username = self.bot.username
        self._parse = replace(self._parse, bot_username=username.lower() if username else None)
        await self._set_commands()
        if self.mode == "webhook":
            url = self.settings.telegram_webhook_url.rstrip("/") + self.webhook_path
            await self.bot.set_webhook(
                url, secret_token=self.webhook_secret, allowed_updates=list(ALLOWED_UPDATES)
            )
        else:
            await self._poller.start()
            self._polling = True
        self.booted = True

    async def _set_commands(self) -> None:
        for language, commands in self.command_menus.items():
            try:
                await self.bot.set_my_commands(
                    [BotCommand(name, description[:256]) for name, description in commands],
                    language_code=language or None,
                )
            except tg.TelegramError as exc:
                log.warning(
                    "telegram command menu not set",
                    extra={"language": language, "error": type(exc).__name__},
                )

    async def stop(self, *, drain_timeout: float = 10.0) -> None:
        """Stop polling, finish the updates in hand, close the HTTP clients.

        The webhook stays registered: other replicas may still be serving it.
        """
        if self._booting is not None:
            self._booting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._booting
            self._booting = None
        self.booted = False
        if self._polling:
            await self._poller.stop()  # no more fetching; the updates in hand go on
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=drain_timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._polling:
            await self._poller.confirm()  # what was finished is not fetched again
            self._polling = False
        await self.bot.shutdown()

    # -- receiving -------------------------------------------------------------------------
    async def _dispatch(self, update: Update, raw: Mapping[str, Any]) -> asyncio.Task[None]:
        """Starts one task per polled update, in arrival order; waits when too many run."""
        await self._slots.acquire()
        return self._spawn(self._run(update, raw))

    async def _run(self, update: Update, raw: Mapping[str, Any]) -> None:
        try:
            await self.process(update, raw)
        except Exception:
            # The core retried what the database failed; the update is given up (by id)
            # and confirmed, so one broken update never stops the chat behind it.
            log.exception("telegram update failed", extra={"update_id": update.update_id})
        finally:
            self._slots.release()

    async def _on_webhook(self, update: Update, raw: Mapping[str, Any]) -> None:
        await self.process(update, raw)

    async def process(self, update: Update, raw: Mapping[str, Any] | None = None) -> None:
        """Handle one update completely: returns once its replies went out.

        Tasks call this in arrival order and nothing is awaited before the core takes
        the conversation's lock, so one person's updates keep their order.
        """
        parsed = parse_update(update, self._parse, raw)
        query = update.callback_query
        if isinstance(parsed, Inbound):
            sender: Sender = self.sender
            if query is not None:
                # Answered while the turn runs (the spinner stops at once), started
                # without awaiting: the turn still queues in arrival order.
                answering = self._spawn(self._answer_callback(query.id))
                sender = AnswerFirst(self.sender, answering)
            # Long polling pulls its updates: beyond the bound on turns in flight it waits
            # for room. A webhook is refused (503): Telegram delivers the update again.
            handled = await self.core.accept(parsed, sender, patient=self.mode == "polling")
            await handled.delivered()
        elif isinstance(parsed, ReachabilityChange):
            await self.core.set_reachable(PLATFORM, parsed.user_id, parsed.reachable)
        elif isinstance(parsed, GroupUpdate):
            async with self.core.ordered(_group_key(update)):
                await self.group_handler(update)
        elif query is not None:
            await self._answer_callback(query.id)
        elif isinstance(parsed, Ignored):
            log.debug(
                "telegram update ignored",
                extra={"update_id": update.update_id, "reason": parsed.reason},
            )
        self.processed += 1

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _answer_callback(self, query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(query_id)
        except tg.TelegramError as exc:
            # Too old, or answered before (a redelivery): the spinner is gone anyway.
            log.debug("callback not answered", extra={"error": type(exc).__name__})

    # -- files -----------------------------------------------------------------------------
    async def download(self, file_id: str, *, max_bytes: int | None = None) -> bytes:
        """The content of a file a person sent (for moderation and publishing).

        Raises:
            ValueError: the file is larger than ``max_bytes`` (default: the media limit).
        """
        limit = max_bytes if max_bytes is not None else self.settings.media_max_bytes
        file = await self.bot.get_file(file_id)
        if file.file_size is not None and file.file_size > limit:
            raise ValueError("file larger than the media limit")
        return bytes(await file.download_as_bytearray())


class AnswerFirst:
    """A button press's replies go out once the press is answered (the spinner first)."""

    def __init__(self, sender: Sender, answering: asyncio.Task[None]) -> None:
        self.sender = sender
        self.platform = sender.platform
        self._answering = answering

    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        await asyncio.wait({self._answering})
        return await self.sender.send(chat_id, message)


def _group_key(update: Update) -> str:
    chat = update.effective_chat
    return f"{PLATFORM}:group:{chat.id if chat is not None else update.update_id}"


def _chat_id(value: str) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        log.warning("TELEGRAM_MODERATION_CHAT_ID must be a numeric chat id")
        return None
