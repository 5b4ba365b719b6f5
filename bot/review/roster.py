"""The moderation team: from settings and from the ``moderator`` table; and the partner
leads, who are in the table but never on the team."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from moderation.actors import Moderator, Roster
from moderation.states import Role
from storage.identity import IdentityHasher
from storage.models import ModeratorRecord


@dataclass(frozen=True, slots=True)
class PartnerLead:
    """A partner organisation's lead (role ``partner``): their campaign's numbers on the
    dashboard and nothing else. Not a moderator: their accounts act on nothing."""

    id: str
    campaign_id: str


def _moderator(mod_id: str, role: str, accounts: list[str], hasher: IdentityHasher) -> Moderator:
    keys = frozenset(hasher.key(*account.split(":", 1)) for account in accounts if ":" in account)
    return Moderator(id=mod_id, role=Role(role), identity_keys=keys)


async def team(
    session: AsyncSession, settings: Settings, hasher: IdentityHasher
) -> dict[str, tuple[Moderator, list[str]]]:
    """Every moderator with their accounts; the table wins over settings for one id."""
    members: dict[str, tuple[Moderator, list[str]]] = {}
    for mod_id, spec in settings.moderators.items():
        accounts = [str(a) for a in spec.get("accounts", [])]
        role = str(spec.get("role", "moderator"))
        if role == Role.PARTNER:  # never on the team (and their campaign is in the table)
            continue
        members[mod_id] = (_moderator(mod_id, role, accounts, hasher), accounts)
    for record in (await session.execute(select(ModeratorRecord))).scalars():
        if record.role == Role.PARTNER:
            # A partner lead's accounts are no moderator's: not in any chat, nor here.
            members.pop(record.id, None)
            continue
        members[record.id] = (
            _moderator(record.id, record.role, list(record.accounts), hasher),
            list(record.accounts),
        )
    return members


async def load_roster(session: AsyncSession, settings: Settings, hasher: IdentityHasher) -> Roster:
    accounts: dict[str, Moderator] = {}
    for moderator, moderator_accounts in (await team(session, settings, hasher)).values():
        for account in moderator_accounts:
            accounts[account] = moderator
    return Roster(accounts)


async def partner_lead(session: AsyncSession, member_id: str) -> PartnerLead | None:
    """The partner lead with this id (in the table, with a campaign), or None."""
    record = await session.get(ModeratorRecord, member_id)
    if record is None or record.role != Role.PARTNER or not record.campaign_id:
        return None
    return PartnerLead(record.id, record.campaign_id)
