"""``together-bot campaigns``: a partner campaign's whole life (add, list, show with its
links and QR codes, disable: its link then offers the default pledge), its dates
respected by the pledge flow, bad input refused with a clear message; on both databases."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import zxingcpp
from PIL import Image

from bot import campaigns
from bot.adapters.memory import MemoryChat
from bot.app import Bot
from bot.cli import main
from bot.config import Settings
from storage import pledges
from storage.campaigns import find_campaign


class Clock:
    """Monotonic seconds for the bot's kept campaign rows, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="together-bot")
    campaigns.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["campaigns", *argv])


async def _run(bot: Bot, settings: Settings, argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = await campaigns.command(bot.deps.db, settings, _parse(argv), out)
    return code, out.getvalue()


def _with_telegram(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "telegram_bot_username": "TogetherTestBot",
            "public_url": "https://together.example",
        }
    )


async def _pledge(bot: Bot, user: str, payload: str) -> MemoryChat:
    chat = MemoryChat(bot.core, user_id=user)
    await chat.send(f"/start {payload}")
    return chat


async def test_a_campaign_from_add_to_disable(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    monkeypatch.setattr(bot.deps.rarely, "_clock", clock)
    settings = _with_telegram(bot.settings)
    code, out = await _run(
        bot,
        settings,
        [
            "add",
            "lyon-city-hall",
            "--name",
            "Lyon City Hall",
            "--pledge-text",
            "en=Lyon stands with refugees.",
            "--pledge-text",
            "fr=Lyon est aux côtés des réfugiés.",
            "--milestone",
            "1000",
            "--milestone",
            "50",
        ],
    )
    assert code == 0, capsys.readouterr().err
    assert "campaign lyon-city-hall added" in out

    chat = await _pledge(bot, "lyonnais", "pledge-lyon-city-hall")
    assert "Lyon stands with refugees." in chat.text
    await chat.tap("I take the pledge")
    async with bot.deps.db.transaction() as session:
        assert await pledges.pledge_total(session, "lyon-city-hall") == 1

    code, out = await _run(bot, settings, ["list"])
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert ["lyon-city-hall", "open", "1", "Lyon City Hall"] in rows
    assert rows[-1][:3] == ["together", "open", "0"]

    qr_dir = tmp_path / "qr"
    code, out = await _run(bot, settings, ["show", "lyon-city-hall", "--qr-dir", str(qr_dir)])
    assert code == 0
    telegram = "https://t.me/TogetherTestBot?start=pledge-lyon-city-hall"
    web = "https://together.example/?start=pledge-lyon-city-hall"
    assert f"telegram: {telegram}" in out
    assert f"web: {web}" in out
    assert "slack: no link: Slack's /pledge command takes no campaign" in out
    assert "badge: https://together.example/campaigns/lyon-city-hall/badge.svg" in out
    assert "pledges: 1" in out and "milestones: 50, 1,000" in out
    assert "pledge text: en, fr" in out
    for platform, link in (("telegram", telegram), ("web", web)):
        png = qr_dir / f"lyon-city-hall-{platform}.png"
        assert [r.text for r in zxingcpp.read_barcodes(Image.open(png))] == [link]
        svg = ET.parse(qr_dir / f"lyon-city-hall-{platform}.svg").getroot()  # noqa: S314 - ours
        assert svg.tag == "{http://www.w3.org/2000/svg}svg"
        assert svg.findtext("{http://www.w3.org/2000/svg}title") == f"Lyon City Hall ({platform})"
        assert f"QR code ({platform}): {png}" in out

    code, out = await _run(bot, settings, ["disable", "lyon-city-hall"])
    assert code == 0 and "disabled" in out
    clock.now += 30  # a running bot reads the campaign again at most 30 s later
    late = await _pledge(bot, "late", "pledge-lyon-city-hall")
    assert "no longer open" in late.text and "I stand #WithRefugees" in late.text
    await late.tap("I take the pledge")
    async with bot.deps.db.transaction() as session:
        assert await pledges.pledge_total(session, "lyon-city-hall") == 1
        assert await pledges.pledge_total(session, "together") == 1
    code, out = await _run(bot, settings, ["list"])
    assert ["lyon-city-hall", "disabled", "1", "Lyon City Hall"] in [
        line.split("\t") for line in out.splitlines()
    ]


async def test_the_pledge_is_open_between_its_dates_only(bot: Bot) -> None:
    now = datetime.now(UTC)
    day = timedelta(days=1)
    for campaign_id, starts, ends in (
        ("soon", now + day, None),
        ("over", now - 3 * day, now - day),
        ("running", now - day, now + day),
    ):
        argv = ["add", campaign_id, "--name", campaign_id.title()]
        argv += ["--pledge-text", f"en=The {campaign_id} pledge."]
        if starts is not None:
            argv += ["--starts", starts.isoformat()]
        if ends is not None:
            argv += ["--ends", ends.isoformat()]
        assert (await _run(bot, bot.settings, argv))[0] == 0
    soon = await _pledge(bot, "early", "pledge-soon")
    assert "not opened yet" in soon.text and "I stand #WithRefugees" in soon.text
    assert "The soon pledge." not in soon.text
    over = await _pledge(bot, "late", "pledge-over")
    assert "no longer open" in over.text and "I stand #WithRefugees" in over.text
    running = await _pledge(bot, "on-time", "pledge-running")
    assert "The running pledge." in running.text
    assert "open" not in running.text.split("The running pledge.")[0]
    _code, out = await _run(bot, bot.settings, ["list"])
    states = {line.split("\t")[0]: line.split("\t")[1] for line in out.splitlines()}
    assert (states["soon"], states["over"], states["running"]) == ("not started", "ended", "open")


async def test_a_date_alone_runs_through_that_day(bot: Bot) -> None:
    argv = ["add", "refugee-day", "--name", "Refugee Day"]
    argv += ["--starts", "2027-06-20", "--ends", "2027-06-20"]
    assert (await _run(bot, bot.settings, argv))[0] == 0
    found = await find_campaign(bot.deps.db, "refugee-day")
    assert found is not None
    assert found.starts_at == datetime(2027, 6, 20, tzinfo=UTC)
    assert found.ends_at == datetime(2027, 6, 21, tzinfo=UTC)
    assert found.pledge_text is None  # the TOGETHER pledge


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["add", "Osaka", "--name", "x"], "lowercase letters, digits and dashes"),
        (["add", "a" * 49, "--name", "x"], "1 to 48"),
        (["add", "osaka-", "--name", "x"], "not first or last"),
        (["add", "osaka\n", "--name", "x"], "lowercase letters, digits and dashes"),
        (["add", "osaka", "--name", "  "], "the name is empty"),
        (["add", "osaka", "--name", "x", "--pledge-text", "xx=Hi"], "no language 'xx'"),
        (["add", "osaka", "--name", "x", "--pledge-text", "Hello"], "LANG=TEXT"),
        (["add", "osaka", "--name", "x", "--pledge-text", "ja="], "the pledge text is empty"),
        (
            ["add", "osaka", "--name", "x", "--starts", "2027-01-10", "--ends", "2027-01-09"],
            "ends before it starts",
        ),
        (["add", "together", "--name", "x"], "already a campaign 'together'"),
        (["show", "Bad_Id"], "lowercase letters"),
        (["disable", "together"], "the default campaign"),
    ],
)
async def test_bad_input_is_refused_with_its_reason(
    bot: Bot, argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (await _run(bot, bot.settings, argv))[0] == 2
    assert reason in capsys.readouterr().err
    assert await find_campaign(bot.deps.db, "osaka") is None


async def test_an_unknown_campaign_is_said_so(bot: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    assert (await _run(bot, bot.settings, ["show", "nowhere"]))[0] == 1
    assert (await _run(bot, bot.settings, ["disable", "nowhere"]))[0] == 1
    assert capsys.readouterr().err.splitlines() == ["no campaign nowhere"] * 2


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--starts", "next week"], "not an ISO 8601 date or time"),
        (["--ends", "2027-13-01"], "not an ISO 8601 date or time"),
        (["--milestone", "-5"], "a milestone is a number of pledges"),
    ],
)
def test_bad_dates_and_milestones_stop_the_parser(
    argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        _parse(["add", "osaka", "--name", "Osaka", *argv])
    assert stopped.value.code == 2
    assert reason in capsys.readouterr().err


def test_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setenv("PUBLIC_URL", "https://together.example")
    assert main(["campaigns", "add", "uni-geneva", "--name", "Université de Genève"]) == 0
    assert main(["campaigns", "show", "uni-geneva"]) == 0
    out = capsys.readouterr().out
    assert "uni-geneva: Université de Genève (open)" in out
    assert "web: https://together.example/?start=pledge-uni-geneva" in out
    assert "telegram: set TELEGRAM_BOT_USERNAME" in out
    assert main(["campaigns", "add", "uni-geneva", "--name", "Again"]) == 2
    assert "already a campaign 'uni-geneva'" in capsys.readouterr().err
    assert main(["stats"]) == 0  # its count among the headline numbers
    assert ["uni-geneva", "0", "0", "0"] in [
        line.split() for line in capsys.readouterr().out.splitlines()
    ]


# -- edit and enable ------------------------------------------------------------------
async def test_edit_changes_only_what_is_given(
    bot: Bot, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["add", "osaka", "--name", "Osaka Welcome", "--milestone", "50"]
    argv += ["--pledge-text", "en=Osaka welcomes.", "--pledge-text", "ja=大阪は歓迎します。"]
    argv += ["--starts", "2027-01-01", "--ends", "2027-12-31"]
    assert (await _run(bot, bot.settings, argv))[0] == 0
    before = await find_campaign(bot.deps.db, "osaka")
    assert before is not None

    code, out = await _run(bot, bot.settings, ["edit", "osaka", "--pledge-text", "ja=新しい誓い"])
    assert code == 0, capsys.readouterr().err
    assert "campaign osaka changed (within 30 seconds on a running bot)" in out
    after = await find_campaign(bot.deps.db, "osaka")
    assert after is not None
    assert after.pledge_text == {"en": "Osaka welcomes.", "ja": "新しい誓い"}
    assert (after.title, after.milestones, after.starts_at, after.ends_at, after.active) == (
        before.title,
        before.milestones,
        before.starts_at,
        before.ends_at,
        before.active,
    )

    assert (await _run(bot, bot.settings, ["edit", "osaka", "--ends", "2028-03-31"]))[0] == 0
    assert (await _run(bot, bot.settings, ["edit", "osaka", "--name", "Osaka"]))[0] == 0
    edited = await find_campaign(bot.deps.db, "osaka")
    assert edited is not None
    assert edited.ends_at == datetime(2028, 4, 1, tzinfo=UTC)
    assert edited.title == {"en": "Osaka"}
    assert (edited.starts_at, edited.pledge_text, edited.milestones) == (
        before.starts_at,
        after.pledge_text,
        before.milestones,
    )


async def test_edit_keeps_reached_milestones(bot: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["add", "geneva", "--name", "Geneva", "--milestone", "1", "--milestone", "100"]
    assert (await _run(bot, bot.settings, argv))[0] == 0
    await (await _pledge(bot, "first", "pledge-geneva")).tap("I take the pledge")
    found = await find_campaign(bot.deps.db, "geneva")
    assert found is not None
    reached = found.milestones[1]
    assert reached is not None

    assert (await _run(bot, bot.settings, ["edit", "geneva", "--drop-milestone", "1"]))[0] == 2
    assert "the milestone 1 is reached: it stays" in capsys.readouterr().err
    argv = ["edit", "geneva", "--drop-milestone", "100", "--milestone", "500", "--milestone", "1"]
    assert (await _run(bot, bot.settings, argv))[0] == 0
    found = await find_campaign(bot.deps.db, "geneva")
    assert found is not None and found.milestones == {1: reached, 500: None}


@pytest.mark.parametrize(
    ("argv", "code", "reason"),
    [
        (["edit", "osaka", "--ends", "2026-12-31"], 2, "ends before it starts"),
        (["edit", "osaka", "--pledge-text", "xx=Hi"], 2, "no language 'xx'"),
        (["edit", "osaka", "--pledge-text", "fr=  "], 2, "the pledge text is empty"),
        (["edit", "osaka", "--name", "a" * 81], 2, "longer than 80"),
        (["edit", "osaka"], 2, "nothing to change"),
        (["edit", "nowhere", "--name", "x"], 1, "no campaign nowhere"),
        (["enable", "nowhere"], 1, "no campaign nowhere"),
    ],
)
async def test_a_wrong_edit_changes_nothing(
    bot: Bot, argv: list[str], code: int, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ["add", "osaka", "--name", "Osaka", "--pledge-text", "en=Osaka welcomes."]
    assert (await _run(bot, bot.settings, [*add, "--starts", "2027-01-01"]))[0] == 0
    before = await find_campaign(bot.deps.db, "osaka")
    assert (await _run(bot, bot.settings, argv))[0] == code
    assert reason in capsys.readouterr().err
    assert await find_campaign(bot.deps.db, "osaka") == before


async def test_a_disabled_campaign_enabled_again(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(bot.deps.rarely, "_clock", clock)
    argv = ["add", "lisbon", "--name", "Lisbon", "--pledge-text", "en=Lisbon stands with you."]
    assert (await _run(bot, bot.settings, argv))[0] == 0
    assert (await _run(bot, bot.settings, ["disable", "lisbon"]))[0] == 0
    closed = await _pledge(bot, "early", "pledge-lisbon")
    assert "no longer open" in closed.text
    code, out = await _run(bot, bot.settings, ["enable", "lisbon"])
    assert code == 0
    assert out == "campaign lisbon enabled (within 30 seconds on a running bot)\n"
    clock.now += 30
    opened = await _pledge(bot, "later", "pledge-lisbon")
    assert "Lisbon stands with you." in opened.text and "no longer open" not in opened.text
