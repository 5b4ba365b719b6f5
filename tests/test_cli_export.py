"""``together-bot export`` and ``together-bot stats``: filters on both databases, CSV and
JSON Lines that parse back, nothing erased and nobody's identity in any export, 100,000
rows in bounded memory, and the headline numbers."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import stat
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlmodel import col

from bot.cli import headline_text, main, write_export
from moderation.actors import Storyteller
from moderation.decisions import approve, erase, withdraw
from storage.bulk_export import (
    COLUMNS,
    ExportFilter,
    ExportKind,
    csv_cell,
    export_rows,
    headline,
)
from storage.db import Database
from storage.models import Participant, Pledge, Story
from storage.pledges import ensure_campaign, take_pledge, withdraw_pledge
from tests.moderation.test_support import LEAD, MODERATOR, in_tx, submit_story

DAY1 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
DAY2 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY3 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
ERASED_WORDS = "Zorvandel crossed the river at night"
WITHDRAWN_WORDS = "Quillimar kept the letter"


async def _export(db: Database, kind: ExportKind, fmt: str, **filters: Any) -> list[dict[str, Any]]:
    """The export as ``together-bot export`` writes it, parsed back; every value a string
    in CSV (empty for none), as JSON has it in JSON Lines."""
    out = io.StringIO()
    written = await write_export(db, kind, ExportFilter(**filters), out, fmt)
    body = out.getvalue()
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(body, newline=""))
        assert tuple(reader.fieldnames or ()) == COLUMNS[kind]
        rows = list(reader)
    else:
        rows = [json.loads(line) for line in body.splitlines()]
        assert all(tuple(row) == COLUMNS[kind] for row in rows)
    assert len(rows) == written
    return rows


async def _dated(db: Database, story_id: int, moment: datetime) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Story).where(col(Story.id) == story_id).values(submitted_at=moment)
        )


async def _stories(db: Database) -> dict[str, int]:
    """A pending story (day 1), a published-to-be approved one (day 2), a withdrawn one
    and an erased one (day 3); returns their ids by name."""
    _pending, pending_story = await submit_story(db, text='=HYPERLINK("http://x") I stayed.')
    approved, approved_story = await submit_story(db, text="I found work in Lyon.")
    taken, taken_story = await submit_story(db, text=WITHDRAWN_WORDS)
    gone, gone_story = await submit_story(db, text=ERASED_WORDS)
    await in_tx(
        db,
        lambda s: approve(
            s, item_id=approved.id or 0, version=approved.version, moderator=MODERATOR
        ),
    )
    assert taken_story.participant_id is not None
    teller = Storyteller(taken_story.participant_id)
    await in_tx(db, lambda s: withdraw(s, item_id=taken.id or 0, storyteller=teller))
    await in_tx(db, lambda s: erase(s, item_id=gone.id or 0, actor=LEAD))
    ids = {
        "pending": pending_story.id or 0,
        "approved": approved_story.id or 0,
        "withdrawn": taken_story.id or 0,
        "erased": gone_story.id or 0,
    }
    async with db.transaction() as session:  # credited by the first name only
        await session.execute(
            update(Story).where(col(Story.id) == ids["pending"]).values(credit_mode="first_name")
        )
    for name, moment in (("pending", DAY1), ("approved", DAY2), ("withdrawn", DAY3)):
        await _dated(db, ids[name], moment)
    await _dated(db, ids["erased"], DAY3)
    return ids


@pytest.mark.parametrize("fmt", ["csv", "json"])
async def test_stories_export_with_its_filters_and_never_an_erased_story(
    db: Database, fmt: str
) -> None:
    ids = await _stories(db)
    rows = await _export(db, ExportKind.STORIES, fmt)
    by_id = {int(row["id"]): row for row in rows}
    assert set(by_id) == {ids["pending"], ids["approved"], ids["withdrawn"]}
    assert ERASED_WORDS not in json.dumps(rows)
    approved = by_id[ids["approved"]]
    assert approved["state"] == "APPROVED"
    assert approved["text"] == "I found work in Lyon."
    assert approved["credit_name"] == "Amal Haddad"
    assert approved["submitted_at"] == DAY2.isoformat()
    # A withdrawn story: its row, never its words.
    withdrawn = by_id[ids["withdrawn"]]
    assert withdrawn["state"] == "WITHDRAWN"
    assert not withdrawn["text"] and not withdrawn["credit_name"]
    assert not withdrawn["community_message"]
    assert WITHDRAWN_WORDS not in json.dumps(rows)
    # A cell a spreadsheet would run as a formula is plain text in CSV; JSON keeps it.
    assert by_id[ids["pending"]]["credit_name"] == "Amal"  # as it is published
    pending_text = by_id[ids["pending"]]["text"]
    formula = '=HYPERLINK("http://x") I stayed.'
    assert pending_text == ("'" + formula if fmt == "csv" else formula)

    only = await _export(db, ExportKind.STORIES, fmt, states=("PENDING_REVIEW",))
    assert [int(row["id"]) for row in only] == [ids["pending"]]
    window = await _export(db, ExportKind.STORIES, fmt, since=DAY2, until=DAY3)
    assert [int(row["id"]) for row in window] == [ids["approved"]]
    late = await _export(db, ExportKind.STORIES, fmt, since=DAY3)
    assert [int(row["id"]) for row in late] == [ids["withdrawn"]]
    assert await _export(db, ExportKind.STORIES, fmt, states=("ERASED",)) == []


@pytest.mark.parametrize("fmt", ["csv", "json"])
async def test_moderation_export_names_moderators_only_and_leaves_erased_stories_out(
    db: Database, fmt: str
) -> None:
    ids = await _stories(db)
    rows = await _export(db, ExportKind.MODERATION, fmt)
    stories = {int(row["story_id"]) for row in rows}
    assert stories == {ids["pending"], ids["approved"], ids["withdrawn"]}
    approvals = [row for row in rows if row["action"] == "approve"]
    assert [(r["to_state"], r["by"], r["moderator"]) for r in approvals] == [
        ("APPROVED", "moderator", MODERATOR.id)
    ]
    withdrawal = next(row for row in rows if row["action"] == "withdraw")
    assert withdrawal["by"] == "storyteller" and not withdrawal["moderator"]
    assert "participant:" not in json.dumps(rows)
    ids_in_order = [int(row["id"]) for row in rows]
    assert ids_in_order == sorted(ids_in_order)

    only = await _export(db, ExportKind.MODERATION, fmt, states=("WITHDRAWN",))
    assert [row["action"] for row in only] == ["withdraw"]
    assert (
        await _export(db, ExportKind.MODERATION, fmt, since=datetime.now(UTC) + timedelta(1)) == []
    )


async def _pledges(db: Database) -> None:
    """Two campaigns; a named pledge, an unnamed one, one withdrawn after naming itself."""
    await ensure_campaign(db, "together")
    await ensure_campaign(db, "city-hall")
    async with db.transaction() as session:
        people = [
            Participant(
                platform="telegram",
                external_id=f"supporter-{n}",
                chat_id=f"supporter-{n}",
                identity_key=f"identity-secret-{n}",
                display_name=f"platform-name-{n}",
            )
            for n in range(3)
        ]
        session.add_all(people)
        await session.flush()
        for person, campaign in zip(people, ("together", "together", "city-hall"), strict=True):
            await take_pledge(
                session,
                db,
                campaign_id=campaign,
                identity_key=person.identity_key,
                participant_id=person.id,
                referral="partner-7",
            )
    async with db.transaction() as session:
        await session.execute(
            update(Pledge)
            .where(col(Pledge.identity_key) == "identity-secret-0")
            .values(display_name="Rosa", country="MX", created_at=DAY1)
        )
        await session.execute(
            update(Pledge)
            .where(col(Pledge.identity_key) == "identity-secret-1")
            .values(created_at=DAY2)
        )
        await session.execute(
            update(Pledge)
            .where(col(Pledge.identity_key) == "identity-secret-2")
            .values(display_name="Withdrawn Wendel", created_at=DAY3)
        )
        await withdraw_pledge(
            session, db, campaign_id="city-hall", identity_key="identity-secret-2"
        )


@pytest.mark.parametrize("fmt", ["csv", "json"])
async def test_pledges_export_says_nothing_of_who_pledged(db: Database, fmt: str) -> None:
    await _pledges(db)
    rows = await _export(db, ExportKind.PLEDGES, fmt)
    dumped = json.dumps(rows)
    assert "identity-secret" not in dumped and "platform-name" not in dumped
    assert "Withdrawn Wendel" not in dumped  # a name shown only while the pledge stands
    assert not {"identity_key", "participant_id", "participant"} & set(rows[0])
    seen = [(r["campaign"], r["state"], r["name"] or None, r["country"] or None) for r in rows]
    assert seen == [
        ("together", "confirmed", "Rosa", "MX"),
        ("together", "confirmed", None, None),
        ("city-hall", "withdrawn", None, None),
    ]
    assert rows[0]["referral"] == "partner-7" and rows[0]["pledged_at"] == DAY1.isoformat()

    city = await _export(db, ExportKind.PLEDGES, fmt, campaigns=("city-hall",))
    assert [r["state"] for r in city] == ["withdrawn"]
    confirmed = await _export(db, ExportKind.PLEDGES, fmt, states=("confirmed",))
    assert [r["name"] or None for r in confirmed] == ["Rosa", None]
    window = await _export(db, ExportKind.PLEDGES, fmt, since=DAY2, until=DAY3)
    assert [r["pledged_at"] for r in window] == [DAY2.isoformat()]


async def test_pages_are_read_one_after_another_by_id(db: Database) -> None:
    await _pledges(db)
    one_by_one = [
        row async for row in export_rows(db, ExportKind.PLEDGES, ExportFilter(), page_size=1)
    ]
    all_at_once = [row async for row in export_rows(db, ExportKind.PLEDGES, ExportFilter())]
    assert one_by_one == all_at_once and len(one_by_one) == 3


async def test_a_story_erased_while_an_export_runs_is_not_exported(db: Database) -> None:
    await submit_story(db, text="I arrived in Lisbon.")
    later, later_story = await submit_story(db, text=ERASED_WORDS)
    rows = export_rows(db, ExportKind.STORIES, ExportFilter(), page_size=1)
    assert (await anext(rows))["text"] == "I arrived in Lisbon."
    await in_tx(db, lambda s: erase(s, item_id=later.id or 0, actor=LEAD))
    assert [row async for row in rows] == []
    assert later_story.id not in [
        row["id"] for row in await _export(db, ExportKind.STORIES, "json")
    ]


async def test_an_export_never_waits_for_the_writer(db: Database) -> None:
    """Read-only snapshots: the export runs to its end while a writer holds its
    transaction open (SQLite's one writer), and sees only what was committed."""
    await _pledges(db)
    async with db.transaction() as session:
        session.add(Pledge(campaign_id="together", identity_key="uncommitted", state="confirmed"))
        await session.flush()
        # The timeout only stops a hang: an export behind the writer never ends.
        rows = await asyncio.wait_for(_export(db, ExportKind.PLEDGES, "json"), timeout=60)
        assert len(rows) == 3


class _Counting(io.TextIOBase):
    """Where the export goes in the memory test: lines counted, then forgotten."""

    def __init__(self) -> None:
        self.lines = 0
        self.chars = 0

    def write(self, s: str) -> int:
        self.lines += s.count("\n")
        self.chars += len(s)
        return len(s)


ROWS = 100_000
# The pledge rows at once, as dictionaries, take far more than this (over 40 MB); one
# page of 1,000 takes well under it.
PEAK_BOUND = 4 * 1024 * 1024


async def test_one_hundred_thousand_pledges_stream_in_bounded_memory(db: Database) -> None:
    await ensure_campaign(db, "together")
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO pledge (campaign_id, identity_key, state, display_name, country, "
                "referral, created_at) "
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) "
                "SELECT 'together', 'key-' || i, 'confirmed', 'Supporter number ' || i, 'FR', "
                "'campaign-referral', :at FROM n"
            ),
            {"rows": ROWS, "at": DAY1},
        )
    for fmt in ("csv", "json"):
        sink = _Counting()
        tracemalloc.start()
        try:
            written = await write_export(db, ExportKind.PLEDGES, ExportFilter(), sink, fmt)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert written == ROWS
        assert sink.lines == ROWS + (1 if fmt == "csv" else 0)
        assert sink.chars > 8 * 1024 * 1024  # the data is far larger than the bound
        assert peak < PEAK_BOUND, (fmt, peak)


