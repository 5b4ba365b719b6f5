"""The campaigns file (``CAMPAIGNS_FILE``): checked as a whole (every problem named as
file:campaign:field, nothing applied when any), applied as an upsert (created or brought
to the file's values, the others left alone, reached milestones kept), idempotent, safe
when replicas apply it at once, and a broken file stops the bot from starting; on both
databases (the replicas' race on PostgreSQL only: SQLite's writers never overlap)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn

from bot import campaigns
from bot.adapters.memory import MemoryChat
from bot.app import Bot, build_bot
from bot.campaigns_file import CampaignsFileError, load_campaigns
from bot.cli import main
from bot.config import Settings
from storage.campaigns import CampaignSpec, apply_campaigns, find_campaign, list_campaigns
from storage.db import Database
from storage.models import Campaign
from tests.races import on_statement

EXAMPLE = Path(__file__).resolve().parent.parent / "deploy" / "campaigns.example.toml"

LYON = """
[campaigns.lyon-city-hall]
name = "Lyon City Hall"
starts = 2027-06-01
ends = 2027-06-30
milestones = [1, 1000]
[campaigns.lyon-city-hall.pledge_text]
en = "Lyon stands with refugees."
fr = "Lyon est aux côtés des réfugiés."
"""

UNI = """
[campaigns.uni-geneva]
name = { en = "University of Geneva", fr = "Université de Genève" }
ends = "2027-09-01T18:00:00+02:00"
"""


def _file(tmp_path: Path, text: str, name: str = "campaigns.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _load(settings: Settings, path: Path) -> tuple[CampaignSpec, ...]:
    return load_campaigns(
        path, default_locale=settings.default_locale, default_campaign=settings.default_campaign
    )


async def _apply(bot: Bot, path: Path) -> tuple[int, str, str]:
    """``together-bot campaigns load <path>``: exit status, stdout, stderr."""
    parser = argparse.ArgumentParser(prog="together-bot")
    campaigns.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["campaigns", "load", str(path)])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = await campaigns.command(bot.deps.db, bot.settings, args, out)
    return code, out.getvalue(), err.getvalue()


async def test_a_valid_file_is_applied_and_applying_it_again_changes_nothing(
    bot: Bot, tmp_path: Path
) -> None:
    path = _file(tmp_path, LYON + UNI)
    code, out, err = await _apply(bot, path)
    assert code == 0, err
    assert "campaign lyon-city-hall created" in out and "campaign uni-geneva created" in out
    lyon = await find_campaign(bot.deps.db, "lyon-city-hall")
    assert lyon is not None
    assert lyon.title == {"en": "Lyon City Hall"}
    assert lyon.pledge_text == {
        "en": "Lyon stands with refugees.",
        "fr": "Lyon est aux côtés des réfugiés.",
    }
    assert lyon.starts_at == datetime(2027, 6, 1, tzinfo=UTC)
    assert lyon.ends_at == datetime(2027, 7, 1, tzinfo=UTC)  # through June 30th
    assert lyon.milestones == {1: None, 1000: None} and lyon.active
    uni = await find_campaign(bot.deps.db, "uni-geneva")
    assert uni is not None
    assert uni.title == {"en": "University of Geneva", "fr": "Université de Genève"}
    assert uni.pledge_text is None  # the TOGETHER pledge
    assert uni.ends_at == datetime(2027, 9, 1, 16, tzinfo=UTC)

    before = await list_campaigns(bot.deps.db)
    code, out, _err = await _apply(bot, path)
    assert code == 0
    assert out.splitlines() == [
        "campaign lyon-city-hall unchanged",
        "campaign uni-geneva unchanged",
    ]
    assert await list_campaigns(bot.deps.db) == before


async def test_the_file_is_the_truth_for_its_campaigns_only(bot: Bot, tmp_path: Path) -> None:
    open_now = LYON.replace("starts = 2027-06-01\nends = 2027-06-30\n", "")
    assert (await _apply(bot, _file(tmp_path, open_now + UNI)))[0] == 0
    # Lyon's first milestone reached: it stays when the file no longer lists it.
    await (await _pledge(bot, "lyonnais", "pledge-lyon-city-hall")).tap("I take the pledge")
    found = await find_campaign(bot.deps.db, "lyon-city-hall")
    assert found is not None
    reached = found.milestones[1]
    assert reached is not None
    untouched = await find_campaign(bot.deps.db, "uni-geneva")

    edited = open_now.replace('name = "Lyon City Hall"', 'name = "Ville de Lyon"\nactive = false')
    edited = edited.replace("milestones = [1, 1000]", "milestones = [500]")
    edited = edited.replace('fr = "Lyon est aux côtés des réfugiés."\n', "")
    code, out, err = await _apply(bot, _file(tmp_path, edited))  # Geneva left out
    assert code == 0, err
    assert out.splitlines()[0] == "campaign lyon-city-hall updated"
    lyon = await find_campaign(bot.deps.db, "lyon-city-hall")
    assert lyon is not None
    assert lyon.title == {"en": "Ville de Lyon"}
    assert lyon.pledge_text == {"en": "Lyon stands with refugees."}
    assert lyon.status(datetime.now(UTC)) == "disabled"
    assert lyon.milestones == {1: reached, 500: None}
    assert await find_campaign(bot.deps.db, "uni-geneva") == untouched

    enabled = edited.replace("active = false", "active = true")
    assert (await _apply(bot, _file(tmp_path, enabled)))[0] == 0
    lyon = await find_campaign(bot.deps.db, "lyon-city-hall")
    assert lyon is not None and lyon.active


async def _pledge(bot: Bot, user: str, payload: str) -> MemoryChat:
    chat = MemoryChat(bot.core, user_id=user)
    await chat.send(f"/start {payload}")
    return chat


BROKEN = """
[campaigns.good-one]
name = "Fine"

