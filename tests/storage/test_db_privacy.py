"""The SQLite files are private, erased text leaves the file and its WAL, and the driver
never logs SQL parameters."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, text
from sqlmodel import col

from storage.db import Database
from storage.models import Campaign

MARKER = "zq-erase-me-7f3a91"


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets the world read new files: the modes must come from our code."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def test_a_new_database_and_its_wal_are_private(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "fresh" / "together.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.create_all()
        async with db.transaction() as session:
            session.add(Campaign(id="c", title={"en": "x"}))
        files = [path, path.with_name("together.db-wal"), path.with_name("together.db-shm")]
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert _mode(path.parent) == 0o700
    finally:
        await db.dispose()


async def test_an_existing_readable_database_is_made_private(
    tmp_path: Path, open_umask: None
) -> None:
    path = tmp_path / "together.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.create_all()
    async with db.transaction() as session:
        session.add(Campaign(id="c", title={"en": "x"}))
    await db.dispose()  # an older version left these readable to everyone
    path.chmod(0o644)
    wal = path.with_name("together.db-wal")
    wal.write_bytes(b"")
    wal.chmod(0o644)
    reopened = Database(f"sqlite+aiosqlite:///{path}")
    try:
        assert _mode(path) == 0o600 and _mode(wal) == 0o600
    finally:
        await reopened.dispose()


async def test_erased_text_is_in_neither_the_file_nor_the_wal(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        for name in ("before", "erased", "after"):
            marker = MARKER if name == "erased" else "kept"
            session.add(Campaign(id=name, title={"en": marker * 20}))
    async with sqlite_db.transaction() as session:
        await session.execute(delete(Campaign).where(col(Campaign.id) == "erased"))
    assert await sqlite_db.checkpoint()
    path = Path(sqlite_db.engine.url.database or "")
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        assert MARKER.encode() not in file.read_bytes(), file.name


async def test_secure_delete_is_on_for_every_connection(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        assert (await session.execute(text("PRAGMA secure_delete"))).scalar_one() == 1


async def test_checkpoint_is_harmless_on_postgres(db: Database) -> None:
    assert await db.checkpoint()


async def test_no_sql_parameter_or_row_in_debug_logs(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("aiosqlite", "sqlalchemy.engine", "asyncpg"):  # even turned up by hand
        caplog.set_level(logging.DEBUG, logger=name)
    async with db.transaction() as session:
        session.add(Campaign(id="c", title={"en": MARKER}))
    async with db.transaction() as session:
        assert (await session.get(Campaign, "c")) is not None
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert MARKER not in caplog.text
