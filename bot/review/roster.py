"""The moderation team: from settings and from the ``moderator`` table."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from moderation.actors import Moderator, Roster
from moderation.states import Role
from storage.identity import IdentityHasher
from storage.models import ModeratorRecord


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
        members[mod_id] = (
            _moderator(mod_id, str(spec.get("role", "moderator")), accounts, hasher),
            accounts,
        )
    for record in (await session.execute(select(ModeratorRecord))).scalars():
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
