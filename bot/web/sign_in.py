"""Dashboard sign-in on the web: who is behind a session cookie, and CSRF tokens.

A moderator signs in with a one-time link (:mod:`bot.review.login_links`); spending it
starts a session (:mod:`storage.dashboard_tokens`) whose token the dashboard keeps in a
cookie.
"""

from __future__ import annotations

import hashlib
import hmac

from bot.core.deps import Deps
from bot.review.roster import PartnerLead, partner_lead, team
from moderation.actors import Moderator
from storage.dashboard_tokens import session_holder


def csrf_token(secret: bytes, session_token: str) -> str:
    """The CSRF token of a session: an HMAC of its token with the session secret."""
    return hmac.new(secret, f"moderation-csrf:{session_token}".encode(), hashlib.sha256).hexdigest()


async def session_member(deps: Deps, session_token: str) -> Moderator | PartnerLead | None:
    """The moderator or partner lead of a live session, or None (expired, signed out, or
    no longer in the table: removing a moderator ends their sessions at once)."""
    moderator_id = await session_holder(deps.db, session_token)
    if moderator_id is None:
        return None
    async with deps.db.transaction() as session:
        members = await team(session, deps.settings, deps.hasher)
        member = members.get(moderator_id)
        return member[0] if member is not None else await partner_lead(session, moderator_id)
