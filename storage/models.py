"""SQLModel tables.

Every timestamp is stored as a timezone-aware UTC datetime. JSON columns hold small
structured values (drafts, payloads, flags); anything queried is a real column.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Participant(SQLModel, table=True):
    """A person on one platform: a storyteller, a supporter, or both."""

    __tablename__ = "participant"
    __table_args__ = (
        UniqueConstraint("platform", "external_id"),
        Index("ix_participant_updates", "updates", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    chat_id: str = Field(max_length=128)
    # Keyed hash of platform + external id: the identity used for dedupe (pledges).
    identity_key: str = Field(max_length=64, index=True)
    display_name: str | None = Field(default=None, max_length=128)
    locale: str | None = Field(default=None, max_length=16)  # explicit choice
    locale_hint: str | None = Field(default=None, max_length=64)  # platform's hint
    consent_version: str | None = Field(default=None, max_length=16)
    consent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # When they last began a story (the Stats page's funnel): a time, nothing written.
    story_started_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    referral: str | None = Field(default=None, max_length=64)
    reachable: bool = Field(default=True)
    # Whether readers' thank-you messages reach them (a storyteller may turn them off).
    thanks_enabled: bool = Field(default=True)
    # Whether they want to hear of the pledge's milestones: asked once after the pledge
    # (None until answered), turned off with /updates off.
    updates: bool | None = Field(default=None)
    updates_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # When they last wrote (WhatsApp: a free-form message reaches them within 24 hours of
    # it) and when a template last asked them back (bot/adapters/whatsapp/window.py).
    last_inbound_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    template_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Conversation(SQLModel, table=True):
    """Where a participant is in a flow. Written at every step."""

    __tablename__ = "conversation"

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", unique=True, ondelete="CASCADE")
    flow: str | None = Field(default=None, max_length=32)
    step: str | None = Field(default=None, max_length=32)
    draft: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    history: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    version: int = Field(default=0)
    last_activity_at: datetime = Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), index=True
    )
    reminded_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class StoryState(enum.StrEnum):
    """The moderation states of a story (see MODERATION.md)."""

    DRAFT = "DRAFT"
    RECEIVED = "RECEIVED"
    PENDING_REVIEW = "PENDING_REVIEW"
    SAFETY_REVIEW = "SAFETY_REVIEW"
    NEEDS_CHANGES = "NEEDS_CHANGES"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    PUBLISHED = "PUBLISHED"
    UNPUBLISHED = "UNPUBLISHED"
    WITHDRAWN = "WITHDRAWN"
    ERASED = "ERASED"


class StoryKind(enum.StrEnum):
    """Whose story it is: a migrant's own, a host community's welcome, a short film."""

    MIGRANT = "migrant"
    HOST_COMMUNITY = "host_community"
    FILM = "film"


class CreditMode(enum.StrEnum):
    FULL_NAME = "full_name"
    FIRST_NAME = "first_name"
    ANONYMOUS = "anonymous"


class Story(SQLModel, table=True):
    """A submitted story. Its text lives in :class:`StoryRevision` rows."""

    __tablename__ = "story"

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int | None = Field(
        default=None, foreign_key="participant.id", index=True, ondelete="SET NULL"
    )
    locale: str = Field(max_length=16)
    credit_mode: str = Field(max_length=16)
    credit_name: str | None = Field(default=None, max_length=128)
    origin_country: str | None = Field(default=None, max_length=8)
    current_country: str | None = Field(default=None, max_length=8)
    community_message: str | None = Field(default=None, max_length=300)
    kind: str = Field(default=StoryKind.MIGRANT.value, max_length=16, index=True)
    # Set by a moderator; the wall shows the first sentence otherwise.
    title: str | None = Field(default=None, max_length=120)
    is_adult: bool = Field(default=True)
    consent_version: str = Field(max_length=16)
    # When an adult sharing a child's story confirmed they are the child's parent,
    # guardian or teacher and the child agrees; None for a storyteller's own story.
    guardian_consent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # Files the storyteller sent that could not be downloaded (they were asked to send
    # them again): the moderators' card says so, rather than showing a broken file.
    files_not_received: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    state: str = Field(default=StoryState.RECEIVED.value, max_length=24, index=True)
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class StoryRevision(SQLModel, table=True):
    """Append-only text of a story. A redaction is a new revision; none is updated."""

    __tablename__ = "story_revision"
    __table_args__ = (UniqueConstraint("story_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(foreign_key="story.id", index=True, ondelete="CASCADE")
    number: int
    text: str
    content_hash: str = Field(max_length=64)
    author: str = Field(max_length=64)  # "storyteller" or "moderator:<id>"
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class StoryMedia(SQLModel, table=True):
    """A photo, voice note, video or document attached to a story."""

    __tablename__ = "story_media"

    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(foreign_key="story.id", index=True, ondelete="CASCADE")
    position: int
    kind: str = Field(max_length=16)
    platform: str = Field(max_length=16)
    ref: str = Field(max_length=512)
    mime: str | None = Field(default=None, max_length=128)
    size: int | None = Field(default=None, sa_type=BigInteger)
    duration: int | None = None
    # Published only when a moderator chose it (a face, a place can identify someone).
    publish: bool = Field(default=False)
    alt_text: str | None = Field(default=None, max_length=300)  # by the moderator
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class StoryStats(SQLModel, table=True):
    """How often a published story was read and thanked: aggregates only, no reader."""

    __tablename__ = "story_stats"

    story_id: int = Field(foreign_key="story.id", primary_key=True, ondelete="CASCADE")
    reads: int = Field(default=0, sa_type=BigInteger)
    thanks: int = Field(default=0, sa_type=BigInteger)
    last_read_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ThanksState(enum.StrEnum):
    PENDING = "pending"  # screened, waiting for a moderator's pass
    PASSED = "passed"  # on its way to the storyteller
    REJECTED = "rejected"
    DELIVERED = "delivered"


class Thanks(SQLModel, table=True):
    """A reader's short thank-you to a storyteller, moderated before it reaches them.

    The reader is kept only as a keyed hash (to limit how many they send) and the first
    name they chose to sign with, if any: the storyteller never learns who they are.
    """

    __tablename__ = "thanks"

    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(foreign_key="story.id", index=True, ondelete="CASCADE")
    text: str = Field(max_length=300)
    phrase: str | None = Field(default=None, max_length=32)  # a ready phrase's id
    signed: str | None = Field(default=None, max_length=40)  # the reader's chosen name
    reader_key: str = Field(max_length=64, index=True)
    locale: str = Field(max_length=16)
    state: str = Field(default=ThanksState.PENDING.value, max_length=16, index=True)
    flags: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    decided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    decided_by: str | None = Field(default=None, max_length=64)


class Campaign(SQLModel, table=True):
    """A pledge campaign. Partner organisations run their own with their own link.

    ``pledge_text`` maps a locale to the text; the default campaign's text comes from
    the message catalogs instead (it is ``None`` here).
    """

    __tablename__ = "campaign"

    id: str = Field(primary_key=True, max_length=48)
    title: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    pledge_text: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    # The pledge is open from ``starts_at`` until before ``ends_at`` (each open-ended
    # when None); outside, a link to it offers the default pledge.
    starts_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    ends_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Milestone(SQLModel, table=True):
    """A pledge-count threshold of a campaign; ``reached_at`` is set exactly once."""

    __tablename__ = "milestone"

    campaign_id: str = Field(foreign_key="campaign.id", primary_key=True, ondelete="CASCADE")
    threshold: int = Field(primary_key=True, sa_type=BigInteger)
    reached_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # The broadcast to supporters who want updates: the last participant id queued
    # (committed with each batch, so a crash resumes there), and when all were queued.
    announce_cursor: int | None = Field(default=None)
    announced_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class PledgeState(enum.StrEnum):
    CONFIRMED = "confirmed"
    HELD = "held"
    WITHDRAWN = "withdrawn"


class Pledge(SQLModel, table=True):
    """One pledge per identity per campaign."""

    __tablename__ = "pledge"
    __table_args__ = (UniqueConstraint("campaign_id", "identity_key"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(foreign_key="campaign.id", ondelete="CASCADE")
    identity_key: str = Field(max_length=64)
    participant_id: int | None = Field(
        default=None, foreign_key="participant.id", index=True, ondelete="SET NULL"
    )
    state: str = Field(default=PledgeState.CONFIRMED.value, max_length=16)
    display_name: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=8)
    referral: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    withdrawn_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class PledgeCounter(SQLModel, table=True):
    """Confirmed pledges of a campaign, spread over shard rows; the total is their sum."""

    __tablename__ = "pledge_counter"

    campaign_id: str = Field(foreign_key="campaign.id", primary_key=True, ondelete="CASCADE")
    shard: int = Field(primary_key=True)
    count: int = Field(default=0, sa_type=BigInteger)


class ProcessedEvent(SQLModel, table=True):
    """An inbound event already handled, by its platform key (dedupe)."""

    __tablename__ = "processed_event"

    platform: str = Field(primary_key=True, max_length=16)
    key: str = Field(primary_key=True, max_length=128)
    created_at: datetime = Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), index=True
    )


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # given up: unreachable recipient, permanent error, too many tries
    # Deliberately not sent (erased, withdrawn, no longer wanted): not a failure, and
    # purged with the sent rows.
    CANCELLED = "cancelled"


class OutboxMessage(SQLModel, table=True):
    """A message that is not a direct reply, delivered by the dispatcher with retries."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    platform: str = Field(max_length=16)
    chat_id: str = Field(max_length=128)
    participant_id: int | None = Field(
        default=None, foreign_key="participant.id", ondelete="SET NULL"
    )
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default=OutboxStatus.PENDING.value, max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    locked_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # A hash of the platform's id of the message sent (WhatsApp's encodes the number), so
    # a delivery status finds its row; the last status reported (sent, delivered, read,
    # failed).
    message_key: str | None = Field(default=None, max_length=64, index=True)
    receipt: str | None = Field(default=None, max_length=16)


