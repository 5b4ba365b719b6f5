"""Telegram media: a photo and an image sent as a document are downloaded on arrival and
kept cleaned; what the bot uploads back to Telegram carries no location or name."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import Bot, build_bot, connect_media
from bot.config import Settings
from bot.core.events import MediaKind, MediaRef, Outgoing
from storage.db import Database
from storage.models import StoryMedia
from tests import media_samples as samples
from tests.adapters.telegram.conftest import UNLIMITED, telegram_settings
from tests.adapters.telegram.test_end_to_end import ObservedAdapter, Phone, polling_phone
from tests.conftest import make_bot
from tests.fakes.telegram_api import FakeTelegramApi


@pytest.fixture
async def polled(
    api: FakeTelegramApi, settings: Settings, db: Database
) -> AsyncIterator[tuple[Bot, ObservedAdapter]]:
    async with polled_bot(telegram_settings(settings, api), db) as pair:
        yield pair


@contextlib.asynccontextmanager
async def polled_bot(
    configured: Settings, db: Database
) -> AsyncIterator[tuple[Bot, ObservedAdapter]]:
    """A bot polling the fake Bot API, its files downloaded at once when a try fails."""
    bot = await make_bot(configured, db)
    adapter = ObservedAdapter(configured, bot.core, limits=UNLIMITED, request_timeout=1.0)
    bot.telegram = adapter
    bot.dispatcher.add_sender(adapter.sender)
    assert bot.core.media is not None
    connect_media(bot.core.media, bot.deps, telegram=adapter)
    bot.core.media.backoff = 0.0
    await adapter.start()
    try:
        yield bot, adapter
    finally:
        await adapter.stop()


async def to_the_story(phone: Phone) -> None:
    await phone.send("/start story")
    await phone.tap("My own migration story")
    await phone.tap("I agree")
    await phone.tap("Yes, I am 18")
    await phone.tap("Anonymous")
    await phone.send("/skip")
    await phone.send("/skip")
    assert "tell your story" in phone.text


def file_id(update: dict[str, Any]) -> str:
    message = update["message"]
    item = message["photo"][-1] if "photo" in message else message["document"]
    return str(item["file_id"])


async def test_photos_and_documents_are_kept_cleaned_and_sent_back_clean(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    bot, adapter = polled
    phone = polling_phone(api, adapter, 42)
    await to_the_story(phone)

    photo = api.make.photo(42, caption="Our boat", size=2_000)
    api.add_file(file_id(photo), samples.jpeg_with_gps())
    await phone.push(photo)
    assert "removed the location" in phone.text and "characters so far" in phone.text
    document = api.make.document(42, mime_type="image/jpeg", file_name="IMG_0001.jpg", size=2_000)
    api.add_file(file_id(document), samples.jpeg_with_gps(orientation=6))
    await phone.push(document)
    assert "removed the location" not in phone.text and "characters so far" in phone.text
    assert len(api.calls("getFile")) == 2 and len(api.calls("file")) == 2

    await phone.tap("I'm done")
    await phone.send("/skip")
    await phone.tap("Submit my story")
    async with bot.deps.db.transaction() as session:
        media = (await session.execute(select(StoryMedia))).scalars().all()
    assert [(m.platform, m.kind) for m in media] == [("telegram", "photo")] * 2
    assert all(m.ref.startswith("local:") for m in media)
    for path in bot.deps.media.root.iterdir():
        assert not samples.leaks(path.read_bytes())

    # What Telegram receives when the bot shows them (a moderators' card, a post).
    refs = tuple(MediaRef(MediaKind(m.kind), m.ref, m.mime) for m in media)
    await adapter.sender.send("-1001", Outgoing("Story #1", media=refs))
    uploads = [c.params["photo"] for c in api.calls("sendPhoto", ok_only=True)]
    assert len(uploads) == 2
    sizes = set()
    for upload in uploads:
        assert isinstance(upload, dict) and not samples.leaks(upload["data"])
        sent = Image.open(io.BytesIO(upload["data"]))
        assert dict(sent.getexif()) == {}
        sizes.add(sent.size)
    assert sizes == {(64, 32), (32, 64)}  # the document's orientation applied


async def test_a_pdf_and_a_failed_download_are_explained(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    bot, adapter = polled
    phone = polling_phone(api, adapter, 42)
    await to_the_story(phone)
    pdf = api.make.document(42)  # application/pdf
    api.add_file(file_id(pdf), b"%PDF-1.7\n" + bytes(500))
    await phone.push(pdf)
    assert "documents such as PDF files" in phone.text
    api.fail("getFile", 500, times=3)  # every try
    photo = api.make.photo(42, caption="We crossed at night.", size=2_000)
    api.add_file(file_id(photo), samples.jpeg_with_gps())
    await phone.push(photo)
    assert "could not receive your file" in phone.text and "20 characters so far" in phone.text
    assert not bot.deps.media.root.exists() or list(bot.deps.media.root.iterdir()) == []


async def test_the_composition_root_connects_the_stores_files_to_both_platforms(
    settings: Settings, db: Database
) -> None:
    configured = settings.model_copy(
        update={
            "telegram_bot_token": SecretStr("123:abc"),
            "slack_bot_token": SecretStr("xoxb-1"),
            "slack_app_token": SecretStr("xapp-1"),
        }
    )
    bot = build_bot(configured, db=db)
    assert bot.core.media is not None and bot.telegram is not None
    assert bot.core.media.fetches("telegram") and bot.core.media.fetches("slack")
    assert bot.telegram.sender.media is bot.deps.media