async def test_stats_prints_the_headline_numbers(db: Database) -> None:
    await _stories(db)
    await _pledges(db)
    numbers = await headline(db)
    assert numbers.pledges["together"]["confirmed"] == 2
    assert numbers.pledges["city-hall"] == {"confirmed": 0, "held": 0, "withdrawn": 1}
    assert numbers.stories_by_state == {
        "APPROVED": 1,
        "ERASED": 1,
        "PENDING_REVIEW": 1,
        "WITHDRAWN": 1,
    }
    assert numbers.stories_by_language == {"en": 3}
    assert numbers.people_by_platform == {"telegram": 7}
    queue = {q.state: q for q in numbers.queue}
    assert queue["PENDING_REVIEW"].waiting == 1 and queue["SAFETY_REVIEW"].waiting == 0
    since = queue["PENDING_REVIEW"].oldest_since
    assert since is not None
    out = headline_text(numbers, since + timedelta(hours=3, minutes=5))
    lines = out.splitlines()
    assert "Pledges by campaign" in lines
    assert lines[lines.index("Pledges by campaign") + 1].split() == [
        "campaign",
        "confirmed",
        "held",
        "withdrawn",
    ]
    rows = [line.split() for line in lines]
    assert ["city-hall", "0", "0", "1"] in rows
    assert ["PENDING_REVIEW", "1", "3h", "05m"] in rows
    assert ["SAFETY_REVIEW", "0", "-"] in rows
    assert ["ERASED", "1"] in rows
    assert ["telegram", "7"] in rows
    # Numbers are right-aligned under their heading.
    assert "  PENDING_REVIEW        1  3h 05m" in lines


