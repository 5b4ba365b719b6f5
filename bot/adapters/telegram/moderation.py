"""The moderators' Telegram group: card buttons and ``/queue``, through the review facade.

Only glue: a callback's data is parsed into an :class:`ActionRequest` (never trusted
beyond item, version and action), the clicking account is resolved by the facade, and
the outcome is answered on the button (a toast, or an alert when refused or too late).
Every card of the item, here and on other surfaces, is refreshed by the facade.
"""

from __future__ import annotations

import logging

from telegram import Bot, CallbackQuery, Message, Update
from telegram import error as tg

from bot.adapters.telegram.parsing import PLATFORM
from bot.adapters.telegram.sender import TelegramSender
from bot.core.deps import Deps
from bot.core.events import Outgoing
from bot.i18n import _
from bot.review.cards import reason_choices
from bot.review.service import ActionRequest, Outcome, ReviewAction, ReviewService
from bot.review.thanks import CHOICE_PREFIX as THANKS_PREFIX
from bot.review.thanks import ThanksDesk
from storage import repos

log = logging.getLogger(__name__)
ANSWER_MAX = 200  # Telegram shows at most 200 characters in a callback answer


class TelegramModerationGroup:
    """Handles every update of the moderators' group (``TELEGRAM_MODERATION_CHAT_ID``)
    and of the safety team's (``TELEGRAM_SAFETY_CHAT_ID``, safety moderators and leads)."""

    def __init__(
        self,
        deps: Deps,
        review: ReviewService,
        thanks: ThanksDesk,
        bot: Bot,
        sender: TelegramSender,
    ) -> None:
        self.deps = deps
        self.review = review
        self.thanks = thanks
        self.bot = bot
        self.sender = sender

    async def __call__(self, update: Update) -> None:
        async with self.deps.db.transaction() as session:
            fresh = await repos.record_event(
                session, self.deps.db, PLATFORM, f"group:{update.update_id}"
            )
        if not fresh:
            return  # a redelivered update: handled once already
        with self.deps.translator.use(self.deps.settings.moderation_locale):
            if update.callback_query is not None:
                await self._on_button(update.callback_query)
            elif update.message is not None and update.message.text:
                await self._on_message(update.message)

    async def _on_button(self, query: CallbackQuery) -> None:
        if (query.data or "").startswith(f"{THANKS_PREFIX}:"):
            await self._on_thanks_button(query)
            return
        request = ActionRequest.parse(query.data or "")
        if request is None:
            await self._answer(query, _("This button is no longer valid."), alert=True)
            return
        chat_id = str(query.message.chat.id) if query.message is not None else ""
        # Who may do this is settled before anything is said or posted: a person who is
        # not a moderator (or lacks the role) hears it alone, on the button, and nothing
        # reaches the group (Reject by a stranger posted the reason question).
        checked = await self.review.authorize(
            PLATFORM,
            str(query.from_user.id),
            request,
            safety_chat=self.review.is_safety_chat(PLATFORM, chat_id),
        )
        if isinstance(checked, Outcome):
            await self._answer(query, checked.message, alert=True)
            return
        if request.action in (ReviewAction.REJECT, ReviewAction.UNPUBLISH) and not request.reason:
            await self._answer(query, "")
            question = (
                _("Why is story #{number} rejected?")
                if request.action is ReviewAction.REJECT
                else _("Why is story #{number} taken down?")
            )
            await self.sender.send(
                chat_id,
                Outgoing(
                    text=question.format(number=request.item_id),
                    choices=reason_choices(request.item_id, request.version, request.action),
                    locale=self.deps.settings.moderation_locale,
                ),
            )
            return
        if request.action in (ReviewAction.REDACT, ReviewAction.CHANGES):
            # Editing text needs a real editor: the dashboard, with its own sign-in.
            url = f"{self.deps.settings.resolved_public_url}/moderation/items/{request.item_id}"
            await self._answer(
                query, _("Open the dashboard to edit the text: {url}").format(url=url), alert=True
            )
            return
        outcome = await self.review.act(checked, request)
        await self._answer(query, outcome.message, alert=not outcome.ok)
        if request.reason and query.message is not None and outcome.ok:
            # The reason question has done its job: say what happened in its place.
            try:
                await self.bot.edit_message_text(
                    outcome.message,
                    chat_id=query.message.chat.id,
                    message_id=query.message.message_id,
                )
            except tg.TelegramError:
                log.debug("reason question not edited", extra={"item_id": request.item_id})

    async def _on_thanks_button(self, query: CallbackQuery) -> None:
        """Pass or Reject on a reader's thank-you. Its cards, this one and those on other
        surfaces, are then edited by the desk through the outbox (the outcome, no buttons)."""
        outcome = await self.thanks.decide_from(PLATFORM, str(query.from_user.id), query.data or "")
        await self._answer(query, outcome.message, alert=not outcome.ok)

    async def _on_message(self, message: Message) -> None:
        command = (message.text or "").split()[0].split("@")[0].lower()
        if command != "/queue" or message.from_user is None:
            return
        moderator = await self.review.moderator_for(PLATFORM, str(message.from_user.id))
        if moderator is None:
            return  # not a moderator: nothing is posted in the group
        counts = await self.review.counts()
        await self.sender.send(
            str(message.chat.id),
            Outgoing(
                text=self.review.counts_text(counts),
                locale=self.deps.settings.moderation_locale,
            ),
        )

    async def _answer(self, query: CallbackQuery, text: str, *, alert: bool = False) -> None:
        try:
            await self.bot.answer_callback_query(
                query.id, text=text[:ANSWER_MAX] or None, show_alert=alert
            )
        except tg.TelegramError as exc:
            log.debug("callback not answered", extra={"error": type(exc).__name__})
