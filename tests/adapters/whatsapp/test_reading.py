"""Reading published stories on WhatsApp, end to end over the fake Graph API: a card with
the photo a moderator published sent as an image (never a file kept back), a voice note
by a link to the story's page when the bot has a public address, the next story and the
stories of a country; in English and Arabic."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import Bot
from bot.config import Settings
from storage.db import Database
from tests import media_samples as samples
from tests.adapters.whatsapp.conftest import Person, Phone, open_phone, whatsapp_settings
from tests.fakes.whatsapp_api import FakeGraphApi, interactive_of, options_of, text_of
from tests.web.helpers import item_row, publish, tell
from tests.web.test_wall_media import attach

PUBLIC = "https://together.example.org"
WA_ID = "15550123456"
ARABIC_STORY = "غادرت حلب سنة ٢٠١٥.\n\nاليوم أدرس التمريض في أوساكا."


async def published(bot: Bot, user: str, **told: str) -> int:
    """A story told in chat and published; its id."""
    item_id = await tell(bot, user, **told)
    await publish(bot, item_id)
    return (await item_row(bot, item_id)).story_id


@pytest.fixture
async def public(settings: Settings, db: Database, api: FakeGraphApi) -> AsyncIterator[Phone]:
    """The bot with a public address (``PUBLIC_URL``)."""
    with_url = whatsapp_settings(settings, api, public_url=PUBLIC)
    async for opened in open_phone(with_url, db, api):
        yield opened


def kinds(person: Person) -> list[str]:
    return [str(c.params["type"]) for c in person.last]


def titles(person: Person) -> list[str]:
    return [t for c in person.last for t, _id in options_of(c)]


async def test_a_card_sends_its_published_photo_and_links_its_voice_note(public: Phone) -> None:
    story_id = await published(public.bot, "amina")
    await attach(public.bot, story_id, samples.jpeg_with_gps(width=40, height=40), publish=False)
    await attach(public.bot, story_id, samples.jpeg_with_gps(width=80, height=40), position=1)
    await attach(public.bot, story_id, samples.ogg_opus_with_tags(), position=2)
    reader = public.person(WA_ID)
    await reader.send("/stories")
    assert kinds(reader) == ["image", "interactive"]  # the photo, then the card
    [upload] = public.api.calls("media")  # one file: the published photo
    assert upload.params["type"] == "image/jpeg"
    image = reader.last[0].params["image"]
    assert image["id"] == upload.params["id"]
    card = reader.text
    assert "I left Aleppo in 2015" in card and "👁 Read 1 time" in card
    assert f"{PUBLIC}/stories/{story_id}" in card  # the voice note is on the story's page
    assert not [c for c in reader.last if c.params["type"] in ("audio", "video", "document")]
    assert {"➡️ Another story", "🌍 By country", "☰ Menu"} <= set(titles(reader))
    assert all(c.ok for c in public.api.calls("messages", ok_only=False))


async def test_without_a_public_address_a_voice_note_is_not_sent_nor_linked(
    phone: Phone,
) -> None:
    story_id = await published(phone.bot, "amina")
    await attach(phone.bot, story_id, samples.ogg_opus_with_tags())
    reader = phone.person(WA_ID)
    await reader.send("/stories")
    assert kinds(reader) == ["interactive"]
    assert "I left Aleppo in 2015" in reader.text and "/stories/" not in reader.text
    assert phone.api.calls("media") == []


async def test_the_next_story_and_the_stories_of_a_country(phone: Phone) -> None:
    first = await published(phone.bot, "amina")
    second = await published(phone.bot, "omar", name="Omar")
    reader = phone.person(WA_ID)
    await reader.send("/stories")
    names = ["Amina" in reader.text, "Omar" in reader.text]
    assert names in ([True, False], [False, True])
    await reader.tap("Another story")
    assert ["Amina" in reader.text, "Omar" in reader.text] == [not n for n in names]
    await reader.tap("By country")  # the short form of "🌍 Stories from a country"
    assert "Stories from which country?" in reader.text
    await reader.tap("Syria")
    assert "from Syria" in reader.text
    # Both are from Syria: either may come first (each card shown counts a reading).
    again = "Amina" in reader.text
    # The card of a country's story offers another from it (its short form: "More: Syria").
    assert any(t.startswith("➡️") and "Syria" in t for t in titles(reader))
    await reader.send(f"/start s-{first}")
    readings = 3 if again else 2  # once in turn, perhaps once by country, and now
    assert "Amina" in reader.text and f"Read {readings} times" in reader.text
    assert second != first


async def test_reading_in_arabic(phone: Phone) -> None:
    story_id = await published(phone.bot, "layla", text=ARABIC_STORY, name="Layla")
    reader = phone.person(WA_ID)
    await reader.send("hello")
    await reader.tap("Language")
    await reader.tap("العربية")
    await reader.send("/stories")
    assert "غادرت حلب" in reader.text
    interactive = [c for c in reader.last if interactive_of(c)]
    assert interactive and all(c.ok for c in phone.api.calls("messages", ok_only=False))
    await reader.tap("مشاركة هذه القصة")  # "Share this story"
    assert f"s-{story_id}" in reader.text
    assert "Telegram" not in reader.text and "تيليغرام" not in reader.text
    assert all("Telegram" not in text_of(c) for c in reader.seen)
