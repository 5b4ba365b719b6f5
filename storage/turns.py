"""The statements of every turn, on the hot path: load, then save, in few round trips.

Every event a person sends runs the same few statements: record its key (dedupe),
load the person and their conversation (created on first contact), and at the end
write the conversation back with its version check and store the replies. They are
built once here, as plain SQL, instead of through the ORM on every turn:

- SQLite: straight on the writer's ``sqlite3`` connection (:mod:`storage.sqlite_inline`),
  inside the transaction SQLAlchemy began: no statement building, no thread hand-off.
- PostgreSQL: the dedupe and the load are one statement (a data-modifying CTE), the
  replies one multi-row ``INSERT``: one round trip each, through SQLAlchemy's cached
  ``text`` statements.

Values are encoded and decoded with the columns' own SQLAlchemy types, so a row written
here reads back exactly as one written through the ORM, and the reverse. The
participant comes back as an ORM object attached to the session (no query): what a
handler changes on it is written at commit, as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Table, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Mapper, configure_mappers
from sqlalchemy.orm.attributes import instance_state

from storage.models import Conversation, OutboxMessage, OutboxStatus, Participant, utcnow
from storage.sqlite_inline import InlineConnection

EVENT_KEY_MAX = 128


class ConversationConflict(Exception):
    """Another writer changed the conversation since it was loaded."""


@dataclass(frozen=True, slots=True)
class NewReply:
    """A reply to store as a leased outbox row."""

    dedupe_key: str
    payload: dict[str, Any]


class _Codec:
    """A table's values to and from the database, by its columns' own types."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.names = [column.name for column in table.columns]
        self._bind: dict[str, Callable[[Any], Any] | None] = {}
        self._result: list[Callable[[Any], Any] | None] = []
        for column in table.columns:
            self._bind[column.name] = column.type._cached_bind_processor(dialect)
            self._result.append(column.type._cached_result_processor(dialect, None))

    def encode(self, name: str, value: Any) -> Any:
        process = self._bind[name]
        return value if process is None or value is None else process(value)

    def decode(self, values: Sequence[Any]) -> dict[str, Any]:
        return {
            name: value if process is None or value is None else process(value)
            for name, process, value in zip(self.names, self._result, values, strict=True)
        }


@dataclass(slots=True)
class ConversationRow:
    """Where a person is in a dialog, as loaded at the start of their turn."""

    id: int
    participant_id: int
    flow: str | None
    step: str | None
    draft: dict[str, Any]
    history: list[str]
    version: int
    last_activity_at: datetime
    reminded_at: datetime | None


class Versioned(Protocol):
    """A conversation as loaded: its id and the version it was at."""

    @property
    def id(self) -> int | None: ...

    @property
    def version(self) -> int: ...


@cache
def _participant_mapper() -> Mapper[Participant]:
    configure_mappers()  # the attributes' loaders are set up here, on first use
    return sa_inspect(Participant)


def _attached(tx: TurnTransaction, values: dict[str, Any]) -> Participant:
    """A loaded participant row as a persistent object of the turn, without a query.

    Built as the ORM builds a row it loaded (the class's ``__new__``, the values in the
    instance's state, its identity key), not through the model's constructor, which
    validates and records every value as a change: five times the cost.
    """
    mapper = _participant_mapper()
    participant: Participant = mapper.class_manager.new_instance()
    state = instance_state(participant)
    state.dict.update(values)
    state.key = mapper.identity_key_from_primary_key((values["id"],))
    tx.attach(participant)
    return participant


class TurnTransaction:
    """The transaction of one turn: its ORM session only if a handler needs one.

    Most turns need nothing but the statements here; building, beginning and committing
    an ORM session for each of them was a third of a turn's time. So ``session`` is made
    on first use, on the turn's own connection and transaction. ``raw`` is the SQLite
    writer's ``sqlite3`` connection (None on PostgreSQL, where the session is the way).
    """

    def __init__(
        self,
        *,
        raw: sqlite3.Connection | None = None,
        connection: AsyncConnection | None = None,
        session: AsyncSession | None = None,
    ) -> None:
        self.raw = raw
        self._connection = connection
        self._session = session
        self._participants: list[Participant] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            assert self._connection is not None
            self._session = AsyncSession(bind=self._connection, expire_on_commit=False)
            self._session.info[_RAW] = self.raw
            for participant in self._participants:
                self._session.add(participant)
        return self._session

    @property
    def writer(self) -> sqlite3.Connection:
        """The SQLite writer's connection (the SQLite branches of the statements)."""
        assert self.raw is not None, "the turn runs on the SQLite writer"
        return self.raw

    @property
    def session_used(self) -> bool:
        return self._session is not None

    def attach(self, participant: Participant) -> None:
        """Keep ``participant``'s changes: written at commit (through the session)."""
        if self._session is not None:
            self._session.add(participant)
        else:
            self._participants.append(participant)

    def changed(self) -> bool:
        """Whether the ORM has work to commit: its session began a transaction or holds
        changes, or a loaded participant was changed while no session was open."""
        session = self._session
        if session is None:
            return any(instance_state(p).modified for p in self._participants)
        return bool(session.in_transaction() or session.new or session.dirty or session.deleted)


