"""Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from storage.db import Database
from storage.migrate import current, upgrade


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
