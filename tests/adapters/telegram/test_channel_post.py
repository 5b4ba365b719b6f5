"""The public Telegram channel's post of a story carries its first published photo:
uploaded from the media store (cleaned), never a file a moderator did not choose."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from bot.adapters.telegram.limits import SendLimiter
from bot.app import Bot
from bot.config import Settings
from bot.review.service import ActionRequest, ReviewAction
from moderation.actors import Moderator
from moderation.states import Role
from storage.db import Database
from storage.models import ModerationItem
from tests import media_samples as samples
from tests.adapters.telegram.conftest import UNLIMITED, telegram_settings
from tests.adapters.telegram.test_moderation_group import submit_story
from tests.conftest import make_bot
from tests.fakes.telegram_api import FakeTelegramApi
from tests.web.test_wall_media import attach

CHANNEL = -100555


async def test_the_channel_post_carries_the_first_published_photo(
    settings: Settings, db: Database, api: FakeTelegramApi
) -> None:
    bot: Bot = await make_bot(
        telegram_settings(settings, api, telegram_public_channel_id=str(CHANNEL)), db
    )
    assert bot.telegram is not None
    bot.telegram.sender.limiter = SendLimiter(UNLIMITED)
    await bot.telegram.bot.initialize()
    try:
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
    finally:
        await bot.telegram.bot.shutdown()
