"""A WhatsApp storyteller's number is never shown: not on the moderators' cards
(Telegram's and Slack's), not on the dashboard, not in the operators' exports
(``together-bot export stories|pledges|moderation``, CSV and JSON Lines)."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from bot.cli import write_export
from bot.review.cards import load_card, render_card
from storage.bulk_export import ExportFilter, ExportKind
from storage.db import Database
from storage.models import ModerationItem, OutboxMessage
from tests.adapters.whatsapp.conftest import Phone
from tests.adapters.whatsapp.test_erasure import WA_ID, runs_of, tell_and_pledge
from tests.adapters.whatsapp.test_window import stop_background_outbox
from tests.web.helpers import Dashboard

NEEDLES = runs_of(WA_ID) | {"555 0123", "555-0123", "+1 555"}


def shows_the_number(text: str) -> bool:
    return any(needle in text for needle in NEEDLES)


@pytest.fixture
async def told(phone: Phone) -> int:
    """Amina told a story with a photo and took the pledge on WhatsApp: the item's id."""
    await stop_background_outbox(phone)
    await tell_and_pledge(phone, phone.person(WA_ID))
    async with phone.bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalar_one()
    assert item.id is not None
    return item.id


async def test_the_moderators_cards_never_show_the_number(
    phone: Phone, db: Database, told: int
) -> None:
    async with db.transaction() as session:
        view = await load_card(session, told)
    assert view is not None and "I left Aleppo" in view.text
    for platform in ("telegram", "slack"):
        card = render_card(view, "en", platform=platform, edit_of=None, files_url="/x")
        rendered = json.dumps(card.to_json(), ensure_ascii=False)
        assert "I left Aleppo" in rendered
        assert not shows_the_number(rendered), platform
    # What is stored for the moderators (cards, their jobs): the person's own replies
    # aside, no outbox row holds it.
    async with db.transaction() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    for row in rows:
        if row.chat_id != WA_ID:
            assert not shows_the_number(json.dumps(row.payload)), row.dedupe_key
            assert not shows_the_number(row.dedupe_key)

    moderator = Dashboard(phone.http)
    await moderator.sign_in(phone.bot, "ana")
    queue = await phone.http.get("/moderation")
    page = await moderator.item(told)
    assert page.status_code == 200 and "I left Aleppo" in page.text
    approved = await moderator.act(told, "approve")
    assert approved.status_code in (200, 303), approved.text[:300]
    after = await moderator.item(told)
    for html in (queue.text, page.text, after.text):
        assert not shows_the_number(html)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_the_operators_exports_never_show_the_number(
    phone: Phone, db: Database, told: int, fmt: str
) -> None:
    for kind, expected in (
        (ExportKind.STORIES, "I left Aleppo"),
        (ExportKind.PLEDGES, "Amina"),
        (ExportKind.MODERATION, "PENDING_REVIEW"),
    ):
        out = io.StringIO()
        written = await write_export(db, kind, ExportFilter(), out, fmt)
        assert written >= 1 and expected in out.getvalue(), kind
        assert not shows_the_number(out.getvalue()), kind
