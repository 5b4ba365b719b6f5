"""A short film through the Telegram Bot API: a video over the limit is refused with the
limit and the link option; a video under it is kept, cleaned, as the film."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Bot
from storage.models import Story, StoryMedia, StoryRevision
from tests import media_samples as samples
from tests.adapters.telegram.test_end_to_end import ObservedAdapter, Phone, polling_phone
from tests.adapters.telegram.test_media import polled  # noqa: F401  (the fixture)
from tests.fakes.telegram_api import FakeTelegramApi


async def to_the_film(phone: Phone) -> None:
    await phone.send("/start story")
    await phone.tap("A short film")
    await phone.tap("I agree")
    await phone.tap("Yes, I am 18")
    await phone.tap("My first name only")
    await phone.send("Lina")
    await phone.send("/skip")
    await phone.send("/skip")
    assert "one video" in phone.text and "YouTube or Vimeo" in phone.text


async def test_a_film_too_large_is_explained_then_a_small_one_is_kept(
    api: FakeTelegramApi,
    polled: tuple[Bot, ObservedAdapter],  # noqa: F811
) -> None:
    bot, adapter = polled
    phone = polling_phone(api, adapter, 42)
    await to_the_film(phone)
    await phone.push(api.make.video(42, size=bot.settings.media_max_bytes + 1, duration=600))
    assert "larger than" in phone.text and "https://" in phone.text
    video = api.make.video(42, size=4_000, duration=420)
    api.add_file(video["message"]["video"]["file_id"], samples.mp4_with_location())
    await phone.push(video)
    assert "film's title" in phone.text
    await phone.send("Two Rivers")
    await phone.send("Two sisters learn to swim in a new country.")
    assert "A short film" in phone.text and "Shown as: Lina" in phone.text
    await phone.tap("Submit my story")
    assert "Thank you for trusting us" in phone.text
    async with bot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
        revision = (await session.execute(select(StoryRevision))).scalar_one()
        media = (await session.execute(select(StoryMedia))).scalars().all()
    assert (story.kind, story.credit_name) == ("film", "Lina")
    assert revision.text.startswith("Two Rivers\n\n")
    assert [m.kind for m in media] == ["video"]
    assert media[0].ref.startswith("local:")  # downloaded and cleaned on arrival
    stored = bot.deps.media.path(media[0].ref.removeprefix("local:"))
    assert stored is not None and not samples.leaks(stored.read_bytes())
