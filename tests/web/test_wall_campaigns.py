"""Partner campaigns on the story wall: ``?campaign=<id>`` puts an open campaign's name,
live count and pledge link in the header; the first page lists the open campaigns, the
largest ten, names escaped; the counts are never kept, and one query reads them all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from bot.app import Bot
from bot.handlers.pledge import total_text
from bot.i18n import ngettext
from bot.i18n.formatting import format_count
from bot.web import wall
from storage.campaigns import add_campaign, disable_campaign
from storage.models import utcnow
from storage.pledges import take_pledge
from tests.web.helpers import item_row, publish, tell

LYON = {"en": "Cafés Lyon", "ar": "مقاهي ليون"}
HEADER = re.compile(r'<p class="pledge">(.*?)</p>', re.S)
BLOCK = re.compile(r'<aside class="partner-campaigns".*?</aside>', re.S)


async def pledges(bot: Bot, campaign_id: str, people: int, *, first: int = 0) -> None:
    for person in range(first, first + people):
        async with bot.deps.db.transaction() as session:
            await take_pledge(
                session,
                bot.deps.db,
                campaign_id=campaign_id,
                identity_key=f"{campaign_id}-{person}",
                participant_id=None,
            )


def header(page: str) -> str:
    found = HEADER.search(page)
    assert found is not None
    return found.group(1)


def block(page: str) -> str | None:
    found = BLOCK.search(page)
    return found.group(0) if found else None


def words(bot: Bot, locale: str, total: int) -> str:
    """The header's count line in ``locale``."""
    with bot.deps.translator.use(locale) as active:
        return total_text(total, active)


def listed(bot: Bot, locale: str, total: int) -> str:
    """A campaign's count in the list, in ``locale``."""
    with bot.deps.translator.use(locale) as active:
        return ngettext("{count} pledge", "{count} pledges", total).format(
            count=format_count(total, active)
        )


@pytest.mark.parametrize("locale", ["en", "ar"])
async def test_a_partner_campaigns_header_its_name_and_live_count(
    bot: Bot, client: httpx.AsyncClient, locale: str
) -> None:
    await add_campaign(bot.deps.db, "cafes-lyon", title=LYON)
    await pledges(bot, "cafes-lyon", 2)
    await pledges(bot, bot.settings.default_campaign, 5)

    page = (await client.get(f"/stories?campaign=cafes-lyon&lang={locale}")).text
    direction = "rtl" if locale == "ar" else "ltr"
    assert f'<html lang="{locale}" dir="{direction}">' in page
    top = header(page)
    assert f'<bdi class="pledge-campaign">{LYON[locale]}</bdi>' in top
    assert f'<span class="pledge-count">{words(bot, locale, 2)}</span>' in top
    assert 'class="pledge-link" href="/?start=pledge-cafes-lyon"' in top
    assert words(bot, locale, 5) not in top  # not the default campaign's count

    # The page is kept; the count is not: a pledge shows at the next request.
    await pledges(bot, "cafes-lyon", 1, first=2)
    again = header((await client.get(f"/stories?campaign=cafes-lyon&lang={locale}")).text)
    assert f'<span class="pledge-count">{words(bot, locale, 3)}</span>' in again
    # The same on a story's own page.
    item_id = await tell(bot, "amina")
    await publish(bot, item_id)
    story_id = (await item_row(bot, item_id)).story_id
    story = (await client.get(f"/stories/{story_id}?campaign=cafes-lyon&lang={locale}")).text
    assert f'<bdi class="pledge-campaign">{LYON[locale]}</bdi>' in header(story)