class WebChatMessage(SQLModel, table=True):
    """The transcript of a web-chat session, so the page can show it and poll for more."""

    __tablename__ = "webchat_message"

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    sender: str = Field(max_length=8)  # "bot" or "user"
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ModerationItem(SQLModel, table=True):
    """A story's place in the moderation queue (one per story)."""

    __tablename__ = "moderation_item"

    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(foreign_key="story.id", unique=True, ondelete="CASCADE")
    state: str = Field(max_length=24, index=True)
    version: int = Field(default=1)
    priority: int = Field(default=0, index=True)  # higher first; safety items are high
    locale: str = Field(max_length=16)
    revision_id: int | None = Field(default=None, foreign_key="story_revision.id")
    flags: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_token: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    appealed: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ModerationEvent(SQLModel, table=True):
    """Append-only, hash-chained audit log of every moderation state change."""

    __tablename__ = "moderation_event"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="moderation_item.id", index=True)
    from_state: str | None = Field(default=None, max_length=24)
    to_state: str = Field(max_length=24)
    actor: str = Field(max_length=64)
    role: str = Field(max_length=24)
    # What was done (approve, redact, takeover...): some actions keep the state.
    action: str | None = Field(default=None, max_length=24)
    reason_code: str | None = Field(default=None, max_length=48)
    note: str | None = Field(default=None, max_length=500)
    revision_hash: str | None = Field(default=None, max_length=64)
    flag_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


