"""One-time links to a person's copy of their data (``/export/<token>``).

A link works for one download, for 24 hours; only the SHA-256 of its token is stored
(:class:`~storage.models.ExportLink`). Asking again replaces the earlier link, and
erasing one's data ends it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import Database
from storage.export import PersonalData, collect
from storage.models import ExportLink, Participant, utcnow
from storage.times import aware
from storage.tokens import new_token, token_hash

EXPORT_PATH = "/export"
EXPORT_TTL = timedelta(hours=24)


class _PublicSite(Protocol):
    @property
    def resolved_public_url(self) -> str: ...


class _HasSite(Protocol):
    """What a link needs of the application's dependencies: where the site is."""

    @property
    def settings(self) -> _PublicSite: ...


async def issue_export_link(
    session: AsyncSession,
    deps: _HasSite,
    participant_id: int,
    locale: str,
    *,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """A new one-time download link for a person, in the caller's transaction.

    The person's earlier links stop working (only the newest one does); links of anyone
    that expired a day ago are purged.

    Returns:
        The link and when it expires.
    """
    now = now or utcnow()
    await session.execute(
        delete(ExportLink).where(
            or_(
                col(ExportLink.participant_id) == participant_id,
                col(ExportLink.expires_at) < now - timedelta(days=1),
            )
        )
    )
    token = new_token()
    expires_at = now + EXPORT_TTL
    session.add(
        ExportLink(
            token_hash=token_hash(token),
            participant_id=participant_id,
            locale=locale,
            expires_at=expires_at,
            created_at=now,
        )
    )
    return f"{deps.settings.resolved_public_url}{EXPORT_PATH}/{token}", expires_at


async def forget_export_links(session: AsyncSession, participant_id: int) -> None:
    """End every link of a person (their erasure)."""
    await session.execute(
        delete(ExportLink).where(col(ExportLink.participant_id) == participant_id)
    )


async def known_link(db: Database, token: str) -> ExportLink | None:
    """The link of ``token`` whatever its state (live, expired or spent), or None."""
    async with db.transaction() as session:
        return await session.get(ExportLink, token_hash(token))


async def live_link(db: Database, token: str, *, now: datetime | None = None) -> ExportLink | None:
    """The link of ``token`` while it can be used (it is not spent here)."""
    now = now or utcnow()
    link = await known_link(db, token)
    if link is None or link.used_at is not None:
        return None
    return link if aware(link.expires_at) > now else None


async def linked_data(db: Database, link: ExportLink) -> PersonalData:
    """Everything kept about the link's person, as it is now (one transaction)."""
    async with db.transaction() as session:
        participant = await session.get(Participant, link.participant_id)
        assert participant is not None  # the link goes with the person (cascade)
        return await collect(session, participant)


async def spend_export_link(
    db: Database, token: str, *, now: datetime | None = None
) -> ExportLink | None:
    """Spend a link: its row, or None when it is unknown, expired or already used.
    Of two concurrent uses, exactly one succeeds."""
    now = now or utcnow()
    async with db.transaction() as session:
        spent = await session.execute(
            update(ExportLink)
            .where(
                col(ExportLink.token_hash) == token_hash(token),
                col(ExportLink.used_at).is_(None),
                col(ExportLink.expires_at) > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return (
            await session.execute(
                select(ExportLink).where(col(ExportLink.token_hash) == token_hash(token))
            )
        ).scalar_one()
