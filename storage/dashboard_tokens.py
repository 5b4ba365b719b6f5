"""Dashboard sign-in tokens: one-time sign-in links and the sessions they start.

A sign-in token is valid 15 minutes, for one sign-in; spending it starts a session with a
token of its own (12 hours). Both are :class:`~storage.models.DashboardToken` rows keyed
by the SHA-256 of the token; the tokens themselves are never stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import Database
from storage.models import DashboardToken, ModeratorRecord, utcnow
from storage.times import aware
from storage.tokens import new_token, token_hash

LOGIN_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)
LOGIN, SESSION = "login", "session"
_LIFETIME = {LOGIN: LOGIN_TTL, SESSION: SESSION_TTL}


def _issue(session: AsyncSession, kind: str, moderator_id: str, now: datetime) -> str:
    """A new random token of ``kind``; only its hash is added to the session."""
    token = new_token()
    session.add(
        DashboardToken(
            token_hash=token_hash(token),
            kind=kind,
            moderator_id=moderator_id,
            expires_at=now + _LIFETIME[kind],
        )
    )
    return token


async def issue_login_token(session: AsyncSession, moderator_id: str) -> str | None:
    """A new one-time sign-in token for a moderator, in the caller's transaction; tokens
    of anyone that expired a day ago are purged.

    Returns:
        The token, or None when ``moderator_id`` is not in the ``moderator`` table (only
        those moderators can hold dashboard tokens).
    """
    now = utcnow()
    if await session.get(ModeratorRecord, moderator_id) is None:
        return None
    await session.execute(
        delete(DashboardToken).where(col(DashboardToken.expires_at) < now - timedelta(days=1))
    )
    return _issue(session, LOGIN, moderator_id, now)


async def _live(db: Database, token: str, kind: str) -> DashboardToken | None:
    async with db.transaction() as session:
        row = await session.get(DashboardToken, token_hash(token))
    if row is None or row.kind != kind or row.used_at is not None:
        return None
    return row if aware(row.expires_at) > utcnow() else None


async def login_holder(db: Database, token: str) -> str | None:
    """Whose sign-in token this is, while it can still be used (it is not spent here)."""
    row = await _live(db, token, LOGIN)
    return row.moderator_id if row is not None else None


async def session_holder(db: Database, session_token: str) -> str | None:
    """Whose session this is, while it lasts (not signed out, not expired)."""
    row = await _live(db, session_token, SESSION)
    return row.moderator_id if row is not None else None


async def sign_in(db: Database, token: str) -> tuple[str, str] | None:
    """Spend a sign-in token: ``(moderator id, new session token)``, or None when the
    token is unknown, expired or already used. Of two concurrent uses, exactly one
    succeeds."""
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


async def sign_out(db: Database, session_token: str) -> None:
    """End a session."""
    async with db.transaction() as session:
        await session.execute(
            delete(DashboardToken).where(
                col(DashboardToken.token_hash) == token_hash(session_token),
                col(DashboardToken.kind) == SESSION,
            )
        )
