"""Reading a person by their platform identity (no row is created here)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import Database
from storage.models import Participant


async def find_participant(
    session: AsyncSession, platform: str, external_id: str
) -> Participant | None:
    """The participant of a platform identity, or None before their first contact."""
    return (
        await session.execute(
            select(Participant).where(
                col(Participant.platform) == platform,
                col(Participant.external_id) == external_id,
            )
        )
    ).scalar_one_or_none()


class Brief(NamedTuple):
    """Who a person is, as a page needs it on every request (no ORM object)."""

    id: int
    locale: str | None
    locale_hint: str | None


async def find_brief(session: AsyncSession, platform: str, external_id: str) -> Brief | None:
    """:func:`find_participant`, only the id and the languages."""
    row = (
        await session.execute(
            select(
                col(Participant.id), col(Participant.locale), col(Participant.locale_hint)
            ).where(
                col(Participant.platform) == platform,
                col(Participant.external_id) == external_id,
            )
        )
    ).first()
    if row is None or row[0] is None:
        return None
    return Brief(int(row[0]), row[1], row[2])


async def chosen_locale(db: Database, platform: str, external_id: str) -> str | None:
    """The language a person chose in the bot, or None (not chosen, or not known yet)."""
    async with db.read() as session:
        chosen = (
            await session.execute(
                select(col(Participant.locale)).where(
                    col(Participant.platform) == platform,
                    col(Participant.external_id) == external_id,
                )
            )
        ).scalar_one_or_none()
    return str(chosen) if chosen else None
