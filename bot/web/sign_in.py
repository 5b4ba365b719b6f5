"""Dashboard sign-in: one-time links, sessions and CSRF tokens.

A moderator signs in with a link holding a random token (32 bytes): valid 15 minutes, for
one sign-in. Spending it starts a session with a token of its own (12 hours). Both are
:class:`~storage.models.DashboardToken` rows keyed by the SHA-256 of the token; the
tokens themselves are never stored. A chat surface can send a link in a private chat with
:func:`create_login_link`; the CLI prints one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.deps import Deps
from bot.review.roster import team
from moderation.actors import Moderator
from moderation.transitions import as_utc
from storage.db import Database
from storage.models import DashboardToken, ModeratorRecord, utcnow

LOGIN_PATH = "/moderation/login"
LOGIN_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)
LOGIN, SESSION = "login", "session"
_LIFETIME = {LOGIN: LOGIN_TTL, SESSION: SESSION_TTL}


class UnknownModeratorError(LookupError):
    """No moderator with this id in the ``moderator`` table."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret: bytes, session_token: str) -> str:
    """The CSRF token of a session: an HMAC of its token with the session secret."""
    return hmac.new(secret, f"moderation-csrf:{session_token}".encode(), hashlib.sha256).hexdigest()


def _issue(session: AsyncSession, kind: str, moderator_id: str, now: datetime) -> str:
    """A new random token of ``kind``; only its hash is added to the session."""
    token = secrets.token_urlsafe(32)
    session.add(
        DashboardToken(
            token_hash=token_hash(token),
            kind=kind,
            moderator_id=moderator_id,
            expires_at=now + _LIFETIME[kind],
        )
    )
    return token


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
    now = utcnow()
    if await session.get(ModeratorRecord, moderator_id) is None:
        raise UnknownModeratorError(moderator_id)
    await session.execute(
        delete(DashboardToken).where(col(DashboardToken.expires_at) < now - timedelta(days=1))
    )
    token = _issue(session, LOGIN, moderator_id, now)
    return f"{deps.settings.resolved_public_url}{LOGIN_PATH}/{token}"


async def _live(db: Database, token: str, kind: str) -> DashboardToken | None:
    async with db.transaction() as session:
        row = await session.get(DashboardToken, token_hash(token))
    if row is None or row.kind != kind or row.used_at is not None:
        return None
    expires_at = as_utc(row.expires_at)
    return row if expires_at is not None and expires_at > utcnow() else None


async def login_holder(db: Database, token: str) -> str | None:
    """Whose sign-in link this is, while it can still be used (it is not spent here)."""
    row = await _live(db, token, LOGIN)
    return row.moderator_id if row is not None else None


async def sign_in(db: Database, token: str) -> tuple[str, str] | None:
    """Spend a sign-in link: ``(moderator id, new session token)``, or None when the link
    is unknown, expired or already used. Of two concurrent uses, exactly one succeeds."""
    now = utcnow()
    async with db.transaction() as session:
        spent = await session.execute(
            update(DashboardToken)
            .where(
                col(DashboardToken.token_hash) == token_hash(token),
                col(DashboardToken.kind) == LOGIN,
                col(DashboardToken.used_at).is_(None),
                col(DashboardToken.expires_at) > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            return None
        moderator_id = (
            await session.execute(
                select(col(DashboardToken.moderator_id)).where(
                    col(DashboardToken.token_hash) == token_hash(token)
                )
            )
        ).scalar_one()
        session_token = _issue(session, SESSION, moderator_id, now)
    return moderator_id, session_token


async def session_moderator(deps: Deps, session_token: str) -> Moderator | None:
    """The moderator of a live session, or None (expired, signed out, or no longer on
    the team: removing a moderator ends their sessions at once)."""
    row = await _live(deps.db, session_token, SESSION)
    if row is None:
        return None
    async with deps.db.transaction() as session:
        members = await team(session, deps.settings, deps.hasher)
    member = members.get(row.moderator_id)
    return member[0] if member is not None else None


async def sign_out(db: Database, session_token: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            delete(DashboardToken).where(
                col(DashboardToken.token_hash) == token_hash(session_token),
                col(DashboardToken.kind) == SESSION,
            )
        )