ALL_TABLES = SQLModel.metadata


class ModeratorRecord(SQLModel, table=True):
    """A member of the moderation team, managed with ``together-bot moderators``.

    ``accounts`` lists the platform accounts that act as this moderator, as
    ``"<platform>:<external id>"`` (e.g. ``"telegram:12345"``, ``"slack:U0123"``).
    """

    __tablename__ = "moderator"

    id: str = Field(primary_key=True, max_length=54)
    role: str = Field(max_length=24)
    accounts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # A partner lead's one campaign (role "partner"): its numbers and nothing else.
    campaign_id: str | None = Field(default=None, max_length=48)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ModerationCard(SQLModel, table=True):
    """A message showing an item to moderators (a Telegram group card, a Slack card),
    edited in place after every decision, from any surface."""

    __tablename__ = "moderation_card"

    item_id: int = Field(foreign_key="moderation_item.id", primary_key=True, ondelete="CASCADE")
    platform: str = Field(primary_key=True, max_length=16)
    chat_id: str = Field(primary_key=True, max_length=128)
    message_id: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ThanksCard(SQLModel, table=True):
    """A message showing a reader's thank-you to moderators (a Telegram group card, a
    Slack card), edited in place once it is decided, from any surface."""

    __tablename__ = "thanks_card"

    thanks_id: int = Field(foreign_key="thanks.id", primary_key=True, ondelete="CASCADE")
    platform: str = Field(primary_key=True, max_length=16)
    chat_id: str = Field(primary_key=True, max_length=128)
    message_id: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ModerationRefusal(SQLModel, table=True):
    """An action refused (unknown moderator, wrong role, self-moderation...).

    Refusals change no state, so they stay out of the hash-chained log; they are kept
    here so that attempts by people who are not moderators are visible to leads.
    """

    __tablename__ = "moderation_refusal"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int | None = Field(default=None, index=True)
    actor: str = Field(max_length=140)  # "<platform>:<identity key prefix>" or a moderator id
    action: str = Field(max_length=24)
    refusal: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class DashboardToken(SQLModel, table=True):
    """A one-time sign-in link for the dashboard, or a signed-in session (by kind).

    Only a hash of each token is stored.
    """

    __tablename__ = "dashboard_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)  # "login" (one-time) or "session"
    moderator_id: str = Field(foreign_key="moderator.id", max_length=54, ondelete="CASCADE")
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Publication(SQLModel, table=True):
    """Where a published story was posted (a Telegram channel message...), so that
    unpublishing or erasure can take it down everywhere."""

    __tablename__ = "publication"

    story_id: int = Field(foreign_key="story.id", primary_key=True, ondelete="CASCADE")
    platform: str = Field(primary_key=True, max_length=16)
    chat_id: str = Field(primary_key=True, max_length=128)
    message_id: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ExportLink(SQLModel, table=True):
    """A one-time link to download a person's data (``/privacy``): valid for one
    download, for a short time. Only a hash of its token is stored."""

    __tablename__ = "export_link"

    token_hash: str = Field(primary_key=True, max_length=64)
    participant_id: int = Field(foreign_key="participant.id", index=True, ondelete="CASCADE")
    locale: str = Field(max_length=16)  # of the download page and the archive's README
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
