"""Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel, select

from storage.db import Database
from storage.migrate import alembic_config, current, upgrade
from storage.models import Story


async def test_upgrade_matches_the_models(migrated_db: Database) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))

    async with migrated_db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    assert await current(migrated_db) is not None


async def test_upgrade_twice_is_harmless(migrated_db: Database) -> None:
    before = await current(migrated_db)
    await upgrade(migrated_db)
    assert await current(migrated_db) == before


async def test_audit_log_is_append_only_on_postgres(migrated_db: Database) -> None:
    if not migrated_db.is_postgres:
        pytest.skip("the append-only trigger is PostgreSQL's: SQLite has no such migration step")
    async with migrated_db.engine.connect() as conn:
        triggers = (
            await conn.execute(
                text("SELECT tgname FROM pg_trigger WHERE tgname = 'moderation_event_append_only'")
            )
        ).all()
    assert triggers


async def test_a_guardians_mark_becomes_the_time_they_confirmed(migrated_db: Database) -> None:
    def to_0004(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")

    async with migrated_db.engine.begin() as conn:
        await conn.run_sync(to_0004)
    submitted = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    story = sa.table(
        "story",
        sa.column("id", sa.Integer()),
        sa.column("locale", sa.String()),
        sa.column("credit_mode", sa.String()),
        sa.column("is_adult", sa.Boolean()),
        sa.column("consent_version", sa.String()),
        sa.column("state", sa.String()),
        sa.column("submitted_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    common = {
        "locale": "en",
        "credit_mode": "anonymous",
        "state": "received",
        "submitted_at": submitted,
        "updated_at": submitted,
    }
    async with migrated_db.engine.begin() as conn:
        await conn.execute(
            sa.insert(story),
            [
                {**common, "id": 1, "is_adult": False, "consent_version": "2026-11+g"},
                {**common, "id": 2, "is_adult": True, "consent_version": "2026-11"},
            ],
        )

    await upgrade(migrated_db)

    async with migrated_db.transaction() as session:
        rows = {s.id: s for s in (await session.execute(select(Story))).scalars()}
    assert rows[1].consent_version == "2026-11"
    assert rows[1].guardian_consent_at is not None
    assert rows[1].guardian_consent_at.replace(tzinfo=UTC) == submitted
    assert rows[2].consent_version == "2026-11"
    assert rows[2].guardian_consent_at is None
