"""Partner campaigns as the public wall shows them: their names and open dates, and every
campaign's pledge count in one aggregate query (the wall reads it on every request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.campaigns import title_in
from storage.models import Campaign, PledgeCounter
from storage.times import aware


@dataclass(frozen=True, slots=True)
class PartnerCampaign:
    """A partner campaign's row as the wall needs it (kept a short while)."""

    id: str
    title: dict[str, str]
    active: bool
    starts_at: datetime | None
    ends_at: datetime | None

    def is_open(self, now: datetime) -> bool:
        """Active, started and not yet ended."""
        started = self.starts_at is None or now >= self.starts_at
        ended = self.ends_at is not None and now >= self.ends_at
        return self.active and started and not ended

    def name(self, locale: str, default_locale: str) -> str:
        """The name in ``locale``, else the default locale's, else any (as the badge)."""
        return title_in(self.title, locale, default_locale, self.id)


async def partner_campaigns(session: AsyncSession, default: str) -> tuple[PartnerCampaign, ...]:
    """Every campaign but ``default`` (the wall's own), open or not."""
    rows = await session.execute(
        select(
            col(Campaign.id),
            col(Campaign.title),
            col(Campaign.active),
            col(Campaign.starts_at),
            col(Campaign.ends_at),
        ).where(col(Campaign.id) != default)
    )
    return tuple(
        PartnerCampaign(
            str(cid),
            dict(title or {}),
            bool(active),
            None if starts is None else aware(starts),
            None if ends is None else aware(ends),
        )
        for cid, title, active, starts, ends in rows
    )


async def pledge_totals(session: AsyncSession) -> dict[str, int]:
    """Every campaign's pledge count, in one query (a campaign without any: absent)."""
    rows = await session.execute(
        select(col(PledgeCounter.campaign_id), func.sum(col(PledgeCounter.count))).group_by(
            col(PledgeCounter.campaign_id)
        )
    )
    return {str(cid): int(total or 0) for cid, total in rows}
