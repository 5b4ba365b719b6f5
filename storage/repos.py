"""Processed events recorded outside a turn (a moderators' group, a Slack channel's
clicks); a turn records its own in :mod:`storage.turns`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import ProcessedEvent, utcnow


async def record_event(session: AsyncSession, db: Database, platform: str, key: str) -> bool:
    """Record an inbound event by its platform key. False means it was seen before.

    Runs in the caller's transaction, so an event whose handling fails is not recorded
    and its redelivery is handled again.
    """
    stmt = (
        db.insert(ProcessedEvent)
        .values(platform=platform, key=key[:128], created_at=utcnow())
        .on_conflict_do_nothing()
    )
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]
