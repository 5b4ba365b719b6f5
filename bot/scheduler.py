"""Scheduled work (APScheduler 3.x) behind a small interface.

Jobs are idempotent and safe to run twice: draft reminders and expiry, pledge milestone
sweeps and counter reconciliation, and an outbox nudge in case a wake-up was missed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.deps import Deps
from bot.core.dialog import PARKED
from bot.core.events import Choice, Outgoing
from bot.core.media import LOCAL
from bot.i18n import _
from bot.i18n.formatting import format_day
from storage import drafts, outbox, pledges
from storage.models import Campaign, Conversation, Participant, utcnow

log = logging.getLogger(__name__)

STORY = "story"
# How long before its erasure a person is told about their idle draft: this, or half of
# DRAFT_EXPIRY_DAYS when that is shorter.
EXPIRY_NOTICE_LEAD = timedelta(days=2)
# Drafts looked at per run (the longest idle first); the job runs every hour.
EXPIRY_BATCH = 500


@dataclass(frozen=True, slots=True)
class DraftExpiry:
    """What one run of :meth:`Scheduler.expire_drafts` did."""

    notified: int
    erased: int


class Scheduler:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._scheduler: AsyncIOScheduler | None = None

    def start(self) -> None:
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_job(
            self.remind_drafts,
            "interval",
            minutes=30,
            id="draft_reminders",
            max_instances=1,
            coalesce=True,
        )
        scheduler.add_job(
            self.expire_drafts,
            "interval",
            hours=1,
            id="draft_expiry",
            max_instances=1,
            coalesce=True,
        )
        scheduler.add_job(
            self.sweep_pledges,
            "interval",
            minutes=10,
            id="pledge_sweep",
            max_instances=1,
            coalesce=True,
        )
        scheduler.add_job(self.deps.outbox_wakeup.set, "interval", minutes=1, id="outbox_nudge")
        scheduler.start()
        self._scheduler = scheduler

    def shutdown(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

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
                    session, participant, f"remind:{conversation.id}:{stamp}", _reminder_text
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
