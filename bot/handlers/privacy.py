"""/privacy: what we keep, a copy of your data, and erasing it."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from babel.dates import format_datetime
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.events import Choice
from bot.core.turn import Turn
from bot.handlers.mystories import status_label
from bot.handlers.review import Review
from bot.i18n import _, ngettext
from bot.i18n.formatting import babel_locale, format_count, format_items
from moderation.storyteller import erase_stories
from storage import pledges
from storage.erased import forget_number
from storage.export import PersonalData, collect
from storage.export_links import forget_export_links, issue_export_link
from storage.media import MediaStore
from storage.models import (
    OutboxMessage,
    OutboxStatus,
    Pledge,
    PledgeState,
    Story,
    WebChatMessage,
)
from storage.thanks import forget_reader

log = logging.getLogger(__name__)

# The button that erases everything (a WhatsApp adapter forgets the number once the
# confirmation of it went out).
ERASE_CONFIRMED = "privacy:erase_confirmed"


def privacy_text() -> str:
    return _(
        "Your privacy:\n"
        "• We keep your stories, your pledge, your language and how you want to be "
        "credited, and, to answer you, your chat account's number and the name it shows. "
        "Location data is removed from your photos when they arrive.\n"
        "• A person reads every story before it is published, credited exactly as you chose.\n"
        "• You can ask for a copy of your data, withdraw a story (/mystories), withdraw "
        "your pledge (/unpledge), or erase everything."
    )


def show_privacy(turn: Turn) -> None:
    turn.say(
        privacy_text(),
        (
            Choice("privacy:export", _("📄 Send me a copy of my data")),
            Choice("privacy:erase", _("🗑 Erase all my data")),
        ),
    )


async def on_privacy_choice(turn: Turn, value: str, review: Review) -> None:
    if value == "export":
        await send_export(turn)
    elif value == "erase":
        turn.say(
            _(
                "This erases your stories (published ones are taken down), your pledge and "
                "this conversation. It cannot be undone. Are you sure?"
            ),
            (
                Choice(ERASE_CONFIRMED, _("Yes, erase everything")),
                Choice("menu:privacy", _("No, keep my data")),
            ),
        )
    elif value == "erase_confirmed":
        await erase_everything(turn, review)
        turn.say(_("Done. Your data has been erased. Thank you for being here."))
    else:
        turn.say(_("That button is no longer active."))


async def send_export(turn: Turn) -> None:
    """A one-time link to the ZIP of everything kept, and what it holds, in words."""
    data = await collect(turn.session, turn.participant)
    link, expires_at = await issue_export_link(
        turn.session, turn.deps, turn.participant_id, turn.locale
    )
    turn.say(
        export_summary(data, expires_at, turn.locale),
        (Choice("privacy:download", _("⬇️ Download my data (ZIP)"), url=link),),
    )


def export_summary(data: PersonalData, expires_at: datetime, locale: str) -> str:
    """What the archive holds and until when its link works, in the current locale."""

    def count(n: int) -> str:
        return format_count(n, locale)

    stories = len(data.story_states)
    story_line = ngettext("{count} story", "{count} stories", stories).format(count=count(stories))
    if stories:
        states = Counter(data.story_states)
        story_line += " — " + format_items(
            [
                _("{status}: {count}").format(status=status_label(state), count=count(n))
                for state, n in sorted(states.items(), key=lambda item: -item[1])
            ],
            locale,
        )
    lines = [
        _("Your copy is ready. It holds:"),
        "• " + story_line,
        "• "
        + ngettext("{count} pledge", "{count} pledges", data.pledges).format(
            count=count(data.pledges)
        ),
        "• "
        + ngettext(
            "{count} file (photos, voice notes, videos)",
            "{count} files (photos, voice notes, videos)",
            len(data.files),
        ).format(count=count(len(data.files))),
    ]
    if data.transcript_messages:
        lines.append(
            "• "
            + ngettext(
                "{count} message of our web chat",
                "{count} messages of our web chat",
                data.transcript_messages,
            ).format(count=count(data.transcript_messages))
        )
    lines += [
        "",
        _(
            "Download it with the button below. The link works once, until {moment} (UTC). "
            "Keep the file somewhere safe: it holds your stories and may identify you."
        ).format(
            moment=format_datetime(expires_at, "medium", tzinfo=UTC, locale=babel_locale(locale))
        ),
    ]
    return "\n".join(lines)


async def erase_everything(turn: Turn, review: Review) -> None:
    """Erase the person's stories, pledges, transcript, drafts, links and files.

    Their media files are deleted once the erasure has committed (a rolled-back erasure
    keeps the files of stories that are still there), and on SQLite the WAL is then
    checkpointed, so the erased text is left neither in the database file nor its WAL.
    """
    session, participant, deps = turn.session, turn.participant, turn.deps
    pid = turn.participant_id
    # Every file the person's stories, drafts and transcript refer to, before they go.
    referenced = [file.name for file in (await collect(session, participant)).files]
    owner = MediaStore.owner_of(participant.identity_key)
    # First, so that what this erasure queues (taking posts down) still goes out.
    await forget_sent_messages(session, pid)
    story_ids = (
        (await session.execute(select(col(Story.id)).where(col(Story.participant_id) == pid)))
        .scalars()
        .all()
    )
    await erase_stories(session, participant_id=pid)
    for story_id in story_ids:
        if story_id is not None:
            await review.story_changed(session, story_id)
    for row in (
        (
            await session.execute(
                select(Pledge).where(col(Pledge.identity_key) == participant.identity_key)
            )
        )
        .scalars()
        .all()
    ):
        if row.state == PledgeState.CONFIRMED.value:
            await pledges.withdraw_pledge(
                session, deps.db, campaign_id=row.campaign_id, identity_key=participant.identity_key
            )
        await session.delete(row)
    await session.execute(delete(WebChatMessage).where(col(WebChatMessage.participant_id) == pid))
    await forget_export_links(session, pid)
    await forget_reader(session, participant.identity_key)  # thanks they sent as a reader
    turn.wake_outbox()  # posts taken down, moderators' cards edited: at once
    participant.display_name = None
    participant.consent_version = None
    participant.consent_at = None
    participant.story_started_at = None
    # Asked again after a pledge, should they come back.
    participant.updates = None
    participant.updates_at = None
    participant.referral = None
    turn.flow, turn.step, turn.history, turn.draft = None, None, [], {}
    # A WhatsApp number: replaced by an alias (this turn's replies still reach it).
    await forget_number(session, participant)

    async def after_commit() -> None:
        store = MediaStore(deps.media_dir)
        deleted = await store.erase_owner(owner)
        deleted += await asyncio.to_thread(_delete_files, deps.media_dir, pid, referenced)
        emptied = await deps.db.checkpoint()
        log.info(
            "data erased", extra={"participant_id": pid, "files": deleted, "wal_emptied": emptied}
        )

    turn.after_commit.append(after_commit)


async def forget_sent_messages(session: AsyncSession, participant_id: int) -> None:
    """Empty what the outbox keeps of messages to the person (replies quote their story
    and name); what was not sent yet is not sent any more."""
    await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.participant_id) == participant_id,
            col(OutboxMessage.status) == OutboxStatus.PENDING.value,
        )
        .values(status=OutboxStatus.CANCELLED.value, last_error="erased")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.participant_id) == participant_id)
        .values(payload={"erased": True})
        .execution_options(synchronize_session=False)
    )


def _delete_files(media_dir: Path, participant_id: int, referenced: list[str]) -> int:
    """Delete the referenced files, and files named as the web chat named uploads before
    the media store (``<participant id>-<32 hex>``)."""
    legacy = re.compile(rf"^{participant_id}-[0-9a-f]{{32}}$")
    names = set(referenced)
    if media_dir.is_dir():
        names.update(entry.name for entry in os.scandir(media_dir) if legacy.match(entry.name))
    deleted = 0
    for name in names:
        try:
            (media_dir / name).unlink()
        except FileNotFoundError:
            continue
        deleted += 1
    return deleted
