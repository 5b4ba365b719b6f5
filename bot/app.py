"""The composition root: builds everything from settings and passes dependencies in.

``build_bot`` makes the core (database, translator, screening, router, outbox);
``create_app`` puts every HTTP surface on one Starlette app and runs the background
work (outbox dispatcher, scheduler, Telegram) for the app's lifetime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.adapters.slack import SlackAdapter, build_slack
from bot.adapters.slack.media import SlackFetcher
from bot.adapters.slack.parsing import PLATFORM as SLACK
from bot.adapters.telegram import TelegramAdapter
from bot.adapters.telegram.media import TelegramFetcher, download_limit
from bot.adapters.telegram.moderation import TelegramModerationGroup
from bot.adapters.telegram.parsing import PLATFORM as TELEGRAM
from bot.adapters.telegram.wiring import build_telegram
from bot.adapters.webchat import WebChat
from bot.adapters.whatsapp import WhatsAppAdapter, build_whatsapp
from bot.announce import MilestoneBroadcast
from bot.campaigns_file import load_campaigns
from bot.config import Settings
from bot.core.admission import BUSY_TEXT, Busy
from bot.core.deps import Deps
from bot.core.media import MediaIntake
from bot.core.outbox import AfterSend, OutboxDispatcher
from bot.core.service import BotCore
from bot.data_dir import prepare_data_dir
from bot.facts import load_facts
from bot.handlers.pledge import DEFAULT_MILESTONES
from bot.handlers.routes import build_router
from bot.i18n import _
from bot.i18n.translator import Translator
from bot.review.delivery import FeedPublisher, ReviewDelivery
from bot.review.service import ReviewService
from bot.review.thanks import ThanksDesk
from bot.scheduler import Scheduler
from bot.secrets_store import load_secrets
from bot.web.badges import CampaignBadges
from bot.web.dashboard import Dashboard
from bot.web.export import ExportPages
from bot.web.ops import OpsPages
from bot.web.thanks_queue import ThanksQueue
from bot.web.wall import StoryWall
from moderation.screening import Screener
from storage import outbox
from storage.campaigns import CampaignSpec, apply_campaigns
from storage.db import Database
from storage.identity import IdentityHasher
from storage.migrate import upgrade
from storage.pledges import ensure_campaign

log = logging.getLogger(__name__)
# Seconds the background work may take to finish what it has in hand at shutdown.
STOP_TIMEOUT = 10.0
STATIC = Path(__file__).resolve().parent / "web" / "static"

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
        "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@dataclass(eq=False)
class Bot:
    """Everything one running bot is made of."""

    settings: Settings
    deps: Deps
    core: BotCore
    dispatcher: OutboxDispatcher
    webchat: WebChat
    scheduler: Scheduler
    review: ReviewService
    thanks: ThanksDesk
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    telegram: TelegramAdapter | None = None  # telegram: None without a token
    slack: SlackAdapter | None = None  # slack: None without a token
    whatsapp: WhatsAppAdapter | None = None  # whatsapp: None unless enabled
    dashboard: Dashboard | None = None
    campaigns: tuple[CampaignSpec, ...] = ()  # CAMPAIGNS_FILE's, applied at start

    async def start(self, *, migrate: bool = True) -> None:
        if migrate:
            await upgrade(self.deps.db)
        await ensure_campaign(
            self.deps.db, self.settings.default_campaign, milestones=DEFAULT_MILESTONES
        )
        if self.campaigns:
            await apply_campaigns_file(self.deps.db, self.campaigns)
        if self.deps.db.is_sqlite:
            # One process owns a SQLite file: what a crashed run had leased is due now.
            recovered = await outbox.recover_leases(self.deps.db)
            if recovered:
                log.info("outbox rows recovered after a restart", extra={"count": recovered})
        self.tasks.append(asyncio.create_task(self.dispatcher.run_forever(), name="outbox"))
        self.scheduler.start()
        if self.settings.web_chat_enabled:
            await self.webchat.start()  # on PostgreSQL: hears other replicas' replies
        # -- platform adapters started here (Telegram, Slack) --
        if self.telegram is not None:
            await self.telegram.start()
        if self.slack is not None:
            await self.slack.start()
        if self.whatsapp is not None:
            await self.whatsapp.start()

    async def stop(self) -> None:
        if self.telegram is not None:  # first: its updates in hand still need the database
            await self.telegram.stop()
        if self.slack is not None:  # slack: likewise
            await self.slack.stop()
        with contextlib.suppress(TimeoutError):  # the replies of the last turns
            async with asyncio.timeout(STOP_TIMEOUT):
                await self.core.drain()
        await self.scheduler.stop()  # its lock let go at once: another replica takes over
        await self.webchat.stop()
        self.dispatcher.stop()  # ends after the round in hand; cancelled only if stuck
        if self.tasks:
            _done, stuck = await asyncio.wait(self.tasks, timeout=STOP_TIMEOUT)
            for task in stuck:
                task.cancel()
            for task in stuck:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.tasks.clear()
        if self.whatsapp is not None:  # whatsapp: its client, after the last sends
            await self.whatsapp.stop()
        await self.deps.db.dispose()


def build_bot(settings: Settings, *, db: Database | None = None) -> Bot:
    # A broken campaigns file stops the start before anything is made, every problem
    # named (file:campaign:field); it is applied in Bot.start.
    campaigns = (
        ()
        if settings.campaigns_file is None
        else load_campaigns(
            settings.campaigns_file,
            default_locale=settings.default_locale,
            default_campaign=settings.default_campaign,
        )
    )
    # 0700, its files 0600 (older installs fixed)
    prepare_data_dir(settings.data_dir, settings.media_dir)
    secrets = load_secrets(settings)
    database = db or Database(settings.resolved_database_url)
    translator = Translator(default=settings.default_locale)
    deps = Deps(
        settings=settings,
        db=database,
        translator=translator,
        hasher=IdentityHasher(secrets.identity),
        screener=Screener(),
        media_dir=settings.media_dir,
    )
    # Media re-encoded on arrival: every platform's files go to the store.
    intake = MediaIntake(deps.media, deps.hasher, max_bytes=settings.media_max_bytes)
    review = ReviewService(deps)
    # A broken facts file stops the start here, its message naming the fact and field.
    facts = load_facts(settings.facts_file)
    core = BotCore(deps, build_router(review, facts), media=intake)
    webchat = WebChat(core, session_secret=secrets.session)
    thanks = ThanksDesk(deps)  # readers' thanks: the queue, decisions, delivery
    delivery = ReviewDelivery(deps, review, thanks)
    dispatcher = OutboxDispatcher(
        database,
        {webchat.platform: webchat, "feed": FeedPublisher()},
        wakeup=deps.outbox_wakeup,
        # Milestone announcements rendered here; the rest by moderation's renderer.
        renderer=MilestoneBroadcast(deps).renderer(delivery.render),
        after_send=delivery.after_send,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        metrics=core.metrics,
    )
    scheduler = Scheduler(deps)
    telegram = build_telegram(settings, core, translator)
    if telegram is not None:
        dispatcher.add_sender(telegram.sender)
        # The moderators' group: card buttons and /queue via the facade.
        telegram.group_handler = TelegramModerationGroup(
            deps, review, thanks, telegram.bot, telegram.sender
        )
    # -- slack: DMs, commands, Home tab, modals, the moderators' channel --
    slack = build_slack(deps, core, review, thanks)
    if slack is not None:
        dispatcher.add_sender(slack.sender)
    connect_media(intake, deps, telegram=telegram, slack=slack)
    # -- whatsapp: the webhook, its files fetched into the media store --
    whatsapp = build_whatsapp(
        settings,
        core,
        translator,
        intake=intake,
        media=deps.media,
        db=database,  # its people's 24-hour windows
        wakeup=deps.outbox_wakeup,
    )
    if whatsapp is not None:
        dispatcher.add_sender(whatsapp.sender)
        # An erased person's confirmation, sent by the outbox, then forgets the number.
        dispatcher.after_send = chain_after_send(delivery.after_send, whatsapp.after_send)
    # -- moderation dashboard --
    dashboard = Dashboard(deps, review, session_secret=secrets.session)
    return Bot(
        settings,
        deps,
        core,
        dispatcher,
        webchat,
        scheduler,
        review,
        thanks,
        telegram=telegram,
        slack=slack,
        whatsapp=whatsapp,
        dashboard=dashboard,
        campaigns=campaigns,
    )


def chain_after_send(*hooks: AfterSend) -> AfterSend:
    """One outbox after-send hook running ``hooks`` in order."""

    async def after_send(due: outbox.DueMessage, message_id: str | None) -> None:
        for hook in hooks:
            await hook(due, message_id)

    return after_send


async def apply_campaigns_file(db: Database, specs: tuple[CampaignSpec, ...]) -> None:
    """The campaigns file's campaigns created or brought to its values (one transaction;
    every replica does it at start, harmlessly)."""
    outcome = await apply_campaigns(db, specs)
    changed = sorted(cid for cid, what in outcome.items() if what != "unchanged")
    log.info("campaigns file applied", extra={"count": len(outcome), "changed": changed})


def connect_media(
    intake: MediaIntake,
    deps: Deps,
    *,
    telegram: TelegramAdapter | None = None,
    slack: SlackAdapter | None = None,
) -> None:
    """Files people send on Telegram and Slack are downloaded into the media store on
    arrival (cleaned); Telegram uploads the store's files when it shows them."""
    if telegram is not None:
        telegram.sender.media = deps.media
        limit = download_limit(deps.settings.telegram_api_base_url)
        intake.add_fetcher(TELEGRAM, TelegramFetcher(telegram.bot, limit=limit))
    if slack is not None:
        intake.add_fetcher(SLACK, SlackFetcher(slack.client, slack.client.token or ""))


