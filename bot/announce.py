"""Pledge milestones announced to the supporters who asked for updates.

:class:`MilestoneBroadcast` queues each milestone's messages through the outbox (see
:mod:`storage.announcements`: batches with a resumable cursor, one row per person ever,
due at ``BROADCAST_PER_SECOND``) and renders them at send time, in the reader's
language and digits. A row is dropped, not sent, when its person turned updates off or
became unreachable since it was queued.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from bot.core.deps import Deps
from bot.core.events import Choice, Outgoing
from bot.core.outbox import Renderer
from bot.handlers.stories import NEXT as NEXT_STORY
from bot.handlers.updates import OFF as UPDATES_OFF
from bot.i18n import _, ngettext
from bot.i18n.formatting import format_count, isolate
from storage import announcements, reading
from storage.campaigns import title_in
from storage.models import Campaign, Participant, utcnow
from storage.outbox import DueMessage

log = logging.getLogger(__name__)


def milestone_text(threshold: int, locale: str) -> str:
    """The announcement, in the active locale's words and digits."""
    return ngettext(
        "🎉 {count} person has now taken the TOGETHER pledge — thank you for being one of them!",
        "🎉 {count} people have now taken the TOGETHER pledge — thank you for being one of them!",
        threshold,
    ).format(count=format_count(threshold, locale))


class MilestoneBroadcast:
    """Queues milestone announcements (a leader job, kicked after a pledge reaches one)
    and renders them for the outbox's dispatcher."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._running = asyncio.Lock()  # one run at a time in this process

    async def run(self, now: datetime | None = None) -> int:
        """Queue every reached milestone's announcement not yet queued, a batch per
        transaction; safe to run twice, at once, or after a crash.

        Args:
            now: the time the first rows fall due from (tests pass it).

        Returns:
            How many messages were queued.
        """
        rate = self.deps.settings.broadcast_per_second
        queued = 0
        async with self._running:
            async with self.deps.db.transaction() as session:
                due = await announcements.pending(session)
            for broadcast in due:
                while True:
                    async with self.deps.db.transaction() as session:
                        count = await announcements.queue_batch(
                            session, broadcast, per_second=rate, now=now or utcnow()
                        )
                    if count is None:
                        break
                    queued += count
                    if count:
                        self.deps.outbox_wakeup.set()
                    log.info(
                        "milestone announcement queued",
                        extra={
                            "campaign": broadcast.campaign_id,
                            "threshold": broadcast.threshold,
                            "count": count,
                        },
                    )
        return queued

    def renderer(self, fallback: Renderer) -> Renderer:
        """The dispatcher's renderer: announcements here, anything else to ``fallback``."""

        async def render(due: DueMessage) -> Outgoing | None:
            if announcements.KIND in due.payload:
                return await self.render(due)
            return await fallback(due)

        return render

    async def render(self, due: DueMessage) -> Outgoing | None:
        """The announcement in the reader's language; None (dropped) when they turned
        updates off, became unreachable or erased their data since it was queued."""
        data = due.payload[announcements.KIND]
        campaign_id, threshold = str(data["campaign"]), int(data["threshold"])
        async with self.deps.db.transaction() as session:
            person = (
                await session.get(Participant, due.participant_id)
                if due.participant_id is not None
                else None
            )
            if person is None or person.updates is not True or not person.reachable:
                log.info("milestone announcement dropped", extra={"outbox_id": due.id})
                return None
            campaign = await session.get(Campaign, campaign_id)
            any_story = await self.deps.rarely.get(
                "any story published", lambda: reading.any_published(session), keep=bool
            )
        translator = self.deps.translator
        locale = person.locale or translator.negotiate(person.locale_hint)
        with translator.use(locale) as active:
            text = milestone_text(threshold, active)
            title = _title(campaign, active, translator.default)
            if title and campaign_id != self.deps.settings.default_campaign:
                text = isolate(title, active) + "\n" + text
            choices = []
            if any_story:
                choices.append(Choice(NEXT_STORY, _("📖 Read a story")))
            choices.append(Choice(UPDATES_OFF, _("🔕 Turn off updates")))
            return Outgoing(text=text, choices=tuple(choices), locale=active)


def _title(campaign: Campaign | None, locale: str, default: str) -> str:
    """A partner campaign's name in ``locale``, else the default locale's, else any."""
    return title_in(campaign.title, locale, default, "") if campaign is not None else ""
