"""The operators' endpoints: ``/readyz`` says whether this replica may take traffic,
``/metrics`` shows the numbers to Prometheus (and to nobody else)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.adapters.memory import MemoryChat
from bot.app import Bot, create_app
from bot.config import Settings
from bot.core.admission import Busy
from bot.core.delivery import RetryAfter
from bot.core.events import Inbound, InboundKind, Outgoing
from storage import outbox
from storage.db import Database
from storage.migrate import alembic_config, upgrade
from storage.models import utcnow
from storage.ops import head_revisions
from tests.adapters.telegram.conftest import telegram_settings
from tests.adapters.whatsapp.conftest import whatsapp_settings
from tests.conftest import PG_URL, _pg_execute, make_bot, require_postgres
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.whatsapp_api import FakeGraphApi
from tests.web.helpers import tell

TOKEN = "scrape-me-0123456789"


def client_of(bot: Bot, *, client: tuple[str, int] = ("127.0.0.1", 40000)) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(bot, migrate=False), client=client)
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(bot: Bot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with client_of(bot) as http:
        answer = await http.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


# -- /readyz --------------------------------------------------------------------------------


class Outage:
    """A TCP relay in front of PostgreSQL on loopback: ``down()`` closes its port and cuts
    every connection through it (the database restarting, a failover), ``up()`` opens the
    same port again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


@pytest.fixture
async def relayed_db() -> AsyncIterator[tuple[Database, Outage]]:
    """A migrated PostgreSQL schema reached through an :class:`Outage` relay."""
    require_postgres()
    url = make_url(PG_URL)
    outage = Outage(url.host or "127.0.0.1", url.port or 5432)
    await outage.up()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    await _pg_execute(f"CREATE SCHEMA {schema}")
    relayed = url.set(host="127.0.0.1", port=outage.port)
    database = Database(relayed.render_as_string(hide_password=False), pg_schema=schema)
    await upgrade(database)
    try:
        yield database, outage
    finally:
        await database.dispose()
        await _pg_execute(f"DROP SCHEMA {schema} CASCADE")
        with contextlib.suppress(AssertionError):
            await outage.down()


