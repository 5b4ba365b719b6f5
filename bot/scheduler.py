"""Scheduled work (APScheduler 3.x) behind a small interface.

Jobs are idempotent and safe to run twice: draft reminders and expiry, pledge milestone
sweeps and counter reconciliation, retention purges, the moderators' SLA alerts and
daily digest, and an outbox nudge in case a wake-up was missed.

One replica runs them. On PostgreSQL, several replicas share the database: the one that
holds the scheduler's lock (:class:`SchedulerLock`, a session-level advisory lock on a
connection kept open) runs the jobs; the others try again every
``SCHEDULER_LOCK_RETRY_SECONDS`` and take over when the holder dies (its connection
closes, and the lock goes with it). On SQLite there is one process, and it runs them.
The outbox nudge runs on every replica: it wakes that replica's own dispatcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from bot.announce import MilestoneBroadcast
from bot.core.deps import Deps
from bot.core.dialog import PARKED
from bot.core.events import Choice, Outgoing
from bot.core.media import LOCAL
from bot.i18n import _
from bot.i18n.formatting import format_day
from bot.review.digest import ModeratorNotices
from bot.review.service import ReviewService
from moderation.actors import SYSTEM
from moderation.decisions import erase
from moderation.errors import DecisionConflict, NotAllowed
from storage import drafts, outbox, pledges, retention
from storage.db import Database
from storage.erased import PHONE_NUMBER_PLATFORMS, forget_finished
from storage.models import Campaign, Conversation, Participant, utcnow

log = logging.getLogger(__name__)

STORY = "story"
# How long before its erasure a person is told about their idle draft: this, or half of
# DRAFT_EXPIRY_DAYS when that is shorter.
EXPIRY_NOTICE_LEAD = timedelta(days=2)
# Drafts looked at per run (the longest idle first); the job runs every hour.
EXPIRY_BATCH = 500
# Stories erased per transaction by retention (each erasure touches several rows: its
# revisions, files, outbox rows, thanks, the audit event).
RETENTION_STORY_BATCH = 20
# The audit event's note on an erasure by retention.
RETENTION_NOTE = "retention"
# The scheduler's advisory lock is the two-key form (class, object), a key space apart
# from the one-key locks elsewhere (the audit chain, pledge milestones): the class names
# this lock, the object is a hash of the schema, so databases sharing a server (tests
# run one schema each) never share it.
SCHEDULER_LOCK_CLASS = 0x54_42_53_43  # "TBSC"
# How long the holder waits for its lock's connection to answer before it gives it up.
LOCK_CHECK_TIMEOUT = 10.0
# The server's TCP keepalives on the lock's connection: probes after 30 s of silence,
# every 10 s, 3 missed ones end the session (and free the lock).
_KEEPALIVES = (
    "SELECT set_config('tcp_keepalives_idle', '30', false), "
    "set_config('tcp_keepalives_interval', '10', false), "
    "set_config('tcp_keepalives_count', '3', false)"
)
# The jobs only the replica that holds the lock runs.
LEADER_JOBS = (
    "draft_reminders",
    "draft_expiry",
    "pledge_sweep",
    "retention",
    "sla_alerts",
    "moderators_digest",
    "milestone_broadcast",
)


@dataclass(frozen=True, slots=True)
class DraftExpiry:
    """What one run of :meth:`Scheduler.expire_drafts` did."""

    notified: int
    erased: int


@dataclass(frozen=True, slots=True)
class Retention:
    """What one run of :meth:`Scheduler.purge` deleted."""

    stories: int  # rejected or withdrawn stories erased
    processed_events: int
    outbox: int  # sent rows
    webchat_messages: int
    files: int


class SchedulerLock:
    """The PostgreSQL advisory lock that makes one replica the scheduler.

    A session-level lock, taken with ``pg_try_advisory_lock`` on a connection of its own
    kept open (autocommit, so it never sits idle in a transaction): it is held as long as
    that connection lives, and released by the server the moment the connection closes,
    the process killed included.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._connection: AsyncConnection | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None

    async def hold(self) -> bool:
        """Whether this process holds the lock now: the held connection must still
        answer; without one, try to take the lock (False while another session has it
        or the database cannot be reached)."""
        if self._connection is not None:
            try:
                async with asyncio.timeout(LOCK_CHECK_TIMEOUT):
                    await self._connection.execute(text("SELECT 1"))
            except (SQLAlchemyError, OSError, TimeoutError):
                log.warning("scheduler lock's connection lost")
                await self.release()
            else:
                return True
        connection: AsyncConnection | None = None
        try:
            async with asyncio.timeout(LOCK_CHECK_TIMEOUT):
                connection = await self.db.engine.connect()
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                taken = (
                    await connection.execute(
                        text("SELECT pg_try_advisory_lock(:lock, hashtext(current_schema()))"),
                        {"lock": SCHEDULER_LOCK_CLASS},
                    )
                ).scalar_one()
        except (SQLAlchemyError, OSError, TimeoutError):
            if connection is not None:
                await _discard(connection)
            return False
        if not taken:
            await connection.close()  # back to the pool: it holds nothing
            return False
        self._connection = connection
        try:
            # A holder whose machine vanishes (no FIN, no RST) is noticed by the server
            # in about a minute, not after the kernel's default of two hours.
            await connection.execute(text(_KEEPALIVES))
        except (SQLAlchemyError, OSError):
            await self.release()
            return False
        return True

    async def release(self) -> None:
        """Let the lock go: its connection is closed, not returned to the pool (where
        it would keep the lock)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await _discard(connection)


async def _discard(connection: AsyncConnection) -> None:
    with contextlib.suppress(SQLAlchemyError, OSError):
        await connection.invalidate()
    with contextlib.suppress(SQLAlchemyError, OSError):
        await connection.close()


class Scheduler:
    """The scheduled jobs of one replica.

    Args:
        deps: the bot's dependencies.
        review: the moderation review service (its cards are refreshed when retention
            erases a story); one is made from ``deps`` when not given.
    """

    def __init__(self, deps: Deps, review: ReviewService | None = None) -> None:
        self.deps = deps
        self.review = review or ReviewService(deps)
        self.moderators = ModeratorNotices(deps)
        self.announcer = MilestoneBroadcast(deps)
        self._kicks: asyncio.Task[None] | None = None
        self._scheduler: AsyncIOScheduler | None = None
        # None on SQLite: one process, which always runs the jobs.
        self.lock = SchedulerLock(deps.db) if deps.db.is_postgres else None
        self._release: asyncio.Task[None] | None = None
        # One election at a time (the periodic job, and a caller such as a test).
        self._electing = asyncio.Lock()
        self._stopped = False
        self._told_waiting = False  # "held by another replica" logged since it last held

    @property
    def leading(self) -> bool:
        """Whether this replica runs the scheduled jobs (always, on SQLite)."""
        return self.lock is None or self.lock.held

    def start(self) -> None:
        self._stopped = False
        scheduler = AsyncIOScheduler(timezone="UTC")
        self._scheduler = scheduler
        # Every replica's own dispatcher: not a job of the lock's holder.
        scheduler.add_job(self.deps.outbox_wakeup.set, "interval", minutes=1, id="outbox_nudge")
        with contextlib.suppress(RuntimeError):  # no loop: no kicks (the job still runs)
            self._kicks = asyncio.get_running_loop().create_task(self._on_milestone())
        if self.lock is None:
            self._add_leader_jobs()
        else:
            scheduler.add_job(
                self.elect,
                "interval",
                seconds=self.deps.settings.scheduler_lock_retry_seconds,
                id="scheduler_lock",
                next_run_time=datetime.now(UTC),  # at once, then every few seconds
                max_instances=1,
                coalesce=True,
            )
        scheduler.start()

    def shutdown(self) -> None:
        self._stopped = True
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        if self._kicks is not None:
            self._kicks.cancel()
            self._kicks = None
        if self.lock is not None and self._release is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop: the process's exit closes the connection
                return
            # Let another replica take over now rather than when this process exits.
            self._release = loop.create_task(self._let_go())

    async def stop(self) -> None:
        """:meth:`shutdown`, and wait until the lock (if held) is let go."""
        self.shutdown()
        if self._release is not None:
            await self._release
            self._release = None

    async def _let_go(self) -> None:
        assert self.lock is not None
        async with self._electing:  # after an election in flight, never under it
            await self.lock.release()

    async def elect(self) -> bool:
        """Take the scheduler's lock if it is free, or check this replica still holds
        it, and run the jobs exactly while it does.

        Returns:
            Whether this replica runs the scheduled jobs now.
        """
        if self.lock is None:
            return True
        async with self._electing:
            if self._stopped:
                return False
            was = self.lock.held
            held = await self.lock.hold()
            if held and not was:
                log.info("scheduler lock taken: this replica runs the scheduled jobs")
                self._add_leader_jobs()
            elif was and not held:
                log.warning("scheduler lock lost: this replica stops the scheduled jobs")
                self._remove_leader_jobs()
            elif not held and not self._told_waiting:
                # Once per wait: the operator (and tests/replicas) see that it stands by.
                log.info(
                    "scheduler lock not taken (another replica holds it, or the database "
                    "is unreachable): this replica stands by"
                )
            self._told_waiting = not held
            return held

    def jobs(self) -> list[str]:
        """The ids of the jobs this replica has scheduled."""
        if self._scheduler is None:
            return []
        return sorted(job.id for job in self._scheduler.get_jobs())

    def _add_leader_jobs(self) -> None:
        scheduler = self._scheduler
        if scheduler is None:
            return
        every: dict[str, tuple[Callable[[], Any], dict[str, int]]] = {
            "draft_reminders": (self.remind_drafts, {"minutes": 30}),
            "draft_expiry": (self.expire_drafts, {"hours": 1}),
            "pledge_sweep": (self.sweep_pledges, {"minutes": 10}),
            "retention": (self.purge, {"hours": 1}),
            "sla_alerts": (self.moderators.alert_sla, {"minutes": 5}),
            "moderators_digest": (self.moderators.send_digest, {"minutes": 15}),
            "milestone_broadcast": (self.broadcast_milestones, {"minutes": 1}),
        }
        for job_id, (job, interval) in every.items():
            scheduler.add_job(
                job,
                "interval",
                **interval,
                id=job_id,
                max_instances=1,
                coalesce=True,
                replace_existing=True,
            )
        # A broadcast cut short (a crash, a new leader) goes on at once, not a minute on.
        scheduler.modify_job("milestone_broadcast", next_run_time=datetime.now(UTC))

    def _remove_leader_jobs(self) -> None:
        if self._scheduler is None:
            return
        for job_id in LEADER_JOBS:
            if self._scheduler.get_job(job_id) is not None:
                self._scheduler.remove_job(job_id)

    async def remind_drafts(self) -> int:
        """Remind people once about a story draft left for ``DRAFT_REMINDER_HOURS``."""
        settings, db = self.deps.settings, self.deps.db
        cutoff = utcnow() - timedelta(hours=settings.draft_reminder_hours)
        sent = 0
        async with db.transaction() as session:
            rows = (
                await session.execute(
                    select(Conversation, Participant)
                    .join(Participant, col(Participant.id) == col(Conversation.participant_id))
                    .where(
                        col(Conversation.flow) == STORY,
                        col(Conversation.reminded_at).is_(None),
                        col(Conversation.last_activity_at) < cutoff,
                        col(Participant.reachable).is_(True),
                    )
                    .limit(500)
                )
            ).all()
            for conversation, participant in rows:
                stamp = conversation.last_activity_at.isoformat()
                if await self._about_draft(
                    session,
                    participant,
                    f"remind:{conversation.id}:{stamp}",
                    _reminder_text,
                    notice="draft_reminder",  # its kind: WhatsApp's template for it
                ):
                    sent += 1
                conversation.reminded_at = utcnow()
        if sent:
            self.deps.outbox_wakeup.set()
        return sent

    async def expire_drafts(self, now: datetime | None = None) -> DraftExpiry:
        """Tell people once that their idle story draft will be erased, then erase it.

        A story draft (the running flow, or parked while no other flow runs) untouched
        for ``DRAFT_EXPIRY_DAYS`` is erased: the conversation leaves the flow, and once
        that has committed the draft's files are deleted (those a story or the web chat
        transcript still shows stay). ``EXPIRY_NOTICE_LEAD`` before (or half the period,
        when shorter) a reachable person gets one message naming the day it will be
        erased, and it is erased at the end of that day (UTC), never earlier: a run
        that comes late moves the day on. Someone unreachable is not told; their draft
        is erased when its time is up.

        The notice's outbox row is the record that it was sent: its dedupe key holds
        the conversation and its last activity, so running twice sends it once, and a
        person who writes again (which keeps the draft) is told anew before a later
        expiry. The moment it announced is kept in its payload, so the erasure keeps
        the promise exactly. No column (and no migration) is needed for it.

        The erasure is a conditional UPDATE on the conversation's version: a person who
        writes at that moment wins and keeps their draft; a later button of the old
        draft is then answered as stale.

        Args:
            now: the time to act at (tests move it instead of waiting).

        Returns:
            How many notices were queued and drafts erased.
        """
        now = now or utcnow()
        expiry = timedelta(days=self.deps.settings.draft_expiry_days)
        lead = min(EXPIRY_NOTICE_LEAD, expiry / 2)
        notified = 0
        erased: list[tuple[int, int, list[str]]] = []  # conversation, participant, files
        async with self.deps.db.transaction() as session:
            rows = await drafts.idle_drafts(
                session,
                flow=STORY,
                parked_key=PARKED,
                idle_before=now - (expiry - lead),
                limit=EXPIRY_BATCH,
            )
            keys = {conversation.id: _expiry_key(conversation) for conversation, _ in rows}
            sent = await drafts.sent_payloads(session, keys.values())
            for conversation, participant in rows:
                assert conversation.id is not None and participant.id is not None
                key = keys[conversation.id]
                last = _aware(conversation.last_activity_at)
                if key in sent:
                    erase_at = _announced(sent[key]) or last + expiry
                elif participant.reachable:
                    day = max(last + expiry, now + lead).date()
                    await self._notify_expiry(session, participant, key, day)
                    notified += 1
                    continue
                else:
                    erase_at = last + expiry
                if now < erase_at:
                    continue
                story, keep = _split_story(conversation.draft or {}, conversation.flow)
                if not await drafts.erase_draft(session, conversation, keep=keep, now=now):
                    continue  # the person wrote meanwhile: their draft stays
                files = _local_files(story)
                files -= await drafts.files_in_use(session, participant.id, files)
                erased.append((conversation.id, participant.id, sorted(files)))
        for conversation_id, participant_id, names in erased:
            deleted = await self.deps.media.delete(names)
            log.info(
                "story draft expired",
                extra={
                    "conversation_id": conversation_id,
                    "participant_id": participant_id,
                    "files": deleted,
                },
            )
        if notified:
            self.deps.outbox_wakeup.set()
        return DraftExpiry(notified=notified, erased=len(erased))

    async def _notify_expiry(
        self, session: AsyncSession, participant: Participant, key: str, day: date
    ) -> None:
        """Queue the one notice that the draft will be erased at the end of ``day``."""

        def text(locale: str) -> str:
            moment = datetime.combine(day, time(), tzinfo=UTC)
            return _(
                "Your unfinished story is still here. To protect your privacy, I keep "
                "drafts only for a while: if it stays untouched, I will delete it on "
                "{date}.\n\n"
                "Continue whenever you are ready. If you no longer want it, continue "
                "and choose “✕ Cancel” to delete it now."
            ).format(date=format_day(moment, locale))

        erase_at = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
        await self._about_draft(session, participant, key, text, erase_at=erase_at.isoformat())

    async def _about_draft(
        self,
        session: AsyncSession,
        participant: Participant,
        key: str,
        text: Callable[[str], str],
        **extra: Any,
    ) -> bool:
        """Queue a message about the person's story draft, in their language, with the
        button that continues it: once per ``key`` (False when it was queued before).

        Args:
            text: the message in the locale it is given (called with it active).
            extra: kept in the outbox row's payload beside the message.
        """
        locale = self._locale(participant)
        with self.deps.translator.use(locale):
            message = Outgoing(
                text=text(locale),
                choices=(Choice("menu:story", _("📖 Continue your story")),),
                locale=locale,
            )
        queued = await outbox.enqueue(
            session,
            dedupe_key=key,
            platform=participant.platform,
            chat_id=participant.chat_id,
            participant_id=participant.id,
            payload={"message": message.to_json(), **extra},
        )
        return queued is not None

    def _locale(self, participant: Participant) -> str:
        return participant.locale or self.deps.translator.negotiate(participant.locale_hint)

    async def broadcast_milestones(self, now: datetime | None = None) -> int:
        """Queue the announcement of every milestone reached and not yet announced
        (bot/announce.py); returns how many messages were queued.

        Args:
            now: when the first messages fall due (tests move it instead of waiting).
        """
        return await self.announcer.run(now)

    async def _on_milestone(self) -> None:
        """A pledge reached a milestone: the leader announces it at once, not at the
        job's next minute (another replica's pledge waits for that minute)."""
        wakeup = self.deps.milestone_wakeup
        while True:
            await wakeup.wait()
            wakeup.clear()
            if not self.leading:
                continue
            try:
                await self.broadcast_milestones()
            except Exception:
                log.exception("milestone broadcast failed")

    async def sweep_pledges(self) -> None:
        """Repair counter drift and fire milestones a racing pledge may have missed."""
        async with self.deps.db.transaction() as session:
            campaigns = (await session.execute(select(col(Campaign.id)))).scalars().all()
        for campaign in campaigns:
            drift = await pledges.reconcile(self.deps.db, campaign)
            if drift:
                log.warning(
                    "pledge counter drift repaired", extra={"campaign": campaign, "drift": drift}
                )
            for threshold in await pledges.reach_milestones(self.deps.db, campaign):
                log.info(
                    "pledge milestone reached", extra={"campaign": campaign, "threshold": threshold}
                )

    async def purge(self, now: datetime | None = None) -> Retention:
        """Delete what is kept only for a while (README, Privacy), a batch per
        transaction, until nothing is left past its period.

        - Rejected and withdrawn stories untouched by moderation for
          ``RETENTION_STORY_DAYS`` are erased as a storyteller's erasure erases them
          (text, credit, message to the host community, countries, the thanks they
          received, what the outbox kept of them) and their title and files go too; the
          story's row, its counts and its audit events stay, with one more event: the
          erasure, by the system, noted ``retention``.
        - Processed-event keys older than ``RETENTION_PROCESSED_EVENT_DAYS``.
        - Outbox rows sent more than ``RETENTION_OUTBOX_DAYS`` ago.
        - The web chat transcript of a session without a message for
          ``RETENTION_WEBCHAT_DAYS``, with the files only it showed.

        On SQLite the WAL is then checkpointed, so nothing deleted stays in it.

        Args:
            now: the time to act at (tests move it instead of waiting).

        Returns:
            How much each rule deleted.
        """
        now = now or utcnow()
        settings, db = self.deps.settings, self.deps.db
        stories, story_files = await self._erase_ended_stories(
            now - timedelta(days=settings.retention_story_days)
        )
        events = await _in_batches(
            db,
            lambda session: retention.purge_processed_events(
                session,
                before=now - timedelta(days=settings.retention_processed_event_days),
                limit=retention.BATCH,
            ),
        )
        sent = await _in_batches(
            db,
            lambda session: retention.purge_sent_outbox(
                session,
                before=now - timedelta(days=settings.retention_outbox_days),
                limit=retention.BATCH,
            ),
        )
        # Erased people's numbers in rows finished since (a confirmation given up on).
        for platform in PHONE_NUMBER_PLATFORMS:
            await forget_finished(db, platform)
        messages, transcript_files = await self._purge_transcripts(
            now - timedelta(days=settings.retention_webchat_days)
        )
        done = Retention(
            stories=stories,
            processed_events=events,
            outbox=sent,
            webchat_messages=messages,
            files=story_files + transcript_files,
        )
        if done != Retention(0, 0, 0, 0, 0):
            emptied = await db.checkpoint()
            log.info(
                "retention purge",
                extra={
                    "stories": done.stories,
                    "processed_events": done.processed_events,
                    "outbox": done.outbox,
                    "webchat_messages": done.webchat_messages,
                    "files": done.files,
                    "wal_emptied": emptied,
                },
            )
        return done

    async def _erase_ended_stories(self, before: datetime) -> tuple[int, int]:
        """Erase the rejected and withdrawn stories past their period; returns how many
        stories and files."""
        erased = files_deleted = 0
        after = 0
        while True:
            unused: set[str] = set()
            async with self.deps.db.transaction() as session:
                due = await retention.stories_due(
                    session, before=before, after_id=after, limit=RETENTION_STORY_BATCH
                )
                for story in due:
                    after = story.story_id
                    try:
                        await erase(
                            session, item_id=story.item_id, actor=SYSTEM, note=RETENTION_NOTE
                        )
                    except (NotAllowed, DecisionConflict):
                        continue  # appealed or reopened at this moment: nothing written
                    await self.review.story_changed(session, story.story_id)
                    unused |= await _unused_files(session, story.participant_id, story.files)
                    erased += 1
            if unused:
                files_deleted += await self.deps.media.delete(unused)
            if erased:
                self.deps.outbox_wakeup.set()  # cards edited, posts taken down
            if len(due) < RETENTION_STORY_BATCH:
                return erased, files_deleted

    async def _purge_transcripts(self, before: datetime) -> tuple[int, int]:
        """Delete the transcripts of quiet web chat sessions; returns how many messages
        and files."""
        messages = files_deleted = 0
        while True:
            unused: set[str] = set()
            async with self.deps.db.transaction() as session:
                batch = await retention.purge_quiet_transcripts(
                    session, before=before, limit=retention.BATCH
                )
                for participant_id, names in batch.files.items():
                    unused |= await _unused_files(session, participant_id, names)
            messages += batch.messages
            if unused:
                files_deleted += await self.deps.media.delete(unused)
            if batch.messages < retention.BATCH:
                return messages, files_deleted


def _reminder_text(_locale: str) -> str:
    return _(
        "Your story is waiting for you, just where you left it. "
        "Continue whenever you feel ready — there is no hurry."
    )


def _expiry_key(conversation: Conversation) -> str:
    """One notice per conversation and last activity: writing again makes a new one."""
    return f"draft-expiry:{conversation.id}:{conversation.last_activity_at.isoformat()}"


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _announced(payload: dict[str, Any]) -> datetime | None:
    """The moment a notice promised the erasure for (None once its payload is emptied)."""
    value = payload.get("erase_at")
    return _aware(datetime.fromisoformat(value)) if isinstance(value, str) else None


def _split_story(draft: dict[str, Any], flow: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The story's answers, and what stays of the draft without them (other parked
    flows), whether the story is the running flow or parked."""
    parked = dict(draft.get(PARKED) or {})
    if flow == STORY:
        story = {k: v for k, v in draft.items() if k != PARKED}
        keep: dict[str, Any] = {}
    else:
        saved = parked.pop(STORY, None)
        story = dict(saved.get("draft") or {}) if isinstance(saved, dict) else {}
        keep = {k: v for k, v in draft.items() if k != PARKED}
    if parked:
        keep[PARKED] = parked
    return story, keep


