"""The public Telegram channel's post of a story carries its first published photo:
uploaded from the media store (cleaned), never a file a moderator did not choose."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from PIL import Image
from sqlalchemy import select

from bot.adapters.telegram.limits import SendLimiter
from bot.adapters.telegram.sender import TelegramSender
from bot.app import Bot
from bot.config import Settings
from bot.core.events import Outgoing
from bot.review.service import ActionRequest, ReviewAction
from moderation.actors import Moderator
from moderation.presentation import FileChoice
from moderation.reasons import ReasonCode
from moderation.states import Role
from storage.db import Database
from storage.models import ModerationItem, Publication
from tests import media_samples as samples
from tests.adapters.telegram.conftest import UNLIMITED, telegram_settings
from tests.adapters.telegram.test_moderation_group import submit_story
from tests.conftest import make_bot
from tests.fakes.telegram_api import Call, FakeTelegramApi
from tests.web.test_wall_media import attach

CHANNEL = -100555
LEAD = Moderator(id="lea", role=Role.LEAD)


@pytest.fixture
async def bot(settings: Settings, db: Database, api: FakeTelegramApi) -> AsyncIterator[Bot]:
    """A bot whose stories are posted to a Telegram channel (the fake's)."""
    configured = telegram_settings(settings, api, telegram_public_channel_id=str(CHANNEL))
    made = await make_bot(configured, db)
    assert made.telegram is not None
    made.telegram.sender.limiter = SendLimiter(UNLIMITED)
    await made.telegram.bot.initialize()
    try:
        yield made
    finally:
        await made.telegram.bot.shutdown()


async def test_the_channel_post_carries_the_first_published_photo(
    bot: Bot, api: FakeTelegramApi
) -> None:
    await submit_story(bot)
    async with bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalar_one()
    hidden = samples.jpeg_with_gps(width=40, height=40)
    await attach(bot, item.story_id, hidden, publish=False)
    await attach(bot, item.story_id, samples.jpeg_with_gps(width=64, height=32), position=1)
    await attach(bot, item.story_id, samples.jpeg_with_gps(width=20, height=60), position=2)
    await attach(bot, item.story_id, samples.ogg_opus_with_tags(), position=3)
    outcome = await bot.review.act(
        Moderator(id="lea", role=Role.LEAD),
        ActionRequest(ReviewAction.APPROVE, item.id or 0, item.version),
    )
    assert outcome.ok, outcome.message
    while await bot.dispatcher.run_once():
        pass
    photos = [c for c in api.calls("sendPhoto", ok_only=True) if c.params["chat_id"] == CHANNEL]
    assert len(photos) == 1
    upload = photos[0].params["photo"]
    assert isinstance(upload, dict) and not samples.leaks(upload["data"])
    assert Image.open(io.BytesIO(upload["data"])).size == (64, 32)  # the first chosen
    sent = {c.method for c in api.calls(ok_only=True) if c.params.get("chat_id") == CHANNEL}
    assert sent <= {"sendPhoto", "sendMessage"}  # no voice note, no hidden photo
    text = " ".join(
        str(c.params.get("caption") or c.params.get("text") or "")
        for c in api.calls(ok_only=True)
        if c.params.get("chat_id") == CHANNEL
    )
    assert "Today I study nursing in Osaka." in text
    assert "— Amina, from Syria, living in Japan" in text


async def present(bot: Bot, item_id: int, **change: object) -> None:
    """A lead's presentation choice (``file=FileChoice`` or ``title=``) on the item."""
    async with bot.deps.db.transaction() as session:
        item = await session.get(ModerationItem, item_id)
    assert item is not None
    if "file" in change:
        request = ActionRequest(ReviewAction.MEDIA, item_id, item.version)
        outcome = await bot.review.act(LEAD, request, file=change["file"])  # type: ignore[arg-type]
    else:
        request = ActionRequest(ReviewAction.TITLE, item_id, item.version)
        outcome = await bot.review.act(LEAD, request, text=str(change["title"]))
    assert outcome.ok, outcome.message
    while await bot.dispatcher.run_once():
        pass


async def posts(bot: Bot) -> list[str]:
    async with bot.deps.db.transaction() as session:
        return [p.message_id for p in (await session.execute(select(Publication))).scalars()]


async def test_the_channel_post_follows_the_moderators_file_and_title_choices(
    bot: Bot, api: FakeTelegramApi
) -> None:
    def channel(method: str) -> list[Call]:
        return [c for c in api.calls(method, ok_only=True) if c.params.get("chat_id") == CHANNEL]

    await submit_story(bot)
    async with bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalar_one()
    assert item.id is not None
    face = await attach(bot, item.story_id, samples.jpeg_with_gps(width=64, height=32))
    garden = await attach(
        bot, item.story_id, samples.jpeg_with_gps(width=20, height=60), position=1
    )
    outcome = await bot.review.act(LEAD, ActionRequest(ReviewAction.APPROVE, item.id, item.version))
    assert outcome.ok, outcome.message
    while await bot.dispatcher.run_once():
        pass
    (first,) = channel("sendPhoto")
    assert Image.open(io.BytesIO(first.params["photo"]["data"])).size == (64, 32)
    assert await posts(bot) == [str(first.result["message_id"])]

    # A title: the post's caption is edited in place, nothing is posted again.
    await present(bot, item.id, title="Nursing in Osaka")
    (edited,) = channel("editMessageCaption")
    assert edited.params["message_id"] == first.result["message_id"]
    assert edited.params["caption"].startswith("Nursing in Osaka\n\n")
    assert len(channel("sendPhoto")) == 1 and channel("deleteMessage") == []

    # The face is hidden: that post is deleted, and the story posted again with the
    # next published photo; the new post is the one recorded.
    await present(bot, item.id, file=FileChoice(face.id or 0, publish=False))
    (deleted,) = channel("deleteMessage")
    assert deleted.params["message_id"] == first.result["message_id"]
    second = channel("sendPhoto")[-1]
    assert Image.open(io.BytesIO(second.params["photo"]["data"])).size == (20, 60)
    assert second.params["caption"].startswith("Nursing in Osaka\n\n")
    assert await posts(bot) == [str(second.result["message_id"])]
    sent = [c for c in api.all_calls if c.params.get("chat_id") == CHANNEL]
    assert sent.index(deleted) < sent.index(second)  # the face goes first

    # Its alt text describes the photo in the caption, edited in place.
    await present(bot, item.id, file=FileChoice(garden.id or 0, True, "A garden in Osaka"))
    described = channel("editMessageCaption")[-1]
    assert described.params["message_id"] == second.result["message_id"]
    assert "🖼 Photo: A garden in Osaka" in described.params["caption"]

    # No photo left: the post becomes text only.
    await present(bot, item.id, file=FileChoice(garden.id or 0, publish=False))
    assert channel("deleteMessage")[-1].params["message_id"] == second.result["message_id"]
    (text_post,) = channel("sendMessage")
    assert "Today I study nursing in Osaka." in text_post.params["text"]
    assert "🖼" not in text_post.params["text"]
    assert len(channel("sendPhoto")) == 2
    assert await posts(bot) == [str(text_post.result["message_id"])]

    # Taken down: the post that is there now goes.
    async with bot.deps.db.transaction() as session:
        version = (await session.get(ModerationItem, item.id)).version  # type: ignore[union-attr]
    outcome = await bot.review.act(
        LEAD, ActionRequest(ReviewAction.UNPUBLISH, item.id, version, ReasonCode.OTHER.value)
    )
    assert outcome.ok, outcome.message
    while await bot.dispatcher.run_once():
        pass
    assert channel("deleteMessage")[-1].params["message_id"] == text_post.result["message_id"]
    assert await posts(bot) == []


async def test_a_post_too_old_to_delete_loses_its_photo_in_place(
    bot: Bot, api: FakeTelegramApi
) -> None:
    await submit_story(bot)
    async with bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalar_one()
    assert item.id is not None
    face_bytes = samples.jpeg_with_gps(width=64, height=32)
    face = await attach(bot, item.story_id, face_bytes)
    outcome = await bot.review.act(LEAD, ActionRequest(ReviewAction.APPROVE, item.id, item.version))
    assert outcome.ok, outcome.message
    while await bot.dispatcher.run_once():
        pass
    (post,) = [c for c in api.calls("sendPhoto", ok_only=True) if c.params["chat_id"] == CHANNEL]
    # Telegram lets a bot delete a message for 48 hours only.
    api.fail("deleteMessage", 400, description="Bad Request: message can't be deleted")
    await present(bot, item.id, file=FileChoice(face.id or 0, publish=False))
    (emptied,) = api.calls("editMessageMedia", ok_only=True)
    assert emptied.params["message_id"] == post.result["message_id"]
    # The photo is replaced by a blank picture (uploaded: not the face).
    uploads = [v for v in emptied.params.values() if isinstance(v, dict) and "data" in v]
    assert len(uploads) == 1 and uploads[0]["data"] != face_bytes
    assert Image.open(io.BytesIO(uploads[0]["data"])).size == (320, 320)
    # The story is posted again, as text: the face is nowhere in the channel.
    (again,) = [c for c in api.calls("sendMessage", ok_only=True) if c.params["chat_id"] == CHANNEL]
    assert "Today I study nursing in Osaka." in again.params["text"]
    assert await posts(bot) == [str(again.result["message_id"])]


class ChangeWhileSending:
    """The Telegram sender, with a moderator's change made as the channel post is sent."""

    platform = "telegram"

    def __init__(self, inner: TelegramSender, change: Callable[[], Awaitable[object]]) -> None:
        self.inner = inner
        self.change: Callable[[], Awaitable[object]] | None = change

    def wait_before(self, chat_id: str) -> float:
        return self.inner.wait_before(chat_id)

    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        if self.change is not None and chat_id == str(CHANNEL) and message.media:
            change, self.change = self.change, None
            await change()  # rendered with the face; the face is hidden before it lands
        return await self.inner.send(chat_id, message)


async def test_a_face_hidden_while_the_post_was_on_its_way_is_taken_off_when_it_lands(
    bot: Bot, api: FakeTelegramApi
) -> None:
    assert bot.telegram is not None
    await submit_story(bot)
    async with bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalar_one()
    assert item.id is not None
    item_id = item.id
    face = await attach(bot, item.story_id, samples.jpeg_with_gps(width=64, height=32))

    async def hide_the_face() -> None:
        async with bot.deps.db.transaction() as session:
            version = (await session.get(ModerationItem, item_id)).version  # type: ignore[union-attr]
        request = ActionRequest(ReviewAction.MEDIA, item_id, version)
        outcome = await bot.review.act(LEAD, request, file=FileChoice(face.id or 0, False))
        assert outcome.ok, outcome.message

    bot.dispatcher.add_sender(ChangeWhileSending(bot.telegram.sender, hide_the_face))
    outcome = await bot.review.act(LEAD, ActionRequest(ReviewAction.APPROVE, item_id, item.version))
    assert outcome.ok, outcome.message
    while await bot.dispatcher.run_once():
        pass
    (post,) = [c for c in api.calls("sendPhoto", ok_only=True) if c.params["chat_id"] == CHANNEL]
    deleted = [
        c for c in api.calls("deleteMessage", ok_only=True) if c.params["chat_id"] == CHANNEL
    ]
    assert [c.params["message_id"] for c in deleted] == [post.result["message_id"]]
    (again,) = [c for c in api.calls("sendMessage", ok_only=True) if c.params["chat_id"] == CHANNEL]
    assert "Today I study nursing in Osaka." in again.params["text"]
    assert await posts(bot) == [str(again.result["message_id"])]
