"""Media intake through the real core: files are downloaded before the turn, kept cleaned,
and the story gets ``local:`` references; refusals and failures are explained and lose
nothing else. The platform here is the in-memory one, with a fetcher that serves bytes
(the real Telegram and Slack fetchers are tested against their fakes)."""

from __future__ import annotations

from sqlalchemy import select

from bot.adapters.memory import PLATFORM, MemoryChat
from bot.app import Bot
from bot.core.events import InboundKind, MediaKind, MediaRef
from bot.core.media import FetchFailed
from storage.media import MediaRefused, Refusal
from storage.models import Conversation, Story, StoryMedia
from tests import media_samples as samples
from tests.handlers.test_story_flow import to_the_story_step

LOCATION_NOTICE = "I removed the location"


class Platform:
    """The platform's file server: file id -> bytes; counts downloads."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.downloads: list[str] = []
        self.failures: dict[str, int] = {}  # file id -> how many tries fail first

    async def __call__(self, ref: MediaRef, max_bytes: int) -> bytes:
        self.downloads.append(ref.ref)
        if ref.ref not in self.files:
            raise FetchFailed("gone", transient=False)
        if self.failures.get(ref.ref):
            self.failures[ref.ref] -= 1
            raise FetchFailed("HTTP 502")  # a passing failure
        return self.files[ref.ref]


def platform_of(bot: Bot) -> Platform:
    platform = Platform()
    assert bot.core.media is not None
    bot.core.media.add_fetcher(PLATFORM, platform)
    bot.core.media.backoff = 0.0
    return platform


def owner(bot: Bot, user_id: str) -> str:
    assert bot.core.media is not None
    return bot.core.media.owner(PLATFORM, user_id)


async def draft_media(bot: Bot) -> list[dict[str, object]]:
    async with bot.deps.db.transaction() as session:
        conversation = (await session.execute(select(Conversation))).scalar_one()
    return list(conversation.draft.get("media", []))


async def test_a_photo_is_kept_cleaned_and_the_person_is_told_once(bot: Bot) -> None:
    platform = platform_of(bot)
    platform.files["p1"] = samples.jpeg_with_gps()
    platform.files["p2"] = samples.png_with_text()
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    await chat.attach(MediaKind.PHOTO, "p1", caption="Our boat")
    assert LOCATION_NOTICE in chat.text and "characters so far" in chat.text
    await chat.attach(MediaKind.PHOTO, "p2")
    assert LOCATION_NOTICE not in chat.text and "characters so far" in chat.text
    media = await draft_media(bot)
    kept = bot.deps.media.files_of(owner(bot, "amina"))
    assert sorted(str(m["ref"]) for m in media) == sorted("local:" + name for name in kept)
    for item in media:
        data = await bot.deps.media.read(str(item["ref"]).removeprefix("local:"))
        assert data is not None and not samples.leaks(data)
    await chat.tap("I'm done")
    await chat.send("/skip")
    await chat.tap("Submit my story")
    async with bot.deps.db.transaction() as session:
        stored = (await session.execute(select(StoryMedia))).scalars().all()
    assert len(stored) == 2 and all(m.ref.startswith("local:") for m in stored)
    assert {m.mime for m in stored} == {"image/jpeg", "image/png"}


async def test_a_redelivered_message_downloads_and_keeps_its_file_once(bot: Bot) -> None:
    platform = platform_of(bot)
    platform.files["p1"] = samples.jpeg_with_gps()
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    media = (MediaRef(MediaKind.PHOTO, "p1", size=1000),)
    inbound = chat._inbound(InboundKind.MEDIA, key="same-update", media=media)
    await chat.deliver(inbound)
    await chat.deliver(inbound)  # the platform sent it again
    assert platform.downloads == ["p1"]
    assert len(bot.deps.media.files_of(owner(bot, "amina"))) == 1
    assert len(await draft_media(bot)) == 1


async def test_a_failed_download_keeps_the_caption_and_asks_again(bot: Bot) -> None:
    platform = platform_of(bot)
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    await chat.attach(MediaKind.PHOTO, "missing", caption="We crossed at night.")
    assert "could not receive your file" in chat.text
    assert "20 characters so far" in chat.text  # the caption counts
    assert await draft_media(bot) == []
    await chat.attach(MediaKind.PHOTO, "missing")
    assert "could not receive your file" in chat.text
    assert platform.downloads == ["missing", "missing"]


async def test_a_bomb_a_damaged_file_and_a_pdf_are_refused_kindly(bot: Bot) -> None:
    platform = platform_of(bot)
    platform.files.update(
        bomb=samples.png_bomb(), broken=samples.truncated_jpeg(), pdf=b"%PDF-1.7\n" + bytes(50)
    )
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    await chat.attach(MediaKind.PHOTO, "bomb")
    assert "too large for me to open safely" in chat.text
    await chat.attach(MediaKind.PHOTO, "broken")
    assert "may be damaged" in chat.text
    await chat.attach(MediaKind.DOCUMENT, "pdf")
    assert "documents such as PDF files" in chat.text
    assert await draft_media(bot) == []
    assert bot.deps.media.files_of(owner(bot, "amina")) == []


async def test_a_file_over_the_limit_is_not_even_downloaded(bot: Bot) -> None:
    platform = platform_of(bot)
    platform.files["big"] = samples.jpeg_with_gps()
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    await chat.attach(MediaKind.VIDEO, "big", size=bot.settings.media_max_bytes + 1)
    assert "too large" in chat.text
    assert platform.downloads == []


async def test_a_passing_failure_is_tried_again_and_the_file_kept(bot: Bot) -> None:
    platform = platform_of(bot)
    platform.files["p1"] = samples.jpeg_with_gps()
    platform.failures["p1"] = 2
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    await chat.attach(MediaKind.PHOTO, "p1", caption="Our boat")
    assert "could not receive" not in chat.text and "characters so far" in chat.text
    assert platform.downloads == ["p1"] * 3
    assert len(await draft_media(bot)) == 1


async def test_a_file_that_keeps_failing_is_tried_a_few_times_then_noted(bot: Bot) -> None:
    platform = platform_of(bot)
    platform.files["p1"] = samples.jpeg_with_gps()
    platform.failures["p1"] = 100
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    await chat.attach(MediaKind.PHOTO, "p1", caption="We crossed at night.")
    assert "could not receive your file" in chat.text and "20 characters so far" in chat.text
    assert platform.downloads == ["p1"] * 3
    async with bot.deps.db.transaction() as session:
        conversation = (await session.execute(select(Conversation))).scalar_one()
    assert conversation.draft["files_not_received"] == 1
    await chat.tap("I'm done")
    await chat.send("/skip")
    await chat.tap("Submit my story")
    async with bot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
        assert (await session.execute(select(StoryMedia))).first() is None
    assert story.files_not_received == 1


async def test_a_refusal_is_never_tried_again(bot: Bot) -> None:
    assert bot.core.media is not None
    tries: list[str] = []

    async def too_large(ref: MediaRef, max_bytes: int) -> bytes:
        tries.append(ref.ref)
        raise MediaRefused(Refusal.TOO_LARGE)

    bot.core.media.add_fetcher(PLATFORM, too_large)
    bot.core.media.backoff = 0.0
    chat = MemoryChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    await chat.attach(MediaKind.VIDEO, "v1", caption="Our boat")
    assert "too large" in chat.text and tries == ["v1"]
