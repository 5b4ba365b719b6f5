"""The bot core: the path of one update, from dedupe to replies.

Every adapter hands its events to the core in these steps, in this order:

1. ``accept(inbound)``: the conversation's lock (events of one person run one at a
   time, in arrival order; different people concurrently) -> one transaction: record
   the event's platform key (a redelivered event stops here: one effect) -> load the
   participant and conversation -> route (command, global choice, the flow's step) ->
   write the new state with a version check, any story or pledge, any outbox rows, and
   the replies themselves (leased outbox rows, :mod:`bot.core.replies`) -> commit.
2. The adapter acknowledges the event to its platform only now (Telegram's offset moves
   past it, a webhook or Slack gets its answer): once acknowledged, nothing is lost.
3. ``deliver(handled, sender)``: the replies go out in order at once, each row marked
   sent; what cannot go now (429, 5xx) or what a crash left is sent by the outbox.

An adapter whose acknowledgement is its answer (a webhook) runs steps 1 and 3 before
answering. The web chat uses ``handle`` with a recorder instead: its replies are the
HTTP answer, and the transcript is stored in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import replies as durable
from bot.core.delivery import Sender
from bot.core.deps import Deps
from bot.core.dialog import remember_offered, split_token
from bot.core.events import Inbound, Outgoing
from bot.core.locks import KeyedLocks
from bot.core.media import MediaIntake
from bot.core.replies import Handled
from bot.core.router import Router
from bot.core.turn import Turn
from storage import repos
from storage.models import Participant

log = logging.getLogger(__name__)

# Called inside the turn's transaction with the replies, e.g. to keep a transcript.
Recorder = Callable[[AsyncSession, Participant, list[Outgoing]], Awaitable[None]]
MAX_CONFLICT_RETRIES = 3


class BotCore:
    def __init__(self, deps: Deps, router: Router, *, media: MediaIntake | None = None) -> None:
        self.deps = deps
        self.router = router
        self.locks = KeyedLocks()
        # How long the dispatcher leaves a stored reply to this process (it sends it
        # itself right after the commit); after a crash, another replica takes it.
        self.lease = timedelta(seconds=deps.settings.outbox_lease_seconds)
        self.media = media

    async def handle(self, inbound: Inbound, *, record: Recorder | None = None) -> list[Outgoing]:
        """Handle one event exactly once. A redelivered event returns no replies.

        The replies are not stored as messages to send: the caller answers with them
        (the web chat, whose ``record`` keeps them in the transcript; tests).
        """
        handled = await self._handle(inbound, record, keep=False)
        return list(handled.replies)

    async def accept(self, inbound: Inbound) -> Handled:
        """Handle one event exactly once, its replies stored to be sent (step 1)."""
        return await self._handle(inbound, None, keep=True)

    async def deliver(self, handled: Handled, sender: Sender) -> None:
        """Send what ``accept`` stored, at once; the outbox takes what cannot go now."""
        if not handled.replies:
            return
        user_id = handled.inbound.user_id

        async def unreachable() -> None:
            await self.set_reachable(handled.inbound.platform, user_id, False)

        if not await durable.deliver(self.deps.db, sender, handled, on_unreachable=unreachable):
            self.deps.outbox_wakeup.set()

    async def _handle(self, inbound: Inbound, record: Recorder | None, *, keep: bool) -> Handled:
        if self.media is not None:  # files downloaded and cleaned before any transaction
            inbound = await self.media.localise(inbound)
        async with self.locks.hold(f"{inbound.platform}:{inbound.user_id}"):
            for attempt in range(MAX_CONFLICT_RETRIES):
                try:
                    return await self._handle_once(inbound, record, keep)
                except repos.ConversationConflict:
                    # Another replica moved this conversation on: reload and redo.
                    log.info("conversation conflict, retrying", extra={"attempt": attempt})
            return await self._handle_once(inbound, record, keep)

    async def _handle_once(self, inbound: Inbound, record: Recorder | None, keep: bool) -> Handled:
        deps = self.deps
        translator = deps.translator
        async with deps.db.transaction() as session:
            if not await repos.record_event(session, deps.db, inbound.platform, inbound.key):
                log.info("duplicate event ignored", extra={"platform": inbound.platform})
                return Handled(inbound, ())
            participant = await repos.load_participant(
                session,
                deps.db,
                platform=inbound.platform,
                external_id=inbound.user_id,
                chat_id=inbound.chat_id,
                identity_key=deps.hasher.key(inbound.platform, inbound.user_id),
                display_name=inbound.display_name,
                locale_hint=inbound.locale_hint,
            )
            assert participant.id is not None
            conversation = await repos.load_conversation(session, deps.db, participant.id)
            locale = participant.locale or translator.negotiate(participant.locale_hint)
            token = translator.activate(locale)
            try:
                pressed, shown_at = split_token(inbound.choice) if inbound.choice else (None, None)
                turn = Turn.begin(
                    replace(inbound, choice=pressed) if shown_at is not None else inbound,
                    session,
                    participant,
                    conversation,
                    locale,
                    deps,
                )
                turn.choice_token = shown_at
                if not participant.reachable:
                    participant.reachable = True  # they wrote to us: reachable again
                await self.router.route(turn)
                remember_offered(turn, conversation.version + 1)
                # Always written: the version check serialises replicas, and the
                # last activity time drives draft reminders.
                await repos.save_conversation(
                    session,
                    conversation,
                    flow=turn.flow,
                    step=turn.step,
                    draft=turn.draft,
                    history=turn.history,
                )
                if record is not None:
                    await record(session, participant, turn.replies)
                rows: tuple[int, ...] = ()
                if keep and turn.replies:
                    rows = await durable.keep(
                        session, inbound, participant.id, turn.replies, lease=self.lease
                    )
            finally:
                translator.deactivate(token)
        for callback in turn.after_commit:
            await callback()
        return Handled(inbound, tuple(turn.replies), rows)

    async def set_reachable(self, platform: str, user_id: str, reachable: bool) -> None:
        """Mark a person reachable or not (they blocked or unblocked the bot)."""
        async with self.deps.db.transaction() as session:
            await session.execute(
                update(Participant)
                .where(
                    col(Participant.platform) == platform,
                    col(Participant.external_id) == user_id,
                )
                .values(reachable=reachable)
            )
