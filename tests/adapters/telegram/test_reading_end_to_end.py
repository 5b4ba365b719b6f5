"""Reading a story through Telegram: a shared link (``/start s-<id>``) opens the story's
card, with its photo once a moderator chose to publish it, through the fake Bot API."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.adapters.telegram.rendering import CAPTION_LIMIT
from bot.app import Bot
from bot.review.service import ActionRequest, ReviewAction
from moderation.actors import Moderator
from moderation.states import Role
from storage.models import ModerationItem, StoryMedia
from tests.adapters.telegram.test_end_to_end import (
    ObservedAdapter,
    polled,  # noqa: F401 - the fixture, shared with the story and pledge tests
    polling_phone,
    tell_story,
)
from tests.fakes.telegram_api import FakeTelegramApi, keyboard_of
from tests.web.helpers import deliver


async def test_a_shared_link_opens_the_story_with_its_photo(
    api: FakeTelegramApi,
    polled: tuple[Bot, ObservedAdapter],  # noqa: F811
) -> None:
    bot, adapter = polled
    await tell_story(polling_phone(api, adapter, 42))
    async with bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalar_one()
    assert item.id is not None
    outcome = await bot.review.act(
        Moderator(id="publisher", role=Role.LEAD),
        ActionRequest(ReviewAction.APPROVE, item.id, item.version),
    )
    assert outcome.ok, outcome.message
    await deliver(bot)

    # Until a moderator publishes the photo, the card is its text alone.
    early = polling_phone(api, adapter, 50)
    await early.send(f"/start s-{item.story_id}")
    assert [c.method for c in early.last] == ["sendMessage"]
    assert "I left Aleppo in 2015" in early.text

    async with bot.deps.db.transaction() as session:
        await session.execute(
            update(StoryMedia)
            .where(StoryMedia.story_id == item.story_id)  # type: ignore[arg-type]
            .values(publish=True)
        )
    reader = polling_phone(api, adapter, 51)
    await reader.send(f"/start s-{item.story_id}")
    assert [c.method for c in reader.last] == ["sendPhoto"]
    photo = reader.last[0]
    caption = str(photo.params["caption"])
    assert len(caption) <= CAPTION_LIMIT
    assert "I left Aleppo in 2015" in caption and "— Amina, from Syria, living in Japan" in caption
    labels = [button["text"] for row in keyboard_of(photo) for button in row]
    assert "➡️ Another story" in labels and "📣 Share this story" in labels
    await reader.tap("Share this story")
    assert f"?start=s-{item.story_id}" in reader.text