def _local_files(story: dict[str, Any]) -> set[str]:
    """The media store names of the files a story draft holds."""
    media = story.get("media")
    names: set[str] = set()
    for item in media if isinstance(media, list) else []:
        ref = item.get("ref") if isinstance(item, dict) else None
        if isinstance(ref, str) and ref.startswith(LOCAL):
            names.add(ref[len(LOCAL) :])
    return names


async def _in_batches(db: Database, batch: Callable[[AsyncSession], Awaitable[int]]) -> int:
    """Run ``batch`` in one transaction after another until it deletes less than a full
    batch; returns how many rows it deleted in all."""
    total = 0
    while True:
        async with db.transaction() as session:
            deleted = await batch(session)
        total += deleted
        if deleted < retention.BATCH:
            return total


async def _unused_files(
    session: AsyncSession, participant_id: int | None, names: Collection[str]
) -> set[str]:
    """Which of the stored files ``names`` nothing refers to any more: no story, no web
    chat transcript of the person, no draft of theirs."""
    if not names:
        return set()
    # A story whose person erased their data has no person (and their files are gone).
    owner = participant_id if participant_id is not None else 0
    used = await drafts.files_in_use(session, owner, names)
    if participant_id is not None:
        in_draft = await retention.files_in_drafts(session, [participant_id])
        used |= in_draft.get(participant_id, set())
    return set(names) - used
