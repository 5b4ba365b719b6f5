"""The bot core: the path of one update, from dedupe to replies, for every adapter.

Every push adapter (Telegram, Slack, any later one) hands its events to ``accept`` with
its sender, and the core takes these steps, in this order:

1. The conversation's lock (``{platform}:{user}``), taken before anything is awaited:
   events of one person run one at a time, in arrival order; different people
   concurrently. The adapter starts one task per event in arrival order and awaits
   nothing before ``accept``.
2. The event's files are downloaded and cleaned (:mod:`bot.core.media`), outside any
   transaction.
3. One transaction: record the event's platform key (a redelivered event stops here:
   one effect) -> load the participant and conversation -> route (command, global
   choice, the flow's step) -> write the new state with a version check, any story or
   pledge, any outbox rows, and the replies themselves (leased outbox rows,
   :mod:`bot.core.replies`) -> commit. A conflict with another replica, or the
   database going away, is retried here, under the lock, so the order holds.
4. The replies are scheduled to be sent in the conversation's order: after the
   previous event's replies, never before (``Handled.delivery``); the lock is released.
5. ``accept`` returns: the effect is committed, and the adapter acknowledges the event
   to its platform (Slack's ack; a webhook's answer and Telegram's offset wait for
   ``handled.delivered()`` as well). Once acknowledged, nothing is lost: what cannot
   be sent now (429, 5xx) or what a crash left is sent by the outbox.

Work that is not a person's turn but must keep an order (a moderators' group, a Slack
Home tab) runs under ``ordered(key)``: the same lock map. The web chat uses ``handle``
with a recorder instead: its replies are the HTTP answer, and the transcript is stored
in the same transaction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import replies as durable
from bot.core.admission import Admission
from bot.core.delivery import Sender
from bot.core.deps import Deps
from bot.core.dialog import remember_offered, split_token
from bot.core.events import Inbound, Outgoing
from bot.core.locks import KeyedLocks
from bot.core.media import MediaIntake
from bot.core.replies import Handled
from bot.core.router import Router
from bot.core.turn import Turn
from bot.metrics import Metrics
from storage.models import Participant
from storage.turns import ConversationConflict

log = logging.getLogger(__name__)

# Called inside the turn's transaction with the replies, e.g. to keep a transcript.
Recorder = Callable[[AsyncSession, Participant, list[Outgoing]], Awaitable[None]]
MAX_CONFLICT_RETRIES = 3
# A turn that fails because the database is away (a restart, a failover) is tried this
# many times in all, under the conversation's lock, before the event is given up.
DATABASE_ATTEMPTS = 3


def unavailable(exc: DBAPIError) -> bool:
    """The database could not be reached or was busy (not a refused statement)."""
    return isinstance(exc, (OperationalError, InterfaceError)) or exc.connection_invalidated


class Core(Protocol):
    """What an adapter needs of :class:`BotCore`."""

    def ordered(self, key: str) -> AbstractAsyncContextManager[None]: ...

    async def accept(
        self, inbound: Inbound, sender: Sender | None = None, *, patient: bool = False
    ) -> Handled: ...

    async def set_reachable(self, platform: str, user_id: str, reachable: bool) -> None: ...

    async def drain(self) -> None: ...


class BotCore:
    """The one place that orders events and sends their replies (see the module doc).

    Args:
        deps: the shared dependencies.
        router: routes a turn to its handler.
        media: downloads and cleans the files people send (none: files are not fetched).
        retry_backoff: seconds before the second try of a turn the database failed;
            doubled for each further try.
    """

    def __init__(
        self,
        deps: Deps,
        router: Router,
        *,
        media: MediaIntake | None = None,
        retry_backoff: float = 0.5,
    ) -> None:
        self.deps = deps
        self.router = router
        self.locks = KeyedLocks()
        # Per conversation, the sending of its latest replies: the next waits for it.
        self._deliveries: dict[str, asyncio.Task[None]] = {}
        self._retry_backoff = retry_backoff
        # How long the dispatcher leaves a stored reply to this process (it sends it
        # itself right after the commit); after a crash, another replica takes it.
        self.lease = timedelta(seconds=deps.settings.outbox_lease_seconds)
        self.media = media
        self.admission = Admission(deps.settings.max_turns_in_flight)
        self.metrics = Metrics(self.admission)  # this bot's own registry (``/metrics``)

    async def handle(self, inbound: Inbound, *, record: Recorder | None = None) -> list[Outgoing]:
        """Handle one event exactly once. A redelivered event returns no replies.

        The replies are not stored as messages to send: the caller answers with them
        (the web chat, whose ``record`` keeps them in the transcript; tests).
        """
        handled = await self._handle(inbound, record, keep=False)
        return list(handled.replies)

    async def accept(
        self, inbound: Inbound, sender: Sender | None = None, *, patient: bool = False
    ) -> Handled:
        """Handle one event exactly once; its replies are stored, then sent by ``sender``
        after the conversation's earlier replies (without a sender, by the outbox).

        Returns once the turn is committed; ``handled.delivered()`` waits for the replies.
        Raises :class:`~bot.core.admission.Busy` when too many turns are in flight,
        unless ``patient`` (a source that pulls its work): then it waits for room.
        """
        return await self._handle(inbound, None, keep=True, sender=sender, patient=patient)

    def ordered(self, key: str) -> AbstractAsyncContextManager[None]:
        """Run work that must keep an order (not a person's turn) one at a time per key."""
        return self.locks.hold(key)

    async def set_reachable(self, platform: str, user_id: str, reachable: bool) -> None:
        """Mark a person reachable or not (they blocked or unblocked the bot), in order
        with their events."""
        async with self.locks.hold(f"{platform}:{user_id}"):
            await self._mark_reachable(platform, user_id, reachable)

    async def drain(self) -> None:
        """Wait for the replies being sent (at shutdown; what is left, the outbox sends)."""
        while self._deliveries:
            await asyncio.wait(set(self._deliveries.values()))

    async def _handle(
        self,
        inbound: Inbound,
        record: Recorder | None,
        *,
        keep: bool,
        sender: Sender | None = None,
        patient: bool = False,
    ) -> Handled:
        key = f"{inbound.platform}:{inbound.user_id}"
        arrived = time.perf_counter()
        # Nothing is awaited before the lock: events queue on it in arrival order. (A
        # place is taken without awaiting, unless a patient caller waits for one.)
        async with self.admission.admit(patient=patient), self.locks.hold(key):
            if self.media is not None:  # files downloaded and cleaned before any transaction
                inbound = await self.media.localise(inbound)
            handled = await self._turn(inbound, record, keep)
            if sender is not None and handled.replies:
                handled = self._schedule(key, handled, sender)
        self.metrics.turn(inbound.platform, inbound.kind, time.perf_counter() - arrived)
        return handled

    async def _turn(self, inbound: Inbound, record: Recorder | None, keep: bool) -> Handled:
        conflicts = failures = 0
        while True:
            try:
                return await self._handle_once(inbound, record, keep)
            except ConversationConflict:
                # Another replica moved this conversation on: reload and redo.
                conflicts += 1
                log.info("conversation conflict, retrying", extra={"attempt": conflicts})
                if conflicts > MAX_CONFLICT_RETRIES:
                    raise
            except DBAPIError as exc:
                if not unavailable(exc):
                    raise
                # The database away (restarting, failing over): the transaction rolled
                # back, so trying again has one effect; the dedupe ignores a commit
                # whose answer was lost.
                failures += 1
                log.warning(
                    "turn failed on the database",
                    extra={"attempt": failures, "error": type(exc).__name__},
                )
                if failures >= DATABASE_ATTEMPTS:
                    raise
                await asyncio.sleep(self._retry_backoff * 2 ** (failures - 1))

    async def _handle_once(self, inbound: Inbound, record: Recorder | None, keep: bool) -> Handled:
        deps = self.deps
        translator = deps.translator
        statements = deps.db.turns
        async with deps.db.turn() as tx:
            loaded = await statements.load(
                tx,
                platform=inbound.platform,
                event_key=inbound.key,
                external_id=inbound.user_id,
                chat_id=inbound.chat_id,
                identity_key=deps.hasher.key(inbound.platform, inbound.user_id),
                display_name=inbound.display_name,
                locale_hint=inbound.locale_hint,
            )
            if loaded is None:
                log.info("duplicate event ignored", extra={"platform": inbound.platform})
                return Handled(inbound, ())
            participant, conversation = loaded
            assert participant.id is not None
            locale = participant.locale or translator.negotiate(participant.locale_hint)
            token = translator.activate(locale)
            try:
                pressed, shown_at = split_token(inbound.choice) if inbound.choice else (None, None)
                turn = Turn.begin(
                    replace(inbound, choice=pressed) if shown_at is not None else inbound,
                    tx,
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
                await statements.save(
                    tx,
                    conversation,
                    flow=turn.flow,
                    step=turn.step,
                    draft=turn.draft,
                    history=turn.history,
                )
                if record is not None:
                    await record(tx.session, participant, turn.replies)
                rows: tuple[int, ...] = ()
                if keep and turn.replies:
                    rows = await durable.keep(
                        statements, tx, inbound, participant.id, turn.replies, self.lease
                    )
            finally:
                translator.deactivate(token)
        for event, flow, step in turn.flow_events:  # counted once committed
            self.metrics.flow(event, flow, step)
        for callback in turn.after_commit:
            await callback()
        return Handled(inbound, tuple(turn.replies), rows)

    def _schedule(self, key: str, handled: Handled, sender: Sender) -> Handled:
        """Send ``handled``'s replies after the conversation's previous ones."""
        previous = self._deliveries.get(key)
        task = asyncio.create_task(self._deliver_after(previous, handled, sender))
        self._deliveries[key] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._deliveries.get(key) is done:
                del self._deliveries[key]

        task.add_done_callback(forget)
        return replace(handled, delivery=task)

    async def _deliver_after(
        self, previous: asyncio.Task[None] | None, handled: Handled, sender: Sender
    ) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # whatever became of it: the order holds
        try:
            await self._deliver(handled, sender)
        except Exception:
            # The database failed while marking a reply sent, say: the rows are still
            # leased, and the dispatcher sends what was not marked once the lease ends.
            log.exception("replies not delivered", extra={"platform": sender.platform})

    async def _deliver(self, handled: Handled, sender: Sender) -> None:
        """Send what ``accept`` stored, at once; the outbox takes what cannot go now."""
        user_id = handled.inbound.user_id

        async def unreachable() -> None:
            await self._mark_reachable(handled.inbound.platform, user_id, False)

        if not await durable.deliver(
            self.deps.db, sender, handled, on_unreachable=unreachable, metrics=self.metrics
        ):
            self.deps.outbox_wakeup.set()

    async def _mark_reachable(self, platform: str, user_id: str, reachable: bool) -> None:
        async with self.deps.db.transaction() as session:
            await session.execute(
                update(Participant)
                .where(
                    col(Participant.platform) == platform,
                    col(Participant.external_id) == user_id,
                )
                .values(reachable=reachable)
            )
