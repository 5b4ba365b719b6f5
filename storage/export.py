"""Everything kept about one person, gathered for their copy of it (``/privacy``).

:func:`collect` reads it in one transaction and returns the ``data.json`` document (stable
English keys, described in the README under "Privacy") and the stored files it refers
to. What is in it, and what is not:

- the person: platform, language, the platform name we keep, consent version and time;
- an unfinished story or pledge (the conversation's draft, as stored);
- every story with all its revisions: the storyteller's own and those a moderator
  redacted (they are what would be published about the person), marked by whom
  (``storyteller`` or ``moderator``, never which moderator);
- the story's photos, voice notes and videos: the files the bot stored, under
  ``media/``; files that stayed on a chat platform are listed with ``"file": null``;
- what moderation decided about each story (state changes, their time and reason code,
  the kinds of screening flags), never a moderator's identity or internal note;
- pledges, with the name and country given;
- the readers' thanks each story received (those delivered to them: the words and the
  name the reader signed with, nothing else of the reader);
- the web chat transcript.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage import thanks
from storage.models import (
    Conversation,
    ModerationEvent,
    ModerationItem,
    Participant,
    Pledge,
    Publication,
    Story,
    StoryMedia,
    StoryRevision,
    Thanks,
    WebChatMessage,
)

FORMAT = "together-bot-export"
FORMAT_VERSION = 1
LOCAL_PREFIX = "local:"
# Roles in the audit log, as the export names them (never the person acting).
_BY_ROLE = {
    "storyteller": "storyteller",
    "system": "system",
    "moderator": "moderator",
    "safety_moderator": "moderator",
    "lead": "moderator",
}


@dataclass(frozen=True, slots=True)
class ExportFile:
    """A stored media file going into the archive.

    Args:
        name: its name in the media store (a ``local:`` reference without the prefix).
        path: where it goes in the archive (``media/story-3-1.jpg``).
    """

    name: str
    path: str


@dataclass(frozen=True, slots=True)
class PersonalData:
    """A person's data: the ``data.json`` document, the files it names, and counts."""

    document: dict[str, Any]
    files: tuple[ExportFile, ...]
    story_states: tuple[str, ...]
    pledges: int
    transcript_messages: int


@dataclass(eq=False)
class _Files:
    """Gives each stored file one archive path, however many places refer to it."""

    paths: dict[str, str] = field(default_factory=dict)

    def add(self, media: Mapping[str, Any], stem: str) -> str | None:
        ref = str(media.get("ref") or "")
        name = ref.removeprefix(LOCAL_PREFIX)
        if not ref.startswith(LOCAL_PREFIX) or not _plain_name(name):
            return None
        if name not in self.paths:
            self.paths[name] = f"media/{stem}{_extension(media.get('mime'), name)}"
        return self.paths[name]

    def entry(self, media: Mapping[str, Any], stem: str) -> dict[str, Any]:
        path = self.add(media, stem)
        return {
            "kind": media.get("kind"),
            "mime": media.get("mime"),
            "size_bytes": media.get("size"),
            "duration_seconds": media.get("duration"),
            "file": path,
            "kept_on": None if path is not None else media.get("platform"),
        }


def _plain_name(name: str) -> bool:
    """A bare file name (no directory part, nothing hidden): never a path out of the store."""
    return bool(name) and PurePosixPath(name).name == name and not name.startswith(".")


def _extension(mime: object, name: str) -> str:
    guessed = mimetypes.guess_extension(str(mime)) if mime else None
    if guessed == ".jpe":
        guessed = ".jpg"
    return guessed or PurePosixPath(name).suffix


def _time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


async def collect(
    session: AsyncSession, participant: Participant, *, now: datetime | None = None
) -> PersonalData:
    """Everything kept about ``participant``, as their export holds it."""
    assert participant.id is not None
    pid = participant.id
    files = _Files()
    stories = (
        (
            await session.execute(
                select(Story).where(col(Story.participant_id) == pid).order_by(col(Story.id))
            )
        )
        .scalars()
        .all()
    )
    story_documents = [await _story(session, story, files) for story in stories]
    pledges = (
        (
            await session.execute(
                select(Pledge)
                .where(
                    or_(
                        col(Pledge.identity_key) == participant.identity_key,
                        col(Pledge.participant_id) == pid,
                    )
                )
                .order_by(col(Pledge.id))
            )
        )
        .scalars()
        .all()
    )
    transcript = (
        (
            await session.execute(
                select(WebChatMessage)
                .where(col(WebChatMessage.participant_id) == pid)
                .order_by(col(WebChatMessage.id))
            )
        )
        .scalars()
        .all()
    )
    conversation = (
        await session.execute(select(Conversation).where(col(Conversation.participant_id) == pid))
    ).scalar_one_or_none()
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": _time(now or datetime.now(UTC)),
        "person": {
            "platform": participant.platform,
            "language": participant.locale,
            "language_from_platform": participant.locale_hint,
            "name_from_platform": participant.display_name,
            "joined_at": _time(participant.created_at),
            "consent": {
                "version": participant.consent_version,
                "given_at": _time(participant.consent_at),
            },
            "story_last_begun_at": _time(participant.story_started_at),
            # None: never answered the question after the pledge.
            "milestone_updates": {
                "wanted": participant.updates,
                "answered_at": _time(participant.updates_at),
            },
            "thanks_from_readers": participant.thanks_enabled,
            # WhatsApp's 24-hour window: their last message, the last template sent.
            "last_message_at": _time(participant.last_inbound_at),
            "last_template_at": _time(participant.template_at),
            "referral": participant.referral,
        },
        "unfinished": _unfinished(conversation, files),
        "stories": story_documents,
        "pledges": [_pledge(p) for p in pledges],
        "web_chat_transcript": [_message(m, n, files) for n, m in enumerate(transcript, 1)],
    }
    return PersonalData(
        document=document,
        files=tuple(ExportFile(name, path) for name, path in files.paths.items()),
        story_states=tuple(story.state for story in stories),
        pledges=len(pledges),
        transcript_messages=len(transcript),
    )