async def test_readyz_is_503_while_the_database_is_down_and_200_after(
    settings: Settings, relayed_db: tuple[Database, Outage]
) -> None:
    db, outage = relayed_db
    bot = await make_bot(settings, db)
    async with client_of(bot) as http:
        ready = await http.get("/readyz")
        assert (ready.status_code, ready.json()["status"]) == (200, "ready")

        await outage.down()
        down = await http.get("/readyz")
        assert down.status_code == 503
        assert down.json()["failed"] == ["database", "migrations"]
        assert down.json()["checks"]["database"] == "not answering"
        assert (await http.get("/healthz")).status_code == 200  # alive all the same

        await outage.up()
        back = await http.get("/readyz")
        assert back.status_code == 200, back.text
        assert back.json()["checks"] == {"database": "ok", "migrations": "ok", "adapters": "ok"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database with no tables at all, for the migrations to build."""
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
        try:
            yield database
        finally:
            await database.dispose()
        return
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    await _pg_execute(f"CREATE SCHEMA {schema}")
    database = Database(PG_URL, pg_schema=schema)
    try:
        yield database
    finally:
        await database.dispose()
        await _pg_execute(f"DROP SCHEMA {schema} CASCADE")


async def test_readyz_is_503_while_the_migrations_are_behind(
    settings: Settings, empty_db: Database
) -> None:
    (head,) = head_revisions()
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(head).down_revision
    assert isinstance(previous, str)
    await upgrade(empty_db, previous)
    bot = await make_bot(settings, empty_db)
    async with client_of(bot) as http:
        behind = await http.get("/readyz")
        assert behind.status_code == 503
        assert behind.json()["failed"] == ["migrations"]
        assert behind.json()["checks"]["migrations"] == f"behind: at {previous}, code at {head}"

        await upgrade(empty_db)
        assert (await http.get("/readyz")).status_code == 200


async def test_readyz_is_503_until_telegram_has_booted(
    settings: Settings, migrated_db: Database
) -> None:
    async with FakeTelegramApi() as api:
        webhook = telegram_settings(
            settings,
            api,
            telegram_webhook_url="https://bot.example.org",
            telegram_webhook_secret="s3",
        )
        bot = await make_bot(webhook, migrated_db)
        assert bot.telegram is not None
        async with client_of(bot) as http:
            waiting = await http.get("/readyz")
            assert waiting.status_code == 503
            assert waiting.json() == {
                "status": "unavailable",
                "failed": ["adapters"],
                "checks": {
                    "database": "ok",
                    "migrations": "ok",
                    "adapters": "not started: telegram",
                },
            }
            await bot.telegram.start()  # getMe, the command menus, setWebhook
            assert (await http.get("/readyz")).status_code == 200
            await bot.telegram.stop()
            assert (await http.get("/readyz")).status_code == 503


async def test_readyz_counts_whatsapp_booted_once_its_client_is_built(
    settings: Settings, migrated_db: Database
) -> None:
    """Meta calls the webhook: nothing to connect at start, so no Graph call is made to
    be ready; a stopped adapter (its client closed) is not ready."""
    async with FakeGraphApi() as api:
        bot = await make_bot(whatsapp_settings(settings, api), migrated_db)
        assert bot.whatsapp is not None
        async with client_of(bot) as http:
            assert (await http.get("/readyz")).status_code == 200
            assert api.calls("messages", ok_only=False) == []
            await bot.whatsapp.stop()
            stopped = await http.get("/readyz")
            assert stopped.status_code == 503
            assert stopped.json()["checks"]["adapters"] == "not started: whatsapp"


# -- /metrics -------------------------------------------------------------------------------


async def test_metrics_count_the_turns_of_a_chat(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="kenji")
    await chat.send("/start pledge")
    await chat.tap("I take the pledge")
    await chat.send("hello")
    other = MemoryChat(bot.core, user_id="ana")
    await other.send("/start")

    found = await scrape(bot)
    memory = (("platform", "memory"),)
    assert found[("together_bot_updates_total", (("kind", "command"), *memory))] == 2
    assert found[("together_bot_updates_total", (("kind", "choice"), *memory))] == 1
    assert found[("together_bot_updates_total", (("kind", "text"), *memory))] == 1
    assert found[("together_bot_turn_seconds_count", memory)] == 4
    assert found[("together_bot_turn_seconds_bucket", (("le", "+Inf"), *memory))] == 4
    assert found[("together_bot_pledges", (("campaign", "together"),))] == 1
    assert found[("together_bot_turns_in_flight", ())] == 0
    assert found[("together_bot_turns_refused_total", ())] == 0
    assert found[("together_bot_database_up", ())] == 1


async def test_metrics_count_the_pledge_funnel_by_step(bot: Bot) -> None:
    """Flows started, steps reached, completed and cancelled: the funnel, by step."""
    done = MemoryChat(bot.core, user_id="kenji")
    await done.send("/pledge")
    await done.tap("I take the pledge")
    await done.send("/skip")
    await done.send("/skip")
    left = MemoryChat(bot.core, user_id="ana")
    await left.send("/pledge")
    await left.tap("I take the pledge")
    await left.send("/cancel")

    found = await scrape(bot)

    def count(event: str, step: str) -> float:
        labels = (("event", event), ("flow", "pledge"), ("step", step))
        return found.get(("together_bot_flow_events_total", labels), 0)

    assert count("started", "pledge") == 2
    assert count("reached", "name") == 2
    assert count("reached", "country") == 1
    assert count("completed", "country") == 1
    assert count("cancelled", "name") == 1


async def test_metrics_show_the_moderation_queue_and_its_oldest_item(bot: Bot) -> None:
    await tell(bot, "amina")
    await tell(bot, "omar")
    found = await scrape(bot)
    assert found[("together_bot_moderation_queue", (("state", "PENDING_REVIEW"),))] == 2
    assert (
        found[("together_bot_moderation_oldest_waiting_seconds", (("state", "PENDING_REVIEW"),))]
        >= 0
    )
    assert ("together_bot_moderation_queue", (("state", "PUBLISHED"),)) not in found


async def test_metrics_count_turns_refused_by_admission_control(bot: Bot) -> None:
    admission = bot.core.admission
    admission.limit = 1
    inbound = Inbound("memory", "late", "late", "k-late", InboundKind.TEXT, text="hi")
    async with admission.admit():  # one turn in flight: the bound is reached
        with pytest.raises(Busy):
            await bot.core.accept(inbound)
        found = await scrape(bot)
    assert found[("together_bot_turns_in_flight", ())] == 1
    assert found[("together_bot_turns_refused_total", ())] == 1


async def queue_notice(bot: Bot, key: str, *, not_before: datetime | None = None) -> None:
    async with bot.deps.db.transaction() as session:
        await outbox.enqueue(
            session,
            dedupe_key=key,
            platform="memory",
            chat_id="c1",
            payload={"message": Outgoing(text="a notice").to_json()},
            not_before=not_before,
        )


class RateLimited:
    """A platform answering every send with 429."""

    platform = "memory"

    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        raise RetryAfter(30)


async def test_metrics_count_429s_and_the_outbox_backlog(bot: Bot) -> None:
    bot.dispatcher.add_sender(RateLimited())
    await queue_notice(bot, "notice-1")
    assert await bot.dispatcher.run_once() == 1  # the outbox's try meets a 429
    inbound = Inbound("memory", "u1", "u1", "k-1", InboundKind.COMMAND, command="start")
    handled = await bot.core.accept(inbound, RateLimited())
    await handled.delivered()  # the direct reply meets a 429 too, and waits in the outbox

    found = await scrape(bot)
    memory = (("platform", "memory"),)
    assert found[("together_bot_rate_limited_total", memory)] == 2
    assert found[("together_bot_outbox_failures_total", (*memory, ("reason", "rate_limited")))] == 1
    assert found[("together_bot_outbox_pending", memory)] == 1 + len(handled.replies)
    assert ("together_bot_outbox_dead", memory) not in found


async def test_metrics_lag_is_the_wait_of_the_oldest_due_row(bot: Bot) -> None:
    await queue_notice(bot, "old", not_before=utcnow() - timedelta(minutes=10))
    found = await scrape(bot)
    assert 600 <= found[("together_bot_outbox_lag_seconds", ())] < 3600


async def test_each_bot_counts_in_a_registry_of_its_own(
    bot: Bot, settings: Settings, sqlite_db: Database
) -> None:
    other = await make_bot(settings, sqlite_db)
    await MemoryChat(bot.core, user_id="a").send("/start")
    found = await scrape(other)
    assert (
        "together_bot_updates_total",
        (("kind", "command"), ("platform", "memory")),
    ) not in found


async def test_metrics_answer_loopback_only_without_a_token(bot: Bot) -> None:
    for host in ("127.0.0.1", "::1"):
        async with client_of(bot, client=(host, 40000)) as http:
            assert (await http.get("/metrics")).status_code == 200, host
    async with client_of(bot, client=("203.0.113.9", 40000)) as http:
        refused = await http.get("/metrics")
    assert refused.status_code == 403
    assert "together_bot" not in refused.text


async def test_metrics_ask_for_the_token_when_it_is_set(settings: Settings, db: Database) -> None:
    bot = await make_bot(settings.model_copy(update={"metrics_token": SecretStr(TOKEN)}), db)
    # A token set: loopback is no pass (a reverse proxy on the same host is loopback).
    async with client_of(bot) as http:
        assert (await http.get("/metrics")).status_code == 401
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        basic = await http.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
    async with client_of(bot, client=("203.0.113.9", 40000)) as http:
        right = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200
    assert "together_bot_turns_in_flight" in right.text
