"""The dashboard's Stats page: charts with their tables, the campaign filter, the CSV of a
campaign's pledges, and partner leads who see their own campaign and nothing else."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from bot.app import Bot
from bot.cli import add_moderator, main
from bot.review.login_links import create_login_link
from bot.review.service import ActionRequest, ReviewAction
from storage.db import Database
from storage.models import ModeratorRecord, Pledge, PledgeState, StoryState
from storage.pledges import ensure_campaign
from tests.conftest import make_bot
from tests.web.conftest import _client
from tests.web.helpers import Dashboard, field, item_row, publish, tell

ROW = re.compile(r'<tr><th scope="row">(?:<bdi>)?([^<]*)(?:</bdi>)?</th>((?:<td>[^<]*</td>)+)</tr>')
CELL = re.compile(r"<td>([^<]*)</td>")


def chart_pairs(html: str) -> list[tuple[str, str]]:
    """(svg, table) of every chart on the page, in order."""
    pairs = []
    for chunk in html.split('<div class="chart-pair">')[1:]:
        svg = chunk[chunk.index("<svg") : chunk.index("</svg>")]
        table = chunk[chunk.index("<table") : chunk.index("</table>")]
        pairs.append((svg, table))
    return pairs


def chart_numbers(svg: str) -> dict[str, str]:
    """A chart's figures: a bar's label and value, or a line point's day and value."""
    points = re.findall(r"<circle [^>]*><title>([^<]*): ([^<]*)</title>", svg)
    if points:
        return dict(points)
    labels = re.findall(r'<text class="label"[^>]*>([^<]*)</text>', svg)
    values = re.findall(r'<text class="value"[^>]*>([^<]*)</text>', svg)
    assert len(labels) == len(values)
    return dict(zip(labels, values, strict=True))


def table_numbers(table: str) -> dict[str, str]:
    """A table's rows: its header cell and its first number; for the pledges' table,
    each column's number under "<column>, <day>" as the chart's points are named."""
    rows = ROW.findall(table)
    if 'id="table-pledges"' not in table:
        return {label: CELL.findall(cells)[0] for label, cells in rows}
    head = table[table.index("<thead>") : table.index("</thead>")]
    columns = re.findall(r'<th scope="col">(?:<bdi>)?([^<]*)', head)[1:]
    return {
        f"{column}, {label}": value
        for label, cells in rows
        for column, value in zip(columns, CELL.findall(cells), strict=True)
    }


def assert_charts_match_tables(html: str, count: int) -> list[dict[str, str]]:
    pairs = chart_pairs(html)
    assert len(pairs) == count
    found = []
    for svg, table in pairs:
        assert 'role="img"' in svg and "<title id=" in svg
        assert "<caption>" in table and 'scope="col"' in table
        numbers = chart_numbers(svg)
        assert numbers, svg[:300]
        rows = table_numbers(table)
        # Only the pledges' table (the first) has more: each campaign's total.
        extra = {k: v for k, v in rows.items() if k not in numbers}
        assert not extra or (not found and len(extra) <= 2), extra
        assert numbers == {k: v for k, v in rows.items() if k in numbers}
        found.append(numbers)
    return found


async def pledge(db: Database, campaign: str, n: int, state: PledgeState = PledgeState.CONFIRMED):
    async with db.transaction() as session:
        session.add(
            Pledge(
                campaign_id=campaign,
                identity_key=f"{campaign}-{n}",
                state=state.value,
                display_name=f"Shown{n}",  # the first name a supporter chose to show
            )
        )


async def seed(bot: Bot) -> None:
    db = bot.deps.db
    await ensure_campaign(db, "acme", title={"en": "Acme Relief"})
    for n in range(3):
        await pledge(db, "acme", n)
    await pledge(db, "acme", 9, PledgeState.WITHDRAWN)
    await pledge(db, "together", 1)
    first = await tell(bot, "amina")
    await tell(bot, "omar")
    await publish(bot, first)