async def _story(session: AsyncSession, story: Story, files: _Files) -> dict[str, Any]:
    assert story.id is not None
    revisions = await _rows(session, StoryRevision, col(StoryRevision.story_id) == story.id)
    media = (
        (
            await session.execute(
                select(StoryMedia)
                .where(col(StoryMedia.story_id) == story.id)
                .order_by(col(StoryMedia.position))
            )
        )
        .scalars()
        .all()
    )
    item = (
        await session.execute(
            select(ModerationItem).where(col(ModerationItem.story_id) == story.id)
        )
    ).scalar_one_or_none()
    events = (
        await _rows(session, ModerationEvent, col(ModerationEvent.item_id) == item.id)
        if item is not None
        else []
    )
    publications = await _rows(session, Publication, col(Publication.story_id) == story.id)
    return {
        "id": story.id,
        "state": story.state,
        "language": story.locale,
        "submitted_at": _time(story.submitted_at),
        "updated_at": _time(story.updated_at),
        "credit": {"mode": story.credit_mode, "name": story.credit_name},
        "origin_country": story.origin_country,
        "current_country": story.current_country,
        "community_message": story.community_message,
        "adult": story.is_adult,
        "consent_version": story.consent_version,
        "guardian_consent_at": _time(story.guardian_consent_at),
        "revisions": [
            {
                "number": r.number,
                "by": "storyteller" if r.author == "storyteller" else "moderator",
                "created_at": _time(r.created_at),
                "text": r.text,
            }
            for r in sorted(revisions, key=lambda r: r.number)
        ],
        "media": [
            files.entry(
                {
                    "ref": m.ref,
                    "kind": m.kind,
                    "mime": m.mime,
                    "size": m.size,
                    "duration": m.duration,
                    "platform": m.platform,
                },
                f"story-{story.id}-{m.position + 1}",
            )
            for m in media
        ],
        "moderation": {
            "screening_flags": sorted({str(f.get("kind")) for f in (item.flags if item else [])}),
            "history": [
                {
                    "at": _time(e.created_at),
                    "action": e.action,
                    "from_state": e.from_state,
                    "to_state": e.to_state,
                    "by": _BY_ROLE.get(e.role, "moderator"),
                    "reason_code": e.reason_code,
                }
                for e in events
            ],
        },
        "published_on": sorted({p.platform for p in publications}),
        "thanks_received": [_thanks_received(t) for t in await thanks.received(session, story.id)],
    }


async def _rows(session: AsyncSession, table: Any, where: Any) -> list[Any]:
    return list((await session.execute(select(table).where(where))).scalars().all())


def _unfinished(conversation: Conversation | None, files: _Files) -> dict[str, Any] | None:
    if conversation is None or not (conversation.flow or conversation.draft):
        return None
    draft = dict(conversation.draft or {})
    media = draft.pop("media", None)
    if isinstance(media, list):
        draft["media"] = [files.entry(m, f"unfinished-{n}") for n, m in enumerate(_dicts(media), 1)]
    return {
        "flow": conversation.flow,
        "step": conversation.step,
        "answers": draft,
        "last_activity_at": _time(conversation.last_activity_at),
    }


def _pledge(pledge: Pledge) -> dict[str, Any]:
    return {
        "campaign": pledge.campaign_id,
        "state": pledge.state,
        "name": pledge.display_name,
        "country": pledge.country,
        "referral": pledge.referral,
        "pledged_at": _time(pledge.created_at),
        "withdrawn_at": _time(pledge.withdrawn_at),
    }


def _thanks_received(row: Thanks) -> dict[str, Any]:
    return {"text": row.text, "phrase": row.phrase, "signed": row.signed}


def _message(row: WebChatMessage, number: int, files: _Files) -> dict[str, Any]:
    payload = row.payload if isinstance(row.payload, dict) else {}
    return {
        "at": _time(row.created_at),
        "from": "you" if row.sender == "user" else "bot",
        "text": payload.get("text") or "",
        "media": [
            files.entry(m, f"chat-{number}-{n}")
            for n, m in enumerate(_dicts(payload.get("media")), 1)
        ],
    }


def _dicts(value: object) -> Iterable[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
