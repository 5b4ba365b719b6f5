"""Scheduled work (APScheduler 3.x) behind a small interface.

Jobs are idempotent and safe to run twice: draft reminders, pledge milestone sweeps and
counter reconciliation, and an outbox nudge in case a wake-up was missed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select
from sqlmodel import col

from bot.core.deps import Deps
from bot.core.events import Choice, Outgoing
from bot.i18n import _
from storage import outbox, pledges
from storage.models import Campaign, Conversation, Participant, utcnow

log = logging.getLogger(__name__)


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
                        col(Conversation.flow) == "story",
                        col(Conversation.reminded_at).is_(None),
                        col(Conversation.last_activity_at) < cutoff,
                        col(Participant.reachable).is_(True),
                    )
                    .limit(500)
                )
            ).all()
            for conversation, participant in rows:
                locale = participant.locale or self.deps.translator.negotiate(
                    participant.locale_hint
                )
                with self.deps.translator.use(locale):
                    message = Outgoing(
                        text=_(
                            "Your story is waiting for you, just where you left it. "
                            "Continue whenever you feel ready — there is no hurry."
                        ),
                        choices=(Choice("menu:story", _("📖 Continue your story")),),
                        locale=locale,
                    )
                stamp = conversation.last_activity_at.isoformat()
                if await outbox.enqueue(
                    session,
                    dedupe_key=f"remind:{conversation.id}:{stamp}",
                    platform=participant.platform,
                    chat_id=participant.chat_id,
                    participant_id=participant.id,
                    payload={"message": message.to_json()},
                ):
                    sent += 1
                conversation.reminded_at = utcnow()
        if sent:
            self.deps.outbox_wakeup.set()
        return sent

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