[campaigns.lyon-city-hall]
name = "Lyon, renamed"
starts = 2027-07-01
ends = 2027-06-30
milestones = [100, 50]
colour = "red"
[campaigns.lyon-city-hall.pledge_text]
en = "   "
xx = "Hello"

[campaigns.Bad_Id]
name = "x"
active = "yes"

[campaigns.together]
name = "TOGETHER"
active = false
"""


async def test_an_invalid_file_is_refused_whole_with_every_problem(
    bot: Bot, tmp_path: Path
) -> None:
    assert (await _apply(bot, _file(tmp_path, LYON)))[0] == 0
    before = await list_campaigns(bot.deps.db)
    path = _file(tmp_path, BROKEN, "broken.toml")
    code, out, err = await _apply(bot, path)
    assert code == 2 and out == ""
    lines = err.splitlines()
    where = f"error: {path}:"
    for expected in (
        "lyon-city-hall:ends: the campaign ends before it starts",
        "lyon-city-hall:milestones: not increasing: [100, 50]",
        "lyon-city-hall:colour: unknown field",
        "lyon-city-hall:pledge_text.en: the pledge text is empty",
        "lyon-city-hall:pledge_text.xx: no language 'xx' in the bot",
        "Bad_Id:id: a campaign id is 1 to 48 lowercase letters",
        "Bad_Id:active: true or false",
        "together:active: together is the default campaign",
    ):
        assert any(line.startswith(where + expected) for line in lines), expected
    assert lines[-1] == f"{path}: refused, nothing applied (8 problem(s))"
    assert await list_campaigns(bot.deps.db) == before  # good-one not created, Lyon as it was


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[campaigns.x\nname = 1", "not a TOML file"),
        ("", "no campaign: expected [campaigns.<id>] tables"),
        ('[campaign.x]\nname = "x"', "campaign: unknown table"),
        ("[campaigns.x]\n", "x:name: missing"),
        ('[campaigns.x]\nname = "a\\nb"', "x:name.en: the name is one line"),
        ('[campaigns.x]\nname = "x"\nmilestones = [0]', "x:milestones: a milestone is a number"),
        ('[campaigns.x]\nname = "x"\nmilestones = 5', "x:milestones: expected a list"),
        ('[campaigns.x]\nname = "x"\nstarts = "soon"', "x:starts: not an ISO 8601 date"),
        ('[campaigns.x]\nname = "x"\nstarts = 08:00:00', "x:starts: a date"),
        ('[campaigns.x]\nname = "x"\npledge_text = "Hi"', "x:pledge_text: expected a table"),
        (
            '[campaigns.x]\nname = "x"\npledge_text = { fr = "a", zh-Hans = "b", zh_Hans = "c" }',
            "x:pledge_text.zh_Hans: zh_Hans given twice",
        ),
        (f'[campaigns.x]\nname = "x"\npledge_text = {{ en = "{"a" * 1001}" }}', "longer than"),
    ],
)
def test_each_problem_is_named(settings: Settings, tmp_path: Path, text: str, reason: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(CampaignsFileError) as refused:
        _load(settings, path)
    assert [error for error in refused.value.errors if reason in error], refused.value.errors
    assert all(error.startswith(f"{path}:") for error in refused.value.errors)


def test_the_example_file_is_valid(settings: Settings) -> None:
    assert len(_load(settings, EXAMPLE)) >= 2


async def test_a_replica_applying_the_file_meanwhile_is_no_error(
    postgres_db: Database, tmp_path: Path
) -> None:
    """Two replicas start at once: both see no campaign, both insert it. The second
    (its reads done before the first commits) then inserts on the first's row, waiting
    for it if it is still open, and brings it to the file's values, without error."""
    specs = load_campaigns(_file(tmp_path, LYON), default_locale="en", default_campaign="together")
    replica = Database(postgres_db.url, pg_schema=postgres_db.pg_schema)
    read = asyncio.Event()

    def after(_conn: object, sql: str) -> None:
        if "FROM milestone" in sql:  # the second's last read before it writes
            read.set()

    try:
        with on_statement(replica, after):
            async with postgres_db.transaction() as session:  # the first replica, mid-way
                session.add(Campaign(id="lyon-city-hall", title={"en": "Lyon"}, active=False))
                await session.flush()
                second = asyncio.create_task(apply_campaigns(replica, specs))
                await read.wait()  # it has seen no campaign: the first commits now
            assert await second == {"lyon-city-hall": "created"}
    finally:
        await replica.dispose()
    found = await find_campaign(postgres_db, "lyon-city-hall")
    assert found is not None and found.active and found.title == {"en": "Lyon City Hall"}
    assert found.milestones == {1: None, 1000: None}


