from sqlalchemy import text

from storage.db import Database


async def test_sqlite_pragmas_are_on(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        mode = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
        fk = (await session.execute(text("PRAGMA foreign_keys"))).scalar_one()
        busy = (await session.execute(text("PRAGMA busy_timeout"))).scalar_one()
    assert (mode, fk, busy) == ("wal", 1, 30000)


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    from storage.models import Campaign

    try:
        async with db.transaction() as session:
            session.add(Campaign(id="rollback", title={"en": "x"}))
            await session.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with db.transaction() as session:
        assert await session.get(Campaign, "rollback") is None