class TurnStatements:
    """The turn's statements for one database (see the module doc)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.sqlite = dialect.name == "sqlite"
        self.participant = _Codec(Participant.__table__, dialect)  # type: ignore[attr-defined]
        self.conversation = _Codec(Conversation.__table__, dialect)  # type: ignore[attr-defined]
        self.outbox = _Codec(OutboxMessage.__table__, dialect)  # type: ignore[attr-defined]
        p = ", ".join(f"p.{name}" for name in self.participant.names)
        c = ", ".join(f"c.{name}" for name in self.conversation.names)
        self._load_sqlite = (
            f"SELECT {p}, {c} FROM participant p LEFT JOIN conversation c "  # noqa: S608
            "ON c.participant_id = p.id WHERE p.platform = ? AND p.external_id = ?"
        )
        self._load_pg = text(
            "WITH ev AS (INSERT INTO processed_event (platform, key, created_at) "  # noqa: S608
            "VALUES (:platform, :key, :now) ON CONFLICT DO NOTHING RETURNING 1) "
            f"SELECT (SELECT count(*) FROM ev), {p}, {c} FROM (SELECT 1) AS one "
            "LEFT JOIN participant p ON p.platform = :platform AND p.external_id = :external "
            "LEFT JOIN conversation c ON c.participant_id = p.id"
        )
        self._outbox_columns = (
            "dedupe_key, platform, chat_id, participant_id, payload, status, attempts, "
            "next_attempt_at, locked_until, created_at"
        )

    # -- load -------------------------------------------------------------------------
    async def load(
        self,
        tx: TurnTransaction,
        *,
        platform: str,
        event_key: str,
        external_id: str,
        chat_id: str,
        identity_key: str,
        display_name: str | None,
        locale_hint: str | None,
    ) -> tuple[Participant, ConversationRow] | None:
        """Record the event and load its person; None when the event was seen before.

        Runs in the session's transaction, so an event whose handling fails is not
        recorded and its redelivery is handled again.
        """
        now = utcnow()
        key = event_key[:EVENT_KEY_MAX]
        if self.sqlite:
            raw = tx.writer
            stamp = self.participant.encode("created_at", now)
            cursor = raw.execute(
                "INSERT INTO processed_event (platform, key, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (platform, key, stamp),
            )
            if cursor.rowcount != 1:
                return None
            row = raw.execute(self._load_sqlite, (platform, external_id)).fetchone()
            values: Sequence[Any] | None = row
        else:
            result = await tx.session.execute(
                self._load_pg,
                {"platform": platform, "key": key, "now": now, "external": external_id},
            )
            first = result.one()
            if not first[0]:
                return None
            values = first[1:]
        width = len(self.participant.names)
        if values is None or values[0] is None:
            participant, conversation = await self._first_contact(
                tx,
                platform=platform,
                external_id=external_id,
                chat_id=chat_id,
                identity_key=identity_key,
                display_name=display_name,
                locale_hint=locale_hint,
            )
        else:
            participant = _attached(tx, self.participant.decode(values[:width]))
            if values[width] is None:  # a person whose conversation was erased
                conversation = await self._new_conversation(tx, participant)
            else:
                conversation = ConversationRow(**self.conversation.decode(values[width:]))
        if locale_hint and participant.locale_hint != locale_hint:
            participant.locale_hint = locale_hint
        if participant.chat_id != chat_id:
            participant.chat_id = chat_id
        return participant, conversation

    async def _first_contact(
        self,
        tx: TurnTransaction,
        *,
        platform: str,
        external_id: str,
        chat_id: str,
        identity_key: str,
        display_name: str | None,
        locale_hint: str | None,
    ) -> tuple[Participant, ConversationRow]:
        fields = {
            "platform": platform,
            "external_id": external_id,
            "chat_id": chat_id,
            "identity_key": identity_key,
            "display_name": display_name,
            "locale_hint": locale_hint,
            "reachable": True,
            "thanks_enabled": True,
            "created_at": utcnow(),
        }
        names = list(fields)
        returning = ", ".join(self.participant.names)
        sql = (
            f"INSERT INTO participant ({', '.join(names)}) VALUES "  # noqa: S608
            f"({', '.join(':' + n for n in names)}) "
            f"ON CONFLICT (platform, external_id) DO NOTHING RETURNING {returning}"
        )
        params = {name: self.participant.encode(name, value) for name, value in fields.items()}
        row = await self._fetch_one(tx, sql, params)
        if row is None:  # another replica's first event of this person won the race
            select = (
                f"SELECT {returning} FROM participant "  # noqa: S608
                "WHERE platform = :platform AND external_id = :external_id"
            )
            row = await self._fetch_one(
                tx, select, {"platform": platform, "external_id": external_id}
            )
            assert row is not None
        participant = _attached(tx, self.participant.decode(row))
        return participant, await self._new_conversation(tx, participant)

    async def _new_conversation(
        self, tx: TurnTransaction, participant: Participant
    ) -> ConversationRow:
        assert participant.id is not None
        columns = ", ".join(self.conversation.names)
        params = {
            "participant_id": participant.id,
            "draft": self.conversation.encode("draft", {}),
            "history": self.conversation.encode("history", []),
            "now": self.conversation.encode("last_activity_at", utcnow()),
        }
        row = await self._fetch_one(
            tx,
            "INSERT INTO conversation (participant_id, draft, history, version, "  # noqa: S608
            "last_activity_at) VALUES (:participant_id, :draft, :history, 0, :now) "
            f"ON CONFLICT (participant_id) DO NOTHING RETURNING {columns}",
            params,
        )
        if row is None:
            row = await self._fetch_one(
                tx,
                f"SELECT {columns} FROM conversation WHERE participant_id = :participant_id",  # noqa: S608
                {"participant_id": participant.id},
            )
            assert row is not None
        return ConversationRow(**self.conversation.decode(row))

    async def _fetch_one(
        self, tx: TurnTransaction, sql: str, params: dict[str, Any]
    ) -> Sequence[Any] | None:
        """One row of a statement written with ``:name`` parameters (first contact only)."""
        if self.sqlite:
            raw = tx.writer
            row: Sequence[Any] | None = raw.execute(sql, params).fetchone()
            return row
        return (await tx.session.execute(text(sql), params)).first()

    # -- save -------------------------------------------------------------------------
    async def save(
        self,
        tx: TurnTransaction,
        conversation: Versioned,
        *,
        flow: str | None,
        step: str | None,
        draft: dict[str, Any],
        history: list[str],
        now: datetime | None = None,
    ) -> None:
        """Write the new state if nobody else did since it was loaded (version check)."""
        codec = self.conversation
        params = {
            "flow": flow,
            "step": step,
            "draft": codec.encode("draft", draft),
            "history": codec.encode("history", history),
            "next": conversation.version + 1,
            "now": codec.encode("last_activity_at", now or utcnow()),
            "id": conversation.id,
            "version": conversation.version,
        }
        sql = (
            "UPDATE conversation SET flow = :flow, step = :step, draft = :draft, "
            "history = :history, version = :next, last_activity_at = :now, "
            "reminded_at = NULL WHERE id = :id AND version = :version"
        )
        if tx.raw is not None:
            count = tx.raw.execute(sql, params).rowcount
        else:  # PostgreSQL, or an ORM session's transaction (a scheduler job)
            count = (await tx.session.execute(text(sql), params)).rowcount  # type: ignore[attr-defined]
        if count != 1:
            raise ConversationConflict(conversation.id)

    async def keep_replies(
        self,
        tx: TurnTransaction,
        *,
        platform: str,
        chat_id: str,
        participant_id: int,
        replies: Sequence[NewReply],
        lease: timedelta,
    ) -> tuple[int, ...]:
        """Store replies as outbox rows leased to this process; their ids, in order."""
        now = utcnow()
        codec = self.outbox
        common = {
            "platform": platform,
            "chat_id": chat_id,
            "participant_id": participant_id,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": codec.encode("next_attempt_at", now),
            "locked_until": codec.encode("locked_until", now + lease),
            "created_at": codec.encode("created_at", now),
        }
        if self.sqlite:
            raw = tx.writer
            sql = (
                f"INSERT INTO outbox ({self._outbox_columns}) VALUES (:dedupe_key, :platform, "  # noqa: S608
                ":chat_id, :participant_id, :payload, :status, :attempts, :next_attempt_at, "
                ":locked_until, :created_at) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id"
            )
            ids: list[int] = []
            for reply in replies:
                params = dict(
                    common,
                    dedupe_key=reply.dedupe_key,
                    payload=codec.encode("payload", reply.payload),
                )
                row = raw.execute(sql, params).fetchone()
                assert row is not None, "replies of one event stored twice"
                ids.append(row[0])
            return tuple(ids)
        params = dict(common)
        rows = []
        for index, reply in enumerate(replies):
            params[f"k{index}"] = reply.dedupe_key
            params[f"m{index}"] = codec.encode("payload", reply.payload)
            rows.append(
                f"(:k{index}, :platform, :chat_id, :participant_id, :m{index}, :status, "
                ":attempts, :next_attempt_at, :locked_until, :created_at)"
            )
        result = await tx.session.execute(
            text(
                f"INSERT INTO outbox ({self._outbox_columns}) VALUES {', '.join(rows)} "  # noqa: S608
                "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key"
            ),
            params,
        )
        stored = {key: row_id for row_id, key in result.all()}
        assert len(stored) == len(replies), "replies of one event stored twice"
        return tuple(stored[reply.dedupe_key] for reply in replies)


def statements_for(dialect: Dialect) -> TurnStatements:
    """The turn statements of a dialect (for work outside a turn, e.g. a scheduler job
    that moves a conversation on with the same version check)."""
    found = _BY_DIALECT.get(dialect.name)
    if found is None:
        found = _BY_DIALECT[dialect.name] = TurnStatements(dialect)
    return found


_BY_DIALECT: dict[str, TurnStatements] = {}


class Fast:
    """A statement of the hot path, written once as SQL with ``:name`` parameters.

    Inside a writer transaction on SQLite it runs straight on the ``sqlite3``
    connection; anywhere else (PostgreSQL, an SQLite reader) as a cached ``text``
    statement. Parameters are plain values; times are encoded here for SQLite.
    """

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.text = text(sql)

    async def rows(self, session: AsyncSession, params: dict[str, Any]) -> list[Any]:
        raw = await _writer(session)
        if raw is not None:
            return list(raw.execute(self.sql, _sqlite_values(params)).fetchall())
        return list((await session.execute(self.text, params)).all())

    async def count(self, session: AsyncSession, params: dict[str, Any]) -> int:
        """The number of rows the statement changed."""
        raw = await _writer(session)
        if raw is not None:
            return int(raw.execute(self.sql, _sqlite_values(params)).rowcount)
        return int((await session.execute(self.text, params)).rowcount)  # type: ignore[attr-defined]

    async def count_in(self, tx: TurnTransaction, params: dict[str, Any]) -> int:
        """:meth:`count` in a turn's transaction (no ORM session made for it)."""
        if tx.raw is not None:
            return int(tx.raw.execute(self.sql, _sqlite_values(params)).rowcount)
        return await self.count(tx.session, params)


def _sqlite_values(params: dict[str, Any]) -> dict[str, Any]:
    """Times as SQLAlchemy stores them in SQLite (its ``DATETIME`` text)."""
    return {
        name: value.strftime(SQLITE_TIME) if isinstance(value, datetime) else value
        for name, value in params.items()
    }


SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


async def _writer(session: AsyncSession) -> Any | None:
    """The ``sqlite3`` connection of an SQLite writer transaction, else None.

    What the session holds unwritten is flushed first: a statement run beside the ORM
    sees the rows it added or removed, as one run through it would (autoflush)."""
    if session.bind is not None and session.bind.dialect.name != "sqlite":
        return None
    found = session.info.get(_RAW, False)
    if found is False:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        found = driver.driver if isinstance(driver, InlineConnection) else None
        session.info[_RAW] = found
    if found is not None and (session.new or session.dirty or session.deleted):
        await session.flush()
    return found


_RAW = "together.sqlite3"