async def test_a_name_missing_in_the_readers_language_falls_back_as_the_badge(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    await add_campaign(bot.deps.db, "cafes-lyon", title=LYON)
    await add_campaign(bot.deps.db, "osaka", title={"ja": "大阪ウェルカム"})
    japanese = header((await client.get("/stories?campaign=cafes-lyon&lang=ja")).text)
    assert '<bdi class="pledge-campaign">Cafés Lyon</bdi>' in japanese  # the default locale's
    french = header((await client.get("/stories?campaign=osaka&lang=fr")).text)
    assert '<bdi class="pledge-campaign">大阪ウェルカム</bdi>' in french  # the only one


@pytest.mark.parametrize(
    "asked",
    [
        "nosuch-campaign",  # unknown
        "disabled-one",
        "later-one",  # not started
        "ended-one",
        "CAFES-LYON",  # not an id
        "cafes-lyon%0A",  # an id and a line break
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "a" * 5000,
    ],
)
async def test_an_unknown_or_closed_campaign_shows_the_default_header(
    bot: Bot, client: httpx.AsyncClient, asked: str
) -> None:
    now = utcnow()
    await add_campaign(bot.deps.db, "cafes-lyon", title=LYON)
    await add_campaign(bot.deps.db, "disabled-one", title={"en": "Disabled"})
    await disable_campaign(bot.deps.db, "disabled-one")
    await add_campaign(
        bot.deps.db, "later-one", title={"en": "Later"}, starts_at=now + timedelta(days=1)
    )
    await add_campaign(
        bot.deps.db,
        "ended-one",
        title={"en": "Ended"},
        starts_at=now - timedelta(days=2),
        ends_at=now - timedelta(days=1),
    )
    for campaign_id in ("cafes-lyon", "disabled-one", "later-one", "ended-one"):
        await pledges(bot, campaign_id, 3)
    await pledges(bot, bot.settings.default_campaign, 1)

    answer = await client.get(f"/stories?campaign={asked}")
    assert answer.status_code == 200
    top = header(answer.text)
    assert top == (
        '<span class="pledge-count">1 person has taken the pledge.</span> '
        '<a class="pledge-link" href="/?start=pledge">Take the pledge</a>'
    )
    assert not any(echo in answer.text for echo in ("nosuch", "alert(1)", "aaaaaaaa"))
    # Only the open campaign is listed.
    listing = block(answer.text)
    assert listing is not None and "Cafés Lyon" in listing
    assert not any(name in listing for name in ("Disabled", "Later", "Ended"))


async def test_the_list_of_partner_campaigns_bounded_largest_first_and_escaped(
    bot: Bot, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert block((await client.get("/stories")).text) is None  # none yet: no block
    await add_campaign(bot.deps.db, "evil", title={"en": "<script>alert(1)</script> & co"})
    await pledges(bot, "evil", 20)
    for number in range(1, 12):  # eleven more, campaign-1 with 1 pledge .. campaign-11
        await add_campaign(bot.deps.db, f"campaign-{number}", title={"en": f"Campaign {number}"})
        await pledges(bot, f"campaign-{number}", number)
    bot.deps.rarely.forget()  # as 30 seconds later

    page = (await client.get("/stories?lang=ar")).text
    listing = block(page)
    assert listing is not None
    names = re.findall(r'<li><a href="([^"]*)"[^>]*><bdi>(.*?)</bdi></a>', listing)
    assert len(names) == wall.CAMPAIGNS_SHOWN == 10
    assert names[0] == (
        "/stories?campaign=evil&amp;lang=ar",
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co",
    )
    assert [name for _href, name in names[1:]] == [f"Campaign {n}" for n in range(11, 2, -1)]
    assert "<script>alert" not in page
    assert listed(bot, "ar", 20) in listing and listed(bot, "ar", 11) in listing
    assert "Campaign 2<" not in listing and "Campaign 1<" not in listing  # the smallest

    # Its own view marks it; a second page has no list.
    chosen = block((await client.get("/stories?campaign=campaign-11")).text)
    assert chosen is not None
    assert '<a href="/stories?campaign=campaign-11" aria-current="page">' in chosen
    for user in ("a", "b"):
        await publish(bot, await tell(bot, user, text=f"Story of {user}."))
    monkeypatch.setattr(wall, "PAGE_SIZE", 1)
    assert block((await client.get("/stories")).text) is not None
    second = (await client.get("/stories?page=2")).text
    assert "Story of a." in second and block(second) is None
    assert "<!--" not in second.split("</head>", 1)[1]  # no marker left behind


@pytest.fixture
def statements(bot: Bot) -> Iterator[list[str]]:
    """Every SQL statement the app runs, on the writer and the readers."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    engines = {id(e): e.sync_engine for e in (bot.deps.db.engine, bot.deps.db.reader)}
    for engine in engines.values():
        event.listen(engine, "before_cursor_execute", record)
    yield seen
    for engine in engines.values():
        event.remove(engine, "before_cursor_execute", record)


async def test_one_query_reads_every_campaigns_count(
    bot: Bot, client: httpx.AsyncClient, statements: list[str]
) -> None:
    if not bot.deps.db.is_postgres:
        pytest.skip("SQLite's writer runs the hot statements on sqlite3 itself, unseen here")

    async def count_per_request() -> int:
        bot.deps.rarely.forget()  # the names read again too: the worst case
        await client.get("/stories")  # the page kept
        statements.clear()
        await client.get("/stories?campaign=c-1")
        return len(statements)

    await add_campaign(bot.deps.db, "c-1", title={"en": "One"})
    await pledges(bot, "c-1", 1)
    few = await count_per_request()
    for number in range(2, 9):
        await add_campaign(bot.deps.db, f"c-{number}", title={"en": f"C {number}"})
        await pledges(bot, f"c-{number}", 1)
    assert await count_per_request() == few  # eight campaigns cost what one does
