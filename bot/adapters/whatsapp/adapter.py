"""Running the WhatsApp side: the webhook on the one app, replies through pywa's client.

The path of one delivery: the webhook checks it (:mod:`bot.adapters.whatsapp.webhook`)
-> its messages are parsed (:mod:`bot.adapters.whatsapp.parsing`) -> each is handed to
``core.accept`` (one task per message, started in arrival order, nothing awaited before:
one person's messages keep their order, different people run concurrently; the core
records the message's key first, so a redelivered message has one effect) -> the
replies go out through the :class:`~bot.adapters.whatsapp.sender.WhatsAppSender` ->
only then does the webhook answer 200. Each message also opens the person's 24-hour
window (their parked notices become due); a tap on a template's button that brought
notices back is answered by those notices alone. Delivery statuses update the outbox
(:mod:`bot.adapters.whatsapp.window`).

pywa's ``WhatsApp`` is used as an API client only: its own server, update handlers and
in-memory duplicate filter are not (the core's dedupe is durable and shared by
replicas). It takes our ``httpx.AsyncClient`` and sets its base URL to Graph's; the
base URL is then pointed at ``WHATSAPP_API_URL``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import httpx
from pywa_async import WhatsApp
from pywa_async.utils import Version
from starlette.routing import BaseRoute

from bot.adapters.whatsapp.parsing import PLATFORM, Ignored, Parsed, Status
from bot.adapters.whatsapp.sender import WhatsAppSender
from bot.adapters.whatsapp.templates import TAP_PAYLOAD
from bot.adapters.whatsapp.webhook import WebhookEndpoint
from bot.config import Settings
from bot.core.dialog import split_token
from bot.core.events import Inbound, InboundKind
from bot.core.replies import is_reply
from bot.core.service import Core
from bot.handlers.privacy import ERASE_CONFIRMED
from bot.i18n.translator import Translator
from storage.erased import forget_finished
from storage.outbox import DueMessage

log = logging.getLogger(__name__)


def api_base_url(api_url: str, version: str = Version.GRAPH_API.value) -> str:
    """``https://graph.facebook.com`` -> ``https://graph.facebook.com/v26.0``."""
    return f"{api_url.rstrip('/')}/v{version}"


class WhatsAppAdapter:
    """The WhatsApp platform: the webhook, the core, the replies.

    Args:
        settings: the bot's settings; WhatsApp must be enabled (token and phone id).
        core: handles inbound events.
        translator: for the words the rendering adds (a list's button).
        request_timeout: seconds to wait for a Graph answer.

    Raises:
        ValueError: WhatsApp is not enabled, or its webhook secrets are missing.
    """

    def __init__(
        self,
        settings: Settings,
        core: Core,
        translator: Translator,
        *,
        request_timeout: float = 10.0,
    ) -> None:
        if settings.whatsapp_token is None or not settings.whatsapp_phone_id:
            raise ValueError("WHATSAPP_TOKEN and WHATSAPP_PHONE_ID are not set")
        verify = settings.whatsapp_verify_token
        secret = settings.whatsapp_app_secret
        self.settings = settings
        self.core = core
        self.phone_id = settings.whatsapp_phone_id
        self.http = httpx.AsyncClient(timeout=request_timeout)
        self.client = WhatsApp(
            phone_id=self.phone_id,
            token=settings.whatsapp_token.get_secret_value(),
            session=self.http,
            validate_updates=False,  # the webhook checks every signature itself
            skip_duplicate_updates=False,
        )
        self.http.base_url = httpx.URL(api_base_url(settings.whatsapp_api_url))
        self.sender = WhatsAppSender(self.client, translator)
        self.webhook = WebhookEndpoint(
            verify.get_secret_value() if verify is not None else "",
            secret.get_secret_value() if secret is not None else "",
            self.phone_id,
            self.process,
        )
        self.processed = 0

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def booted(self) -> bool:
        """Ready to take deliveries (``/readyz``): nothing to connect, the webhook waits."""
        return not self.http.is_closed

    def routes(self) -> list[BaseRoute]:
        """``/whatsapp/webhook`` for the app's one Starlette router."""
        return [self.webhook.route()]

    async def start(self) -> None:
        """Nothing to connect: Meta calls the webhook (registered in the Meta app)."""

    async def stop(self) -> None:
        """Close the HTTP client (deliveries in hand finish inside their requests)."""
        await self.http.aclose()

    # -- receiving -------------------------------------------------------------------------
    async def process(self, parsed: Sequence[Parsed]) -> None:
        """Handle one delivery's messages completely: returns once their replies went out.

        Raises the first failure (after the others finished): the webhook answers 500
        and Meta redelivers; what was handled is then ignored by the core's dedupe.
        """
        tasks = [
            asyncio.create_task(self._handle(item)) for item in parsed if isinstance(item, Inbound)
        ]
        tasks += [
            asyncio.create_task(self._status(item)) for item in parsed if isinstance(item, Status)
        ]
        for item in parsed:
            if isinstance(item, Ignored):
                log.debug("whatsapp update ignored", extra={"reason": item.reason})
        if not tasks:
            return
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _handle(self, inbound: Inbound) -> None:
        window = self.sender.window
        if (
            window is not None
            and is_template_tap(inbound)
            and await window.opened(inbound, answered=True)
        ):
            self.processed += 1  # the notices it brought back are the answer
            return
        # Refused (503) beyond the bound on turns in flight: Meta delivers it again.
        handled = await self.core.accept(inbound, self.sender)
        if window is not None:  # after the turn: a first message creates the person
            await window.opened(inbound)
        await handled.delivered()
        if window is not None and is_erasure(inbound):
            # The erasure's confirmation went out: its rows forget the number (one the
            # outbox sends later is forgotten by :meth:`after_send`).
            await forget_finished(window.db, PLATFORM, inbound.chat_id)
        self.processed += 1

    async def after_send(self, due: DueMessage, message_id: str | None) -> None:
        """The outbox sent a reply here: if its person was erased meanwhile (the
        erasure's confirmation, retried), the row forgets the number."""
        window = self.sender.window
        if window is not None and due.platform == PLATFORM and is_reply(due.payload):
            await forget_finished(window.db, PLATFORM, due.chat_id)

    async def _status(self, status: Status) -> None:
        if self.sender.window is not None:
            await self.sender.window.apply(status)


def is_erasure(inbound: Inbound) -> bool:
    """A tap on "Yes, erase everything" (whatever the turn made of it)."""
    return (
        inbound.kind is InboundKind.CHOICE
        and inbound.choice is not None
        and split_token(inbound.choice)[0] == ERASE_CONFIRMED
    )


def is_template_tap(inbound: Inbound) -> bool:
    """A tap on a template's quick reply (a ``button`` message with our payload)."""
    raw = inbound.raw if isinstance(inbound.raw, dict) else {}
    return (
        inbound.kind is InboundKind.CHOICE
        and inbound.choice == TAP_PAYLOAD
        and raw.get("type") == "button"
    )