async def test_the_bot_applies_the_file_when_it_starts(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    settings.campaigns_file = _file(tmp_path, LYON)
    bot = build_bot(settings, db=db)
    try:
        await bot.start(migrate=False)
        found = await find_campaign(db, "lyon-city-hall")
        assert found is not None and found.title == {"en": "Lyon City Hall"}
        assert await find_campaign(db, settings.default_campaign) is not None
    finally:
        await bot.stop()


def test_a_broken_file_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", "")
    path = _file(tmp_path, BROKEN)
    monkeypatch.setenv("CAMPAIGNS_FILE", str(path))

    def serve(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the bot started with a broken campaigns file")

    monkeypatch.setattr(uvicorn, "run", serve)
    assert main(["run"]) == 2  # before the web server or the database
    err = capsys.readouterr().err.splitlines()
    assert f"error: {path}:lyon-city-hall:ends: the campaign ends before it starts" in err
    assert err[-1] == "the bot did not start: correct CAMPAIGNS_FILE"
    assert not (tmp_path / "data" / "together.db").exists()

    assert main(["campaigns", "load", str(path), "--check"]) == 2
    assert main(["campaigns", "load", str(_file(tmp_path, LYON, "good.toml")), "--check"]) == 0
    assert "1 campaign(s), all valid" in capsys.readouterr().out
    assert not (tmp_path / "data" / "together.db").exists()  # a check touches no database
