"""Share links on WhatsApp: with WHATSAPP_PHONE_NUMBER a WhatsApp user's links open a chat
with the bot's number with the deep-link word filled in (``https://wa.me/<number>?text=
pledge``), and that word, sent alone, starts what ``/start pledge`` starts on Telegram;
the same word in a sentence stays text. Without the number: the web chat, as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from bot.adapters.whatsapp.parsing import parse_message, start_payload
from bot.campaigns import campaign_links
from bot.config import Settings
from bot.core.events import Inbound, InboundKind
from storage.db import Database
from storage.models import Campaign, Pledge
from tests.adapters.whatsapp.conftest import Person, Phone, open_phone, whatsapp_settings
from tests.adapters.whatsapp.test_reading import published
from tests.fakes.whatsapp_api import FakeGraphApi, WhatsAppWebhooks, interactive_of, text_of

NUMBER = "447700900123"
WA_LINK = f"https://wa.me/{NUMBER}?text="
hooks = WhatsAppWebhooks()


@pytest.fixture
async def numbered(settings: Settings, db: Database, api: FakeGraphApi) -> AsyncIterator[Phone]:
    """The bot with its public number set (``WHATSAPP_PHONE_NUMBER``)."""
    with_number = whatsapp_settings(settings, api, whatsapp_phone_number=NUMBER)
    async for opened in open_phone(with_number, db, api):
        yield opened


def shown(person: Person) -> str:
    """Everything the last answers show: texts and the addresses of link buttons."""
    pieces = []
    for call in person.last:
        pieces.append(text_of(call))
        action = interactive_of(call).get("action", {})
        pieces.append(str(action.get("parameters", {}).get("url", "")))
    return "\n".join(pieces)


async def pledge(person: Person) -> None:
    await person.tap("I take the pledge")
    await person.send("Amina")
    await person.send("Japan")
    assert "person has taken the pledge" in person.text or "people have" in person.text


@pytest.mark.parametrize(
    ("typed", "payload"),
    [
        ("pledge", "pledge"),
        ("Pledge ", "pledge"),  # a phone's capital and a trailing space
        ("PLEDGE-Spring_2027", "pledge-Spring_2027"),  # the campaign as written
        ("story", "story"),
        ("s-12", "s-12"),
        ("REF-poster7", "ref-poster7"),
        ("I pledge", None),
        ("pledge now", None),
        ("storytelling", None),
        ("s-12a", None),
        ("pledge-", None),
    ],
)
def test_a_share_link_s_word_alone_is_start(typed: str, payload: str | None) -> None:
    assert start_payload(typed) == payload
    message = hooks.text("15550123456", typed)["entry"][0]["changes"][0]["value"]["messages"][0]
    parsed = parse_message(message, {})
    assert isinstance(parsed, Inbound)
    if payload is None:
        assert parsed.kind is InboundKind.TEXT
    else:
        assert (parsed.kind, parsed.command, parsed.args) == (
            InboundKind.COMMAND,
            "start",
            payload,
        )


async def test_the_pledge_s_share_link_opens_the_bot_s_number_and_starts_the_pledge(
    numbered: Phone,
) -> None:
    amina = numbered.person("15550123456")
    await amina.send("hello")
    await amina.tap("Take the pledge")
    await pledge(amina)
    assert f"{WA_LINK}pledge" in shown(amina)
    assert "/?start=" not in shown(amina) and "t.me" not in shown(amina)
    # Her friend opens the link: WhatsApp fills in "pledge"; they send it as it is.
    friend = numbered.person("15550987654", name="Omar")
    await friend.send("pledge")
    assert "The TOGETHER pledge:" in friend.text and "I stand #WithRefugees" in friend.text


async def test_a_campaign_s_word_starts_that_campaign_s_pledge(
    numbered: Phone, db: Database
) -> None:
    async with db.transaction() as session:
        session.add(
            Campaign(id="lyon", title={"en": "Lyon"}, pledge_text={"en": "Lyon welcomes all."})
        )
    # The operator's link (together-bot campaigns show), as WhatsApp fills it in.
    links = {link.platform: link.url for link in campaign_links(numbered.bot.deps.settings, "lyon")}
    assert links["whatsapp"] == f"{WA_LINK}pledge-lyon"
    friend = numbered.person("15550987654")
    await friend.send(parse_qs(urlsplit(links["whatsapp"]).query)["text"][0])
    assert "“Lyon welcomes all.”" in friend.text
    await friend.send("/cancel")
    await friend.send("PLEDGE-lyon")  # typed from a poster, in capitals
    assert "“Lyon welcomes all.”" in friend.text
    await pledge(friend)
    assert f"{WA_LINK}pledge-lyon" in shown(friend)


async def test_the_word_inside_a_flow_s_answer_is_the_answer(numbered: Phone) -> None:
    amina = numbered.person("15550123456")
    await amina.send("hello")
    await amina.tap("Take the pledge")
    await amina.tap("I take the pledge")
    await amina.send("Pledge Amina")  # her name, with the word in it
    assert "The TOGETHER pledge:" not in amina.text
    await amina.send("Japan")
    async with numbered.bot.deps.db.transaction() as session:
        [row] = (await session.execute(select(Pledge))).scalars().all()
    assert (row.display_name, row.country) == ("Pledge Amina", "JP")


async def test_a_story_s_share_link_opens_it_on_whatsapp(numbered: Phone) -> None:
    story_id = await published(numbered.bot, "amina")
    reader = numbered.person("15550123456")
    await reader.send("/stories")
    await reader.tap("Share this story")
    assert f"{WA_LINK}s-{story_id}" in shown(reader)
    assert "Telegram" not in shown(reader)
    friend = numbered.person("15550987654")
    await friend.send(f"s-{story_id}")
    assert "I left Aleppo in 2015" in friend.text


async def test_without_the_number_share_links_open_the_web_chat(phone: Phone) -> None:
    amina = phone.person("15550123456")
    await amina.send("hello")
    await amina.tap("Take the pledge")
    await pledge(amina)
    assert "/?start=pledge" in shown(amina) and "wa.me" not in shown(amina)
    [whatsapp] = [
        x for x in campaign_links(phone.bot.deps.settings, "lyon") if x.platform == "whatsapp"
    ]
    assert (whatsapp.url, whatsapp.note) == (None, "set WHATSAPP_PHONE_NUMBER to get the link")


@pytest.mark.parametrize("number", ["+447700900123", "0447700900123", "44 7700 900123", "12345"])
def test_the_number_is_international_digits_without_plus(settings: Settings, number: str) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({**settings.model_dump(), "whatsapp_phone_number": number})
    assert (
        Settings.model_validate(
            {**settings.model_dump(), "whatsapp_phone_number": NUMBER}
        ).whatsapp_phone_number
        == NUMBER
    )