class SecurityHeaders:
    """Adds the security headers to every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(bot: Bot, *, migrate: bool = True) -> Starlette:
    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes: list[BaseRoute] = [Route("/healthz", healthz)]
    routes += OpsPages(bot).routes()  # /readyz and /metrics, for the operators
    if bot.settings.web_chat_enabled:
        routes += bot.webchat.routes()
    if bot.telegram is not None:  # telegram: the webhook, in webhook mode
        routes += bot.telegram.routes()
    if bot.slack is not None:  # slack: /slack/events, in HTTP mode
        routes += bot.slack.routes()
    if bot.whatsapp is not None:  # whatsapp: /whatsapp/webhook
        routes += bot.whatsapp.routes()
    # -- moderation dashboard and public story wall --
    if bot.dashboard is not None:
        routes += bot.dashboard.routes()
        routes += ThanksQueue(bot.dashboard, bot.thanks).routes()  # readers' thanks, one click each
    routes += StoryWall(bot.deps).routes()
    routes += CampaignBadges(bot.deps).routes()  # /campaigns/<id>/badge.svg, for partners
    routes += ExportPages(bot.deps).routes()  # a person's copy of their data (/privacy)
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC), name="static"))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await bot.start(migrate=migrate)
        try:
            yield
        finally:
            await bot.stop()

    async def busy(request: Request, exc: Exception) -> Response:
        """Too many turns in flight (admission control): try again in a moment."""
        assert isinstance(exc, Busy)
        translator = bot.deps.translator
        with translator.use(translator.negotiate(request.headers.get("accept-language"))):
            return JSONResponse(
                {"error": _(BUSY_TEXT)},
                status_code=503,
                headers={"Retry-After": str(exc.retry_after)},
            )

    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={Busy: busy},
    )
