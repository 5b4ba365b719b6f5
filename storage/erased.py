"""Forgetting the identity of a person whose identity is their phone number (WhatsApp).

A WhatsApp user's id and chat id are their phone number. An erasure keeps the person's
row (the bot still answers the erasure itself, and the outbox rows of the messages sent
to them point at it), so the number there is replaced by an alias: random, not derived
from the number or its keyed hash (with the identity secret, a keyed hash of a phone
number can be confirmed by trying every number; an alias cannot). The keyed hash goes
the same way. The number then writes to the bot as anyone new: no row has it, so a
later message finds nobody and starts afresh.

The erasure's own confirmation is the last message that needs the number: its outbox
row keeps it until it is sent (or given up), then :func:`forget_finished` replaces it by
the alias too. Telegram, Slack and the web chat keep their ids: they are accounts, not
phone numbers.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus, Participant

# Platforms whose user id is a phone number.
PHONE_NUMBER_PLATFORMS = frozenset({"whatsapp"})
ALIAS_PREFIX = "erased:"


def new_alias() -> str:
    """A random stand-in for an erased number (``erased:`` and 32 hex digits)."""
    return ALIAS_PREFIX + secrets.token_hex(16)


def is_alias(value: str) -> bool:
    return value.startswith(ALIAS_PREFIX)


async def forget_number(session: AsyncSession, participant: Participant) -> None:
    """In the erasure's transaction: the participant's number and keyed hash replaced by
    an alias, and the outbox rows already addressed to them readdressed to it (they are
    all finished or cancelled by then). Does nothing on other platforms."""
    if participant.platform not in PHONE_NUMBER_PLATFORMS or is_alias(participant.external_id):
        return
    alias = new_alias()
    participant.external_id = alias
    participant.chat_id = alias
    participant.identity_key = hashlib.sha256(alias.encode()).hexdigest()
    await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.participant_id) == participant.id)
        .values(chat_id=alias)
        .execution_options(synchronize_session=False)
    )


async def forget_finished(db: Database, platform: str, chat_id: str | None = None) -> int:
    """Readdress to their alias the finished outbox rows (sent, dead, cancelled) of
    erased people that still hold a number: after the erasure's confirmation went out.

    Args:
        db: the database.
        platform: a platform of :data:`PHONE_NUMBER_PLATFORMS`.
        chat_id: only the rows to this number (the erasure just confirmed); None: all.

    Returns:
        How many rows were readdressed.
    """
    erased = select(col(Participant.id)).where(
        col(Participant.platform) == platform,
        col(Participant.external_id).startswith(ALIAS_PREFIX),
    )
    alias = (
        select(col(Participant.chat_id))
        .where(col(Participant.id) == col(OutboxMessage.participant_id))
        .scalar_subquery()
    )
    conditions = [
        col(OutboxMessage.platform) == platform,
        col(OutboxMessage.status) != OutboxStatus.PENDING.value,
        col(OutboxMessage.participant_id).in_(erased),
        ~col(OutboxMessage.chat_id).startswith(ALIAS_PREFIX),
    ]
    if chat_id is not None:
        conditions.append(col(OutboxMessage.chat_id) == chat_id)
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(and_(*conditions))
            .values(chat_id=alias)
            .execution_options(synchronize_session=False)
        )
    return int(getattr(result, "rowcount", 0) or 0)
