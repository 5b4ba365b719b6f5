"""A submitted story enters the queue: RECEIVED, then screening routes it.

:func:`submit_story` (a new story) and :func:`revise_story` (its new version, asked for
by a moderator) are the one way a storyteller's text is stored: they write the rows,
hash and screen the text, and call :func:`receive_story`. All of it runs in the
caller's transaction, so the submission, the queue item, its audit events and the
"received" notice commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from moderation.actors import SYSTEM, Storyteller
from moderation.audit import append_event
from moderation.errors import NotAllowed, Refusal
from moderation.flags import ScreeningResult
from moderation.notify import NoticeKind, notify_storyteller
from moderation.revisions import content_hash, screened_text
from moderation.screening_api import Screening
from moderation.states import Action
from moderation.transitions import CLEAR_LEASE, check, item_of, load, transition
from storage.models import (
    ModerationItem,
    Story,
    StoryKind,
    StoryMedia,
    StoryRevision,
    StoryState,
    utcnow,
)

PRIORITY_NORMAL = 0
PRIORITY_SAFETY = 100
AUTHOR = "storyteller"


@dataclass(frozen=True, slots=True)
class StoryFields:
    """What a storyteller chose for their story, besides its text and files.

    Args:
        credit_mode: a ``CreditMode`` value: how the story is credited.
        credit_name: the name to credit, when named.
        origin_country: where they come from, an ISO code, if told.
        current_country: where they live now, an ISO code, if told.
        community_message: one line to the host community, if any.
        is_adult: whether the storyteller is 18 or older (False: a child's story,
            shared by an adult).
        consent_version: the version of the terms they agreed to.
        kind: a ``StoryKind`` value: a migrant's own story, a host community's, a film.
        guardian_consent: an adult sharing a child's story declared they are the
            child's parent, guardian or teacher and the child agrees; recorded as the
            story's ``guardian_consent_at``.
        files_not_received: files they sent that could not be downloaded (they were
            asked to send them again).
    """

    credit_mode: str
    credit_name: str | None
    origin_country: str | None
    current_country: str | None
    community_message: str | None
    is_adult: bool
    consent_version: str
    kind: str = StoryKind.MIGRANT.value
    guardian_consent: bool = False
    files_not_received: int = 0


class MediaFile(Protocol):
    """A file sent with a story, as the chat describes it (the bot's ``MediaRef``)."""

    @property
    def kind(self) -> str: ...

    @property
    def ref(self) -> str: ...

    @property
    def mime(self) -> str | None: ...

    @property
    def size(self) -> int | None: ...

    @property
    def duration(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Submitted:
    """A story, or its new version, stored and in the queue.

    Args:
        story: the story.
        revision: the revision just stored, the item's current one.
        item: its queue item, in PENDING_REVIEW or SAFETY_REVIEW.
        screening: what screening found in the revision's text and the message.
    """

    story: Story
    revision: StoryRevision
    item: ModerationItem
    screening: ScreeningResult


def needs_safety_review(story: Story, screening: ScreeningResult) -> bool:
    # A minor goes to the safety queue even if the screener was not told the age.
    return screening.needs_safety_review or not story.is_adult


def screening_values(story: Story, screening: ScreeningResult) -> dict[str, object]:
    """The item columns that follow from a screening result."""
    safety = needs_safety_review(story, screening)
    return {
        "flags": [flag.to_json() for flag in screening.flags],
        "priority": PRIORITY_SAFETY if safety else PRIORITY_NORMAL,
    }


async def receive_story(
    session: AsyncSession,
    *,
    story: Story,
    revision: StoryRevision,
    screening: ScreeningResult,
) -> ModerationItem:
    """Put a submitted story (or its resubmission after NEEDS_CHANGES) in the queue.

    Args:
        session: the caller's transaction; ``story`` and ``revision`` are flushed in it.
        story: the submitted story.
        revision: its newest revision, the one that was screened.
        screening: what screening found in ``revision.text``.

    Returns:
        The item, in PENDING_REVIEW, or SAFETY_REVIEW (high priority) when screening
        asks for it or the storyteller is a minor.

    Raises:
        NotAllowed: the story already has an item that is not waiting for changes.
    """
    if story.id is None or revision.id is None or revision.story_id != story.id:
        raise ValueError("flush the story and its revision first")
    flag_ids = [flag.id for flag in screening.flags]
    item_id = await item_of(session, story.id)

    if item_id is None:
        item = ModerationItem(
            story_id=story.id,
            state=StoryState.RECEIVED.value,
            version=1,
            locale=story.locale,
            revision_id=revision.id,
            **screening_values(story, screening),  # type: ignore[arg-type]
        )
        session.add(item)
        await session.flush()
        if item.id is None:
            raise RuntimeError("the item got no id")
        item_id = item.id
        await append_event(
            session,
            item_id=item_id,
            from_state=None,
            to_state=StoryState.RECEIVED,
            actor=SYSTEM.actor,
            role=SYSTEM.role,
            action=Action.RECEIVE,
            revision_hash=revision.content_hash,
            flag_ids=flag_ids,
        )
    else:
        if story.participant_id is None:
            raise NotAllowed(Refusal.NOT_OWNER, item_id=item_id)
        storyteller = Storyteller(participant_id=story.participant_id)
        view = await load(session, item_id)
        await check(session, view, storyteller, Action.RESUBMIT, None)
        await transition(
            session,
            view,
            actor=storyteller,
            action=Action.RESUBMIT,
            to_state=StoryState.RECEIVED,
            values={
                **CLEAR_LEASE,
                "revision_id": revision.id,
                **screening_values(story, screening),
            },
            revision_hash=revision.content_hash,
            flag_ids=flag_ids,
        )

    target = (
        StoryState.SAFETY_REVIEW
        if needs_safety_review(story, screening)
        else StoryState.PENDING_REVIEW
    )
    view = await load(session, item_id)
    decision = await transition(
        session,
        view,
        actor=SYSTEM,
        action=Action.SCREEN,
        to_state=target,
        revision_hash=revision.content_hash,
        flag_ids=flag_ids,
    )
    story.state = target.value
    await notify_storyteller(
        session,
        story_id=story.id,
        participant_id=story.participant_id,
        version=decision.version,
        kind=NoticeKind.RECEIVED,
    )
    return (await load(session, item_id)).item


async def submit_story(
    session: AsyncSession,
    *,
    participant_id: int,
    locale: str,
    fields: StoryFields,
    text: str,
    media: Sequence[MediaFile],
    platform: str,
    screener: Screening,
) -> Submitted:
    """Store a new story, its first revision and its files, screen it, and queue it.

    Args:
        session: the caller's transaction.
        participant_id: the storyteller.
        locale: the language they told it in.
        fields: what they chose besides the text.
        text: the story's text.
        media: its files, in the order they were sent.
        platform: where the files' references are valid (``telegram``, ``slack``...).
        screener: screening for the text and the message.
    """
    now = utcnow()
    story = Story(
        participant_id=participant_id,
        locale=locale,
        credit_mode=fields.credit_mode,
        credit_name=fields.credit_name,
        origin_country=fields.origin_country,
        current_country=fields.current_country,
        community_message=fields.community_message,
        is_adult=fields.is_adult,
        consent_version=fields.consent_version,
        guardian_consent_at=now if fields.guardian_consent else None,
        submitted_at=now,
        updated_at=now,
        kind=StoryKind(fields.kind).value,
        files_not_received=max(0, fields.files_not_received),
    )
    session.add(story)
    await session.flush()
    if story.id is None:
        raise RuntimeError("the story got no id")
    revision = StoryRevision(
        story_id=story.id, number=1, text=text, content_hash=content_hash(text), author=AUTHOR
    )
    session.add(revision)
    for position, file in enumerate(media):
        session.add(
            StoryMedia(
                story_id=story.id,
                position=position,
                kind=str(file.kind),
                platform=platform,
                ref=file.ref,
                mime=file.mime,
                size=file.size,
                duration=file.duration,
            )
        )
    await session.flush()
    return await _screen_and_receive(session, story, revision, screener)


async def revise_story(
    session: AsyncSession,
    *,
    story_id: int,
    participant_id: int,
    text: str,
    screener: Screening,
) -> Submitted:
    """Store the storyteller's new version of a story sent back to them, and requeue it.

    The files stay as they were; the new revision replaces the text.

    Args:
        session: the caller's transaction.
        story_id: the story.
        participant_id: who sends the new version.
        text: the new text.
        screener: screening for the text and the story's message.

    Raises:
        NotAllowed: no such story, someone else's, or not waiting for changes; nothing
            was stored.
    """
    item_id = await item_of(session, story_id)
    if item_id is None:
        raise NotAllowed(Refusal.NOT_FOUND)
    view = await load(session, item_id)
    # Checked before the revision is written, so a refused version leaves no text behind.
    await check(session, view, Storyteller(participant_id), Action.RESUBMIT, None)
    story = view.story
    last = (
        await session.execute(
            select(func.max(col(StoryRevision.number))).where(
                col(StoryRevision.story_id) == story_id
            )
        )
    ).scalar_one()
    revision = StoryRevision(
        story_id=story_id,
        number=int(last or 0) + 1,
        text=text,
        content_hash=content_hash(text),
        author=AUTHOR,
    )
    session.add(revision)
    await session.flush()
    return await _screen_and_receive(session, story, revision, screener)


async def _screen_and_receive(
    session: AsyncSession, story: Story, revision: StoryRevision, screener: Screening
) -> Submitted:
    screening = await screener.screen(
        screened_text(revision.text, story.community_message),
        locale=story.locale,
        is_adult=story.is_adult,
        region_hint=story.current_country,
    )
    item = await receive_story(session, story=story, revision=revision, screening=screening)
    return Submitted(story=story, revision=revision, item=item, screening=screening)