def test_csv_cells() -> None:
    assert [csv_cell(v) for v in (None, True, 3, "+1 555", "@me", "plain")] == [
        "",
        "true",
        "3",
        "'+1 555",
        "'@me",
        "plain",
    ]


def test_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", "")
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()

    async def fill() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'together.db'}")
        try:
            await _pledges(db)
        finally:
            await db.dispose()

    asyncio.run(fill())
    assert main(["export", "pledges", "--campaign", "together", "--since", "2026-11-02"]) == 0
    captured = capsys.readouterr()
    assert [r["pledged_at"] for r in csv.DictReader(io.StringIO(captured.out))] == [
        DAY2.isoformat()
    ]
    assert "1 pledges exported" in captured.err
    target = tmp_path / "pledges.jsonl"
    assert main(["export", "pledges", "--format", "json", "--output", str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [json.loads(line)["campaign"] for line in target.read_text().splitlines()] == [
        "together",
        "together",
        "city-hall",
    ]
    assert main(["export", "stories", "--campaign", "together"]) == 2
    assert "--campaign selects pledges only" in capsys.readouterr().err
    assert main(["export", "stories", "--state", "ERASED"]) == 2
    assert "erased stories are never exported" in capsys.readouterr().err
    assert main(["export", "pledges", "--state", "PUBLISHED"]) == 2
    with pytest.raises(SystemExit):
        main(["export", "pledges", "--since", "yesterday"])
    capsys.readouterr()
    assert main(["stats"]) == 0
    out = capsys.readouterr().out
    assert ["together", "2", "0", "0"] in [line.split() for line in out.splitlines()]
    assert "People by platform" in out