async def test_a_lead_sees_each_chart_with_its_numbers_in_a_table(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    await seed(bot)
    lead = Dashboard(client)
    await lead.sign_in(bot, "lea", "lead")
    queue = await client.get("/moderation")
    assert 'href="/moderation/stats"' in queue.text  # in the dashboard's header
    page = await client.get("/moderation/stats")
    assert page.status_code == 200
    html = page.text
    pledges, funnel, languages, origin, residence, decisions = assert_charts_match_tables(html, 6)
    assert len(pledges) == 60  # a point a day on each campaign's line
    assert "<bdi>Acme Relief</bdi>" in html and "<bdi>together</bdi>" in html  # two lines
    assert funnel == {
        "Started": "2",
        "Consented": "2",
        "Submitted": "2",
        "Approved": "1",
        "Published": "1",
    }
    assert languages == {"English": "2"}
    assert origin == {"Syria": "2"}
    assert residence == {"Japan": "2"}
    assert sum(int(v) for v in decisions.values()) == 1
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "export-pledges" not in html  # all campaigns: no one campaign's CSV


async def test_the_campaign_filter_and_its_csv(bot: Bot, client: httpx.AsyncClient) -> None:
    await seed(bot)
    lead = Dashboard(client)
    await lead.sign_in(bot, "lea", "lead")
    page = await client.get("/moderation/stats", params={"campaign": "acme", "days": "7"})
    assert page.status_code == 200
    [svg, table] = chart_pairs(page.text)[0]
    assert "Acme Relief" in table and "Together" not in table
    points = chart_numbers(svg)
    assert len(points) == 7 and sorted(points.values()) == ["0"] * 6 + ["3"]
    assert '<option value="7" selected>' in page.text
    link = re.search(r'href="([^"]*pledges\.csv[^"]*)"', page.text)
    assert link is not None
    download = await client.get(link.group(1).replace("&amp;", "&"))
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert sorted(r["state"] for r in rows) == ["confirmed"] * 3 + ["withdrawn"]
    assert {r["campaign"] for r in rows} == {"acme"}
    assert "identity" not in download.text and "acme-0" not in download.text
    assert sorted(r["name"] for r in rows) == ["", "Shown0", "Shown1", "Shown2"]  # as the CLI
    unknown = await client.get("/moderation/stats", params={"campaign": "nope"})
    assert unknown.status_code == 303
    # Not a campaign id: never in the file name's header.
    odd = await client.get("/moderation/stats/pledges.csv", params={"campaign": 'a"\r\nX: y'})
    assert odd.status_code == 303 and "x" not in odd.headers


async def test_a_moderator_sees_the_numbers_but_downloads_nothing(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    await seed(bot)
    mod = Dashboard(client)
    await mod.sign_in(bot, "ana", "moderator")
    page = await client.get("/moderation/stats", params={"campaign": "acme"})
    assert page.status_code == 200 and "pledges.csv" not in page.text
    refused = await client.get("/moderation/stats/pledges.csv", params={"campaign": "acme"})
    assert refused.status_code == 403


@pytest.fixture
async def arabic_bot(bot: Bot, db: Database) -> Bot:
    return await make_bot(bot.deps.settings.model_copy(update={"moderation_locale": "ar"}), db)


async def test_the_page_in_arabic_reads_right_to_left_in_arabic_digits(arabic_bot: Bot) -> None:
    await seed(arabic_bot)
    async with _client(arabic_bot) as client:
        lead = Dashboard(client)
        await lead.sign_in(arabic_bot, "lea", "lead")
        html = (await client.get("/moderation/stats")).text
    assert '<html lang="ar" dir="rtl">' in html
    found = assert_charts_match_tables(html, 6)
    funnel = found[1]
    assert sorted(funnel.values()) == ["١", "١", "٢", "٢", "٢"]
    assert not re.search(r">[^<]*[0-9][^<]*</t[dh]>", html)  # no ASCII digit in a cell
    # Mirrored: the bars start on the right (the value axis at x = 640 - 200).
    assert '<line class="axis" x1="440.0"' in chart_pairs(html)[1][0]


# -- partner leads ------------------------------------------------------------------------
async def sign_in_partner(bot: Bot, client: httpx.AsyncClient) -> str:
    """Pia, the lead of the 'acme' campaign's partner; returns her CSRF token."""
    await add_moderator(bot.deps.db, "pia", "partner", ["telegram:777"], campaign="acme")
    path = urlsplit(await create_login_link(bot.deps, "pia")).path
    assert (await client.get(path)).status_code == 200
    signed_in = await client.post(path)
    assert signed_in.status_code == 303
    home = await client.get(signed_in.headers["location"])
    assert home.status_code == 303 and home.headers["location"] == "/moderation/stats"
    page = await client.get("/moderation/stats")
    assert page.status_code == 200
    return field(page.text, "csrf")


async def test_a_partner_lead_sees_their_campaign_and_nothing_else(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    await seed(bot)
    item_id = await tell(bot, "layla")
    csrf = await sign_in_partner(bot, client)
    page = await client.get("/moderation/stats")
    html = page.text
    [(svg, _table)] = chart_pairs(html)  # their pledges, and no story's number
    assert "Acme Relief" in html and "Signed in as pia" in html
    assert sorted(chart_numbers(svg).values()) == ["0"] * 29 + ["3"]
    assert 'name="campaign"' not in html and "together" not in html  # no other campaign
    for hidden in ("Story funnel", "Stories by", "Moderation time", "/moderation/thanks"):
        assert hidden not in html
    assert 'href="/moderation"' not in html.replace('href="/moderation/stats', "")
    own = await client.get("/moderation/stats/pledges.csv")
    assert own.status_code == 200
    assert {r["campaign"] for r in csv.DictReader(io.StringIO(own.text))} == {"acme"}
    # Names were given to be shown among the supporters, not to the organisation.
    assert "name" not in own.text.splitlines()[0].split(",") and "Shown" not in own.text

    # Everything else: refused, or back to their page.
    for path in ("/moderation", f"/moderation/items/{item_id}", "/moderation/thanks"):
        answer = await client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/moderation/stats"
    assert (await client.get(f"/moderation/items/{item_id}/media/0")).status_code == 404
    for path in ("/moderation/stats", "/moderation/stats/pledges.csv"):
        other = await client.get(path, params={"campaign": "together"})
        assert other.status_code == 403, path
    version = (await item_row(bot, item_id)).version
    act = await client.post(
        f"/moderation/items/{item_id}",
        data={"csrf": csrf, "action": "approve", "version": str(version)},
    )
    assert act.status_code == 403
    thanks = await client.post("/moderation/thanks/1", data={"csrf": csrf, "action": "pass"})
    assert thanks.status_code == 403
    assert (await item_row(bot, item_id)).state == StoryState.PENDING_REVIEW

    out = await client.post("/moderation/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert (await client.get("/moderation/stats")).headers["location"] == "/moderation/login"


async def test_a_partner_leads_telegram_account_cannot_approve(bot: Bot) -> None:
    item_id = await tell(bot, "amina")
    await ensure_campaign(bot.deps.db, "acme")
    await add_moderator(bot.deps.db, "pia", "partner", ["telegram:777"], campaign="acme")
    item = await item_row(bot, item_id)
    request = ActionRequest(ReviewAction.APPROVE, item_id, item.version)
    outcome = await bot.review.act_from("telegram", "777", request)
    assert not outcome.ok
    assert (await item_row(bot, item_id)).state == StoryState.PENDING_REVIEW
    assert await bot.review.moderator_for("telegram", "777") is None


async def test_a_partner_lead_is_added_with_an_existing_campaign_only(bot: Bot) -> None:
    db = bot.deps.db
    with pytest.raises(ValueError, match="needs --campaign"):
        await add_moderator(db, "pia", "partner", [])
    with pytest.raises(ValueError, match="no campaign 'nope'"):
        await add_moderator(db, "pia", "partner", [], campaign="nope")
    with pytest.raises(ValueError, match="only a partner lead"):
        await add_moderator(db, "ana", "lead", [], campaign="together")
    await add_moderator(db, "pia", "partner", [], campaign="together")
    # Made a moderator later: the campaign goes (a moderator sees every campaign).
    await add_moderator(db, "pia", "moderator", [])
    async with db.transaction() as session:
        record = await session.get(ModeratorRecord, "pia")
    assert record is not None and (record.role, record.campaign_id) == ("moderator", None)


def test_the_command_line_adds_a_partner_lead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setenv("PUBLIC_URL", "https://together.example")
    add = ["moderators", "add", "pia", "--role", "partner"]
    assert main([*add, "--campaign", "lyon"]) == 2  # no such campaign yet
    assert "no campaign 'lyon'" in capsys.readouterr().err
    assert main(["campaigns", "add", "lyon", "--name", "Lyon City Hall"]) == 0
    assert main(add) == 2
    assert main([*add, "--campaign", "lyon", "--account", "telegram:777"]) == 0
    assert main(["moderators", "list"]) == 0
    assert "pia\tpartner:lyon\ttelegram:777\t(table)" in capsys.readouterr().out
    assert main(["moderators", "login", "pia"]) == 0
    assert "https://together.example/moderation/login/" in capsys.readouterr().out
