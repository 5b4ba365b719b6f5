"""One-time sign-in links to the moderation dashboard, for a moderator's private chat or
an operator's terminal (the tokens are :mod:`storage.dashboard_tokens`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.deps import Deps
from storage.dashboard_tokens import issue_login_token

LOGIN_PATH = "/moderation/login"


class UnknownModeratorError(LookupError):
    """No moderator with this id in the ``moderator`` table."""


async def create_login_link(deps: Deps, moderator_id: str) -> str:
    """A one-time sign-in link for a moderator: valid 15 minutes, for one sign-in.

    Send it only in a private chat with that moderator (or print it for an operator).

    Raises:
        UnknownModeratorError: ``moderator_id`` is not in the ``moderator`` table
            (moderators configured only in ``MODERATORS`` cannot hold dashboard tokens).
    """
    async with deps.db.transaction() as session:
        return await issue_login_link(session, deps, moderator_id)


async def issue_login_link(session: AsyncSession, deps: Deps, moderator_id: str) -> str:
    """:func:`create_login_link` inside the caller's transaction (a chat turn's)."""
    token = await issue_login_token(session, moderator_id)
    if token is None:
        raise UnknownModeratorError(moderator_id)
    return f"{deps.settings.resolved_public_url}{LOGIN_PATH}/{token}"
