"""Outbox rows written by moderation: storyteller notices and publication jobs.

Payloads carry ids and codes only, never story text: the bot renders a notice in the
person's language when it sends it, and the publisher loads the approved revision then.

A post already made in a publication channel stays true to the moderator's choices
(:func:`update_posts`): when the photo it carries is hidden (or another becomes the one
to carry) it is taken down and posted again, so a face a moderator unpublished never
stays in the channel; when only its words change (the title, the photo's description)
it is edited in place. Those jobs are keyed ``publish:<story>:...``, so whatever stops a
publication (a take-down, a withdrawal, an erasure) stops them too.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import OutboxMessage, OutboxStatus, Participant, Publication, StoryMedia
from storage.outbox import enqueue


class NoticeKind(enum.StrEnum):
    RECEIVED = "received"
    NEEDS_CHANGES = "needs_changes"
    REJECTED = "rejected"
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"


@dataclass(frozen=True, slots=True)
class Channel:
    """Where approved stories are published (the web feed, a Telegram channel...)."""

    platform: str
    chat_id: str

    @property
    def key(self) -> str:
        return f"{self.platform}/{self.chat_id}"


FEED = Channel(platform="feed", chat_id="public")
"""The public web feed: always a publication channel unless the caller says otherwise."""


async def notify_storyteller(
    session: AsyncSession,
    *,
    story_id: int,
    participant_id: int | None,
    version: int,
    kind: NoticeKind,
    reason: str | None = None,
) -> None:
    """Queue a notice to the storyteller (nothing if they are gone)."""
    if participant_id is None:
        return
    person = (
        await session.execute(
            select(col(Participant.platform), col(Participant.chat_id)).where(
                col(Participant.id) == participant_id
            )
        )
    ).one_or_none()
    if person is None:
        return
    await enqueue(
        session,
        dedupe_key=f"notify:{story_id}:{version}:{kind.value}",
        platform=person.platform,
        chat_id=person.chat_id,
        participant_id=participant_id,
        payload={"notification": {"kind": kind.value, "story_id": story_id, "reason": reason}},
    )


async def take_down_post(session: AsyncSession, post: Publication, *, because: str) -> None:
    """Queue the removal of one channel post and forget it; keyed by the post and
    ``because`` (a change, or the post's own message id), so a later take-down of a
    story posted again is never mistaken for a repeat of this one."""
    channel = Channel(post.platform, post.chat_id)
    await enqueue(
        session,
        dedupe_key=f"takedown:{post.story_id}:{channel.key}:{because}",
        platform=post.platform,
        chat_id=post.chat_id,
        payload={"takedown": {"story_id": post.story_id, "message_id": post.message_id}},
    )
    await session.delete(post)


async def enqueue_publication(
    session: AsyncSession,
    *,
    story_id: int,
    item_id: int,
    revision_id: int,
    content_hash: str,
    channels: tuple[Channel, ...],
) -> None:
    """Queue one publication job per channel for the approved revision."""
    for channel in channels:
        await enqueue(
            session,
            dedupe_key=f"publish:{story_id}:{revision_id}:{channel.key}",
            platform=channel.platform,
            chat_id=channel.chat_id,
            payload={
                "publish": {
                    "story_id": story_id,
                    "item_id": item_id,
                    "revision_id": revision_id,
                    "content_hash": content_hash,
                }
            },
        )


LOCAL = "local:"  # a file of the media store (see bot.core.media)


class PostedFile(Protocol):
    """What :func:`post_photo` reads of a file (a ``StoryMedia`` row or a :class:`Shown`)."""

    @property
    def kind(self) -> str: ...

    @property
    def ref(self) -> str: ...

    @property
    def platform(self) -> str: ...


F = TypeVar("F", bound=PostedFile)


@dataclass(frozen=True, slots=True)
class Shown:
    """A published file as a post may show it, taken before or after a change."""

    id: int | None
    kind: str
    ref: str
    platform: str
    alt: str | None

    @classmethod
    def of(cls, row: StoryMedia) -> Shown:
        return cls(row.id, row.kind, row.ref, row.platform, row.alt_text)


def post_photo(files: Sequence[F], platform: str) -> F | None:
    """The photo a post on ``platform`` carries: the first of the published ``files``
    (in order) that is a photo the platform can be sent (a media store file, or the
    platform's own file id)."""
    for file in files:
        if file.kind == "photo" and (file.ref.startswith(LOCAL) or file.platform == platform):
            return file
    return None


async def update_posts(
    session: AsyncSession,
    *,
    story_id: int,
    item_id: int,
    change: str,
    before: Sequence[Shown],
    after: Sequence[Shown],
    words_changed: bool,
    only: Channel | None = None,
) -> int:
    """Queue what keeps the story's channel posts true to a presentation change.

    Args:
        session: the decision's transaction.
        story_id: the story.
        item_id: its queue item.
        change: names the change, unique (each change gets its own jobs): ``e<id>`` of
            the decision's audit event, ``o<id>`` of the outbox row of a post that
            went out as the change was made.
        before: the story's published files before the change, in order.
        after: the same, after it.
        words_changed: the post's text changed (the title, the description of the
            photo it carries).
        only: the one channel whose post to update (default: every channel's).

    Returns:
        How many posts get a job.
    """
    posts = (
        (await session.execute(select(Publication).where(col(Publication.story_id) == story_id)))
        .scalars()
        .all()
    )
    queued = 0
    for post in posts:
        if only is not None and (post.platform, post.chat_id) != (only.platform, only.chat_id):
            continue
        was, now = post_photo(before, post.platform), post_photo(after, post.platform)
        channel = Channel(post.platform, post.chat_id)
        if (was.id if was else None) != (now.id if now else None):
            # A photo cannot be taken off a post: the post goes, and comes back without it.
            await take_down_post(session, post, because=change)
            await enqueue(
                session,
                dedupe_key=f"publish:{story_id}:repost:{change}:{channel.key}",
                platform=post.platform,
                chat_id=post.chat_id,
                payload={"repost": {"story_id": story_id, "item_id": item_id}},
            )
        elif words_changed or (was is not None and now is not None and was.alt != now.alt):
            await enqueue(
                session,
                dedupe_key=f"publish:{story_id}:edit:{change}:{channel.key}",
                platform=post.platform,
                chat_id=post.chat_id,
                payload={"post_edit": {"story_id": story_id, "item_id": item_id}},
            )
        else:
            continue
        queued += 1
    return queued


async def cancel_publication(session: AsyncSession, *, story_id: int) -> None:
    """Stop pending publication jobs of a story (withdrawn, unpublished, erased)."""
    await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.dedupe_key).startswith(f"publish:{story_id}:"),
            col(OutboxMessage.status) == OutboxStatus.PENDING.value,
        )
        .values(status=OutboxStatus.CANCELLED.value, last_error="cancelled")
        .execution_options(synchronize_session=False)
    )


async def scrub_messages(session: AsyncSession, *, story_id: int) -> None:
    """On erasure: empty every outbox payload about the story (notes may quote it)."""
    about_story = or_(
        col(OutboxMessage.dedupe_key).startswith(f"publish:{story_id}:"),
        col(OutboxMessage.dedupe_key).startswith(f"notify:{story_id}:"),
    )
    await session.execute(
        update(OutboxMessage)
        .where(about_story, col(OutboxMessage.status) == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.CANCELLED.value, last_error="erased")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(OutboxMessage)
        .where(about_story)
        .values(payload={"erased": True})
        .execution_options(synchronize_session=False)
    )
