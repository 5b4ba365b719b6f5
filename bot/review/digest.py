"""What the moderators are told without asking: SLA alerts about items waiting too long,
and a daily digest of the queue, in each moderators' chat (the Telegram group, the Slack
channel), in the moderation locale.

Both are outbox rows with a dedupe key: an alert once per item, state and chat, a digest
once per day and chat, whichever replica runs the job and however often. Neither holds a
story's text or a person's name: ids, states, languages, counts and durations only.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.core.deps import Deps
from bot.core.events import Outgoing
from bot.i18n import _
from bot.i18n.formatting import format_count, format_day, format_duration, language_name
from bot.review.queue import STATE_LABELS
from bot.review.thanks import card_surfaces
from storage import digest, outbox
from storage.digest import QueueCounts, Waiting
from storage.models import StoryState, utcnow
from storage.ops import WAITING

log = logging.getLogger(__name__)

S = StoryState
# The waiting states the review SLA (SLA_REVIEW_HOURS) applies to; safety review has
# its own (SLA_SAFETY_MINUTES).
REVIEW_STATES = (S.RECEIVED.value, S.PENDING_REVIEW.value)
# The dashboard's labels of the waiting states (the same msgids).

moderators_chats = card_surfaces  # the moderators' Telegram group and Slack channel


class ModeratorNotices:
    """The SLA alerts and the daily digest.

    Args:
        deps: the bot's dependencies.
    """

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def alert_sla(self, now: datetime | None = None) -> int:
        """Announce once, in each moderators' chat, every item waiting past its SLA.

        An alert's outbox row is the record that it was sent, and retention deletes it
        ``RETENTION_OUTBOX_DAYS`` later: only items that passed their SLA within a day
        less than that are looked at, so an item still waiting is never announced
        again (the job runs every few minutes, so none is missed while it runs).

        Args:
            now: the time to act at (tests move it instead of waiting).

        Returns:
            How many alerts were queued.
        """
        now = now or utcnow()
        settings = self.deps.settings
        chats = moderators_chats(settings)
        if not chats:
            return 0
        window = timedelta(days=settings.retention_outbox_days - 1)
        rules = (
            ((S.SAFETY_REVIEW.value,), timedelta(minutes=settings.sla_safety_minutes)),
            (REVIEW_STATES, timedelta(hours=settings.sla_review_hours)),
        )
        queued = 0
        async with self.deps.db.transaction() as session:
            for states, limit in rules:
                late = await digest.waiting_since(
                    session,
                    states=states,
                    entered_before=now - limit,
                    entered_after=now - limit - window,
                )
                for item in late:
                    message = self._alert(item, now)
                    for platform, chat_id in chats:
                        row = await outbox.enqueue(
                            session,
                            dedupe_key=f"sla:{item.item_id}:{item.state}:{platform}:{chat_id}",
                            platform=platform,
                            chat_id=chat_id,
                            payload={"message": message.to_json()},
                        )
                        if row is not None:
                            queued += 1
                            log.info(
                                "SLA alert queued",
                                extra={"item_id": item.item_id, "state": item.state},
                            )
        if queued:
            self.deps.outbox_wakeup.set()
        return queued

    def _alert(self, item: Waiting, now: datetime) -> Outgoing:
        settings = self.deps.settings
        with self.deps.translator.use(settings.moderation_locale) as locale:
            text = _("⏰ Item #{item} has been waiting in “{state}” for {duration}.").format(
                item=item.item_id,
                state=_(STATE_LABELS[item.state]),
                duration=format_duration(now - item.since, locale),
            )
            if settings.public_url:
                text += f"\n{settings.resolved_public_url}/moderation/items/{item.item_id}"
        return Outgoing(text=text, locale=locale)

    async def send_digest(self, now: datetime | None = None) -> int:
        """Queue today's digest in each moderators' chat, once, from ``DIGEST_HOUR_UTC``.

        Args:
            now: the time to act at (tests move it instead of waiting).

        Returns:
            How many digests were queued (0 before the hour, and once sent today).
        """
        now = now or utcnow()
        settings = self.deps.settings
        chats = moderators_chats(settings)
        if not chats or now.hour < settings.digest_hour_utc:
            return 0
        day = now.date().isoformat()
        queued = 0
        async with self.deps.db.transaction() as session:
            keys = [f"digest:{day}:{platform}:{chat_id}" for platform, chat_id in chats]
            message = self._digest(await digest.queue_counts(session), now)
            for key, (platform, chat_id) in zip(keys, chats, strict=True):
                row = await outbox.enqueue(
                    session,
                    dedupe_key=key,
                    platform=platform,
                    chat_id=chat_id,
                    payload={"message": message.to_json()},
                )
                queued += row is not None
        if queued:
            log.info("moderators' digest queued", extra={"chats": queued})
            self.deps.outbox_wakeup.set()
        return queued

    def _digest(self, counts: QueueCounts, now: datetime) -> Outgoing:
        with self.deps.translator.use(self.deps.settings.moderation_locale) as locale:
            lines = [_("📋 The moderation queue on {date}").format(date=format_day(now, locale))]
            if not counts.by_state:
                lines.append(_("No story is waiting."))
                return Outgoing(text="\n".join(lines), locale=locale)
            lines.append("")
            lines.append(_("Waiting, by state:"))
            for state in WAITING:
                if counts.by_state.get(state.value):
                    count = format_count(counts.by_state[state.value], locale)
                    lines.append(f"• {_(STATE_LABELS[state.value])}: {count}")
            lines.append("")
            lines.append(_("Waiting, by language:"))
            for language, n in sorted(counts.by_locale.items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"• {language_name(language)}: {format_count(n, locale)}")
            if counts.oldest_since is not None:
                lines.append("")
                lines.append(
                    _("The longest wait: {duration}.").format(
                        duration=format_duration(now - counts.oldest_since, locale)
                    )
                )
        return Outgoing(text="\n".join(lines), locale=locale)
