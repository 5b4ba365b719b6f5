"""The moderators' Slack channel: card buttons and modals, through the review facade.

Only glue, like the Telegram group: a button's value is parsed into an
:class:`~bot.review.service.ActionRequest` (never trusted beyond item, version and
action), the clicking account is resolved by the facade, and the outcome is told to that
moderator alone (an ephemeral message). Reject and Take down ask for a reason in a modal;
Redact opens the story's text in a modal to edit. Every card of the item, here and on
other surfaces, is refreshed by the facade through the outbox (``chat.update`` here).
A reader's thank-you card (Pass / Reject, ``thx:<verdict>:<id>``) is decided by the
:class:`~bot.review.thanks.ThanksDesk`, which refreshes its cards the same way.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack import views
from bot.adapters.slack.parsing import PLATFORM
from bot.adapters.slack.sender import SlackSender
from bot.core.delivery import DeliveryError
from bot.core.deps import Deps
from bot.core.events import Choice, Outgoing
from bot.i18n import _
from bot.review.cards import load_card, reason_labels
from bot.review.service import ActionRequest, Outcome, ReviewAction, ReviewService
from bot.review.thanks import CHOICE_PREFIX as THANKS_PREFIX
from bot.review.thanks import ThanksDesk
from moderation.actors import Moderator
from moderation.visibility import may_read
from storage import repos

log = logging.getLogger(__name__)
REASON_BLOCK = "reason"
TEXT_BLOCK = "text"


class SlackModerationChannel:
    """Handles the card buttons and modals of ``SLACK_MODERATION_CHANNEL`` and of the
    safety team's ``SLACK_SAFETY_CHANNEL`` (safety moderators and leads only).

    Args:
        deps: the bot's dependencies (database, translator, settings).
        review: the review facade every moderator surface goes through.
        thanks: decides readers' thank-you cards.
        client: the Web API client (for ``views.open``).
        sender: for the answers only the clicking moderator sees.
        channel: the moderators' channel id ("" when only a safety channel is set).
        safety_channel: the safety team's channel id, or "".
    """

    def __init__(
        self,
        deps: Deps,
        review: ReviewService,
        thanks: ThanksDesk,
        client: AsyncWebClient,
        sender: SlackSender,
        channel: str,
        safety_channel: str = "",
    ) -> None:
        self.deps = deps
        self.review = review
        self.thanks = thanks
        self.client = client
        self.sender = sender
        self.channel = channel
        self.safety_channel = safety_channel

    @property
    def channels(self) -> frozenset[str]:
        """The channels whose buttons come here."""
        return frozenset(c for c in (self.channel, self.safety_channel) if c)

    @property
    def locale(self) -> str:
        return self.deps.settings.moderation_locale

    async def on_button(
        self, user_id: str, value: str, trigger_id: str, key: str, channel: str | None = None
    ) -> None:
        """A card button: act at once, or open the modal that asks for more.

        Who may do it is settled first: anyone else is told alone (an ephemeral
        message), and no modal opens.
        """
        if not await self._first_time(key):
            return
        where = channel if channel in self.channels else self.channel
        if value.startswith(f"{THANKS_PREFIX}:"):
            # Refused unless a moderator; a late click is told who was first.
            decided = await self.thanks.decide_from(PLATFORM, user_id, value)
            await self._tell(where, user_id, decided.message)
            return
        with self.deps.translator.use(self.locale):
            request = ActionRequest.parse(value)
            if request is None:
                await self._tell(where, user_id, _("This button is no longer valid."))
                return
            checked = await self.review.authorize(
                PLATFORM, user_id, request, safety_chat=self._is_safety(where)
            )
            if isinstance(checked, Outcome):
                await self._tell(where, user_id, checked.message)
                return
            asks_reason = request.action in (ReviewAction.REJECT, ReviewAction.UNPUBLISH)
            if asks_reason and not request.reason:
                await self._open(trigger_id, self._reason_modal(request, where))
            elif request.action is ReviewAction.REDACT:
                await self._open_redact(user_id, checked, where, trigger_id, request)
            elif request.action is ReviewAction.CHANGES:
                await self._tell(where, user_id, self._dashboard_text(request.item_id))
            else:
                outcome = await self.review.act(checked, request)
                await self._tell(where, user_id, outcome.message)

    async def on_modal(self, user_id: str, view: dict[str, Any], key: str) -> None:
        """A submitted reason or redaction modal."""
        if not await self._first_time(key):
            return
        data = views.metadata(view)
        request = ActionRequest.parse(str(data.get("request", "")))
        if request is None:
            return
        where = str(data.get("channel") or "")
        where = where if where in self.channels else self.channel
        safety_chat = self._is_safety(where)
        given = views.answers(view)
        with self.deps.translator.use(self.locale):
            if view.get("callback_id") == views.REASON_MODAL:
                reason = given.get(REASON_BLOCK, "")
                request = ActionRequest.parse(f"{request.choice_id()}:{reason}")
                if request is None:
                    await self._tell(where, user_id, _("This button is no longer valid."))
                    return
                outcome = await self.review.act_from(
                    PLATFORM, user_id, request, safety_chat=safety_chat
                )
            else:
                text = given.get(TEXT_BLOCK, "")
                # No text at all is "needs more information" (the facade says so).
                outcome = await self.review.act_from(
                    PLATFORM,
                    user_id,
                    request,
                    text=text if text.strip() else None,
                    safety_chat=safety_chat,
                )
            await self._tell(where, user_id, outcome.message)

    def _is_safety(self, channel: str) -> bool:
        return self.review.is_safety_chat(PLATFORM, channel)

    # -- modals ------------------------------------------------------------------------------
    def _reason_modal(self, request: ActionRequest, channel: str) -> dict[str, Any]:
        labels = reason_labels()
        if request.action is ReviewAction.REJECT:
            title, question = _("⛔ Reject"), _("Why is story #{number} rejected?")
        else:
            title, question = _("🗑 Take down"), _("Why is story #{number} taken down?")
        choices = [Choice(code.value, label) for code, label in labels.items()]
        return views.modal(
            views.REASON_MODAL,
            title=title,
            submit=title,
            close=_("✕ Cancel"),
            blocks=[
                views.select_block(REASON_BLOCK, question.format(number=request.item_id), choices)
            ],
            metadata={"request": request.choice_id(), "channel": channel},
        )

    async def _open_redact(
        self,
        user_id: str,
        moderator: Moderator,
        channel: str,
        trigger_id: str,
        request: ActionRequest,
    ) -> None:
        async with self.deps.db.transaction() as session:
            card = await load_card(session, request.item_id)
        if card is None:
            await self._tell(channel, user_id, _("This story no longer exists."))
            return
        if not may_read(moderator.role, card.state, card.priority):
            refusal = _("Only safety moderators and leads can read this story.")
            await self._tell(channel, user_id, refusal)
            return
        if len(card.text) > views.INPUT_MAX:
            await self._tell(channel, user_id, self._dashboard_text(request.item_id))
            return
        label = _(
            "Edit the text of story #{number}: remove what could identify the storyteller. "
            "The original stays visible to moderators only."
        ).format(number=request.item_id)
        await self._open(
            trigger_id,
            views.modal(
                views.REDACT_MODAL,
                title=_("✂️ Redact"),
                submit=_("✂️ Redact"),
                close=_("✕ Cancel"),
                blocks=[views.text_block(TEXT_BLOCK, label, card.text)],
                metadata={"request": request.choice_id(), "channel": channel},
            ),
        )

    async def _open(self, trigger_id: str, view: dict[str, Any]) -> None:
        try:
            await self.client.views_open(trigger_id=trigger_id, view=view)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack modal not opened", extra={"error": type(exc).__name__})

    # -- answers -----------------------------------------------------------------------------
    def _dashboard_text(self, item_id: int) -> str:
        url = f"{self.deps.settings.resolved_public_url}/moderation/items/{item_id}"
        return _("Open the dashboard to edit the text: {url}").format(url=url)

    async def _tell(self, channel: str, user_id: str, text: str) -> None:
        try:
            await self.sender.ephemeral(channel, user_id, Outgoing(text=text, locale=self.locale))
        except DeliveryError as exc:
            log.info("slack ephemeral answer not shown", extra={"error": type(exc).__name__})

    async def _first_time(self, key: str) -> bool:
        async with self.deps.db.transaction() as session:
            return await repos.record_event(session, self.deps.db, PLATFORM, key)
