"""The bot core: the path of one update, from dedupe to replies.

adapter -> ``BotCore.handle`` -> dedupe (record the key, or stop) -> the conversation's
lock -> router -> handler / flow step -> one transaction (state, submissions, outbox) ->
the replies, rendered by the adapter.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.deps import Deps
from bot.core.dialog import remember_offered
from bot.core.events import Inbound, Outgoing
from bot.core.locks import KeyedLocks
from bot.core.router import Router
from bot.core.turn import Turn
from storage import repos
from storage.models import Participant

log = logging.getLogger(__name__)

# Called inside the turn's transaction with the replies, e.g. to keep a transcript.
Recorder = Callable[[AsyncSession, Participant, list[Outgoing]], Awaitable[None]]
MAX_CONFLICT_RETRIES = 3


class BotCore:
    def __init__(self, deps: Deps, router: Router) -> None:
        self.deps = deps
        self.router = router
        self.locks = KeyedLocks()

    async def handle(self, inbound: Inbound, *, record: Recorder | None = None) -> list[Outgoing]:
        """Handle one event exactly once. A redelivered event returns no replies."""
        async with self.locks.hold(f"{inbound.platform}:{inbound.user_id}"):
            for attempt in range(MAX_CONFLICT_RETRIES):
                try:
                    return await self._handle_once(inbound, record)
                except repos.ConversationConflict:
                    # Another replica moved this conversation on: reload and redo.
                    log.info("conversation conflict, retrying", extra={"attempt": attempt})
            return await self._handle_once(inbound, record)

    async def _handle_once(self, inbound: Inbound, record: Recorder | None) -> list[Outgoing]:
        deps = self.deps
        translator = deps.translator
        async with deps.db.transaction() as session:
            if not await repos.record_event(session, deps.db, inbound.platform, inbound.key):
                log.info("duplicate event ignored", extra={"platform": inbound.platform})
                return []
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
                turn = Turn.begin(inbound, session, participant, conversation, locale, deps)
                if not participant.reachable:
                    participant.reachable = True  # they wrote to us: reachable again
                await self.router.route(turn)
                remember_offered(turn)
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
            finally:
                translator.deactivate(token)
        for callback in turn.after_commit:
            await callback()
        return turn.replies

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
