"""A Telegram file whose download fails is tried again; one that never arrives is
explained to the person in their language, their words kept, and the moderators' card
says so, while nothing broken is ever published."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from bot.app import Bot, create_app
from bot.config import Settings
from bot.review.service import ActionRequest, ReviewAction
from moderation.actors import Moderator
from moderation.states import Role
from storage.db import Database
from storage.models import ModerationItem, Story, StoryMedia, StoryState
from tests import media_samples as samples
from tests.adapters.telegram.conftest import telegram_settings
from tests.adapters.telegram.test_end_to_end import ObservedAdapter, polling_phone
from tests.adapters.telegram.test_media import file_id, polled_bot, to_the_story
from tests.fakes.telegram_api import FakeTelegramApi
from tests.web.helpers import Dashboard

GROUP = -100777


@pytest.fixture
async def polled(
    api: FakeTelegramApi, settings: Settings, db: Database
) -> AsyncIterator[tuple[Bot, ObservedAdapter]]:
    configured = telegram_settings(
        settings,
        api,
        telegram_moderation_chat_id=str(GROUP),
        moderators={"lea": {"role": "lead", "accounts": ["telegram:7"]}},
    )
    async with polled_bot(configured, db) as pair:
        yield pair


async def stories_media(bot: Bot) -> list[StoryMedia]:
    async with bot.deps.db.transaction() as session:
        return list((await session.execute(select(StoryMedia))).scalars().all())


async def test_a_download_that_fails_once_is_tried_again_and_nobody_is_bothered(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    bot, adapter = polled
    phone = polling_phone(api, adapter, 42)
    await to_the_story(phone)
    api.fail("getFile", 500, times=1)  # Telegram's server error, once
    photo = api.make.photo(42, caption="We crossed at night.", size=2_000)
    api.add_file(file_id(photo), samples.jpeg_with_gps())
    await phone.push(photo)
    assert "could not receive" not in phone.text and "20 characters so far" in phone.text
    assert [c.status for c in api.calls("getFile")] == [500, 200]
    await phone.tap("I'm done")
    await phone.send("/skip")
    await phone.tap("Submit my story")
    media = await stories_media(bot)
    assert len(media) == 1 and media[0].ref.startswith("local:")
    async with bot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
    assert story.files_not_received == 0
    while await bot.dispatcher.run_once():
        pass
    card = next(c for c in api.calls(ok_only=True) if c.params.get("chat_id") == GROUP)
    assert "could not be received" not in str(card.params.get("text") or "")


async def test_a_refused_download_is_not_tried_again(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    _bot, adapter = polled
    phone = polling_phone(api, adapter, 42)
    await to_the_story(phone)
    api.fail("getFile", 400, description="Bad Request: invalid file_id", times=5)
    await phone.push(api.make.photo(42, caption="We crossed at night.", size=2_000))
    assert "could not receive your file" in phone.text
    assert len(api.calls("getFile")) == 1


async def test_a_file_that_never_arrives_is_explained_noted_for_moderators_never_published(
    api: FakeTelegramApi, polled: tuple[Bot, ObservedAdapter]
) -> None:
    bot, adapter = polled
    phone = polling_phone(api, adapter, 42)
    await to_the_story(phone)
    api.fail("getFile", 500, times=10)
    photo = api.make.photo(42, caption="Nous avons traversé de nuit.", size=2_000)
    photo["message"]["from"]["language_code"] = "fr"
    api.add_file(file_id(photo), samples.jpeg_with_gps())
    await phone.push(photo)
    # In their language: the file did not come, what they wrote did.
    assert "Je n'ai pas pu recevoir votre fichier" in phone.text
    assert "28" in phone.text
    assert len(api.calls("getFile")) == 3  # tried three times in all
    assert not bot.deps.media.root.exists() or list(bot.deps.media.root.iterdir()) == []

    await phone.tap("J'ai terminé")  # the button of the French answer
    await phone.send("/skip")
    await phone.tap("Submit my story")
    async with bot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
        item = (await session.execute(select(ModerationItem))).scalar_one()
    assert story.files_not_received == 1 and await stories_media(bot) == []

    while await bot.dispatcher.run_once():
        pass
    card = next(c for c in api.calls("sendMessage", ok_only=True) if c.params["chat_id"] == GROUP)
    assert (
        "1 file could not be received; the storyteller was asked to send it again."
        in card.params["text"]
    )
    assert "Nous avons traversé de nuit." in card.params["text"]

    # The dashboard's page of the item says it too.
    app = create_app(bot, migrate=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8080"
    ) as client:
        dashboard = Dashboard(client)
        await dashboard.sign_in(bot, "ana")
        page = (await dashboard.item(item.id or 0)).text
    assert "1 file could not be received; the storyteller was asked to send it again." in page

    # Published: the story's text, and no file (nothing broken) on the wall.
    outcome = await bot.review.act(
        Moderator(id="lea", role=Role.LEAD),
        ActionRequest(ReviewAction.APPROVE, item.id or 0, item.version),
    )
    assert outcome.ok, outcome.message
    while await bot.dispatcher.run_once():
        pass
    async with bot.deps.db.transaction() as session:
        assert (await session.get(Story, story.id)).state == StoryState.PUBLISHED  # type: ignore[union-attr]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8080"
    ) as client:
        wall = (await client.get(f"/stories/{story.id}")).text
    assert "Nous avons traversé de nuit." in wall and "/stories/media/" not in wall
