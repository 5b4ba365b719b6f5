"""Signals between replicas: PostgreSQL's LISTEN/NOTIFY, sent with the transaction.

A web chat page long-polls the replica it reached; the reply or notice it waits for may
be committed by another replica. ``signal`` queues a ``NOTIFY`` in the writer's own
transaction, so it is delivered exactly when (and only if) the rows are committed; a
:class:`Listener` on every replica hears it on a connection of its own and wakes the
local waiters. No polling of the database. On SQLite (one process) there is nothing to
tell: the process wakes its own waiters.

Channels are per database schema (tests share one PostgreSQL database across schemas).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database

log = logging.getLogger(__name__)

# How long a listener waits before connecting again after losing its connection.
RECONNECT_SECONDS = 1.0
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


def channel_name(db: Database, name: str) -> str:
    """``name`` in ``db``'s schema (a PostgreSQL identifier: at most 63 bytes)."""
    return f"{name}_{db.pg_schema}"[:63] if db.pg_schema else name


async def signal(session: AsyncSession, db: Database, name: str, payload: str) -> None:
    """Tell every replica ``payload`` on ``name`` once the session's transaction commits."""
    if db.is_postgres:
        await session.execute(_NOTIFY, {"channel": channel_name(db, name), "payload": payload})


class Listener:
    """Hears one channel on its own connection and calls ``on_signal(payload)``; connects
    again when the connection is lost (the waiters' own deadlines cover the gap).

    Args:
        db: the database (PostgreSQL; on SQLite ``start`` does nothing).
        name: the channel.
        on_signal: called with each payload, on the event loop.
    """

    def __init__(self, db: Database, name: str, on_signal: Callable[[str], None]) -> None:
        self.db = db
        self.channel = channel_name(db, name)
        self.on_signal = on_signal
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.db.is_postgres and self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"listen:{self.channel}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        import asyncpg

        url = make_url(self.db.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while True:
            lost = asyncio.Event()
            connection: Any = None
            try:
                connection = await asyncpg.connect(dsn)
                connection.add_termination_listener(lambda _conn, gone=lost: gone.set())
                await connection.add_listener(self.channel, self._heard)
                self.listening.set()
                log.info("signal listener listening", extra={"channel": self.channel})
                await lost.wait()
                log.warning("signal listener lost its connection", extra={"channel": self.channel})
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "signal listener could not connect",
                    extra={"channel": self.channel, "error": type(exc).__name__},
                )
            finally:
                self.listening.clear()
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(connection.close())
            await asyncio.sleep(RECONNECT_SECONDS)

    def _heard(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self.on_signal(payload)
