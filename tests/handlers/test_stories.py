"""Reading stories in chat: one card at a time, the reader's language first, fair to every
story, by country, shared by links that open the story, counted without the reader."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from typing import Any

from sqlalchemy import func, select, update

from bot.adapters.memory import MemoryChat
from bot.app import Bot
from bot.config import Settings
from bot.core.events import Inbound, InboundKind, MediaKind, Outgoing
from bot.handlers.stories import LAST_STORY
from storage import reading
from storage.db import Database
from storage.media import MediaStore
from storage.models import (
    ALL_TABLES,
    Conversation,
    ModerationItem,
    Story,
    StoryMedia,
    StoryStats,
)
from tests import media_samples
from tests.conftest import make_bot
from tests.web.helpers import deliver, item_row, publish, tell

ARABIC = "غادرت حلب سنة ٢٠١٥.\n\nاليوم أدرس التمريض في أوساكا."


async def published(bot: Bot, user: str, **values: Any) -> int:
    """Tell a story in chat, publish it, then set ``values`` on it; returns its id."""
    text = values.pop("text", None)
    item_id = await tell(bot, user, **({"text": text} if text else {}))
    await publish(bot, item_id)
    story_id = (await item_row(bot, item_id)).story_id
    if values:
        async with bot.deps.db.transaction() as session:
            await session.execute(update(Story).where(Story.id == story_id).values(**values))  # type: ignore[arg-type]
    return story_id


def shown(chat: MemoryChat) -> int | None:
    """The story on the card just shown (its share button names it)."""
    for choice in (c for m in chat.last for c in m.choices):
        if choice.id.startswith("stories:share:"):
            return int(choice.id.split("@")[0].rsplit(":", 1)[1])
    return None


async def reads_of(bot: Bot, story_id: int) -> int:
    async with bot.deps.db.transaction() as session:
        stats = await session.get(StoryStats, story_id)
    return stats.reads if stats is not None else 0


async def test_a_card_from_the_menu_and_the_command(bot: Bot) -> None:
    story_id = await published(bot, "amina")
    chat = MemoryChat(bot.core, user_id="reader")
    await chat.send("/start")
    await chat.tap("Read stories")
    assert shown(chat) == story_id
    assert "I left Aleppo in 2015" in chat.text
    assert "— Amina, from Syria, living in Japan" in chat.text
    assert "Their message to the people of Japan: “Thank you for welcoming us.”" in chat.text
    assert "👁 Read 1 time" in chat.text
    assert "This story is in" not in chat.text  # the reader's own language is not marked
    for label in ("➡️ Another story", "🌍 Stories from a country", "📣 Share this story"):
        assert label in chat.labels
    assert chat.labels[-1] == "☰ Menu"
    await chat.send(f"/start s-{story_id}")  # a link opens it again
    assert shown(chat) == story_id and "👁 Read 2 times" in chat.text
    await chat.send("/stories")  # but never twice in a row as "a story"
    assert "That is the only story here for now" in chat.text and shown(chat) is None


async def test_with_no_story_published_the_reader_is_told_kindly(bot: Bot) -> None:
    await tell(bot, "pending")  # waiting for review: not readable
    chat = MemoryChat(bot.core, user_id="reader")
    await chat.send("/stories")
    assert "No stories are published yet" in chat.text
    assert shown(chat) is None


async def test_the_readers_language_first_then_the_others_marked(bot: Bot) -> None:
    english = {await published(bot, "amina"), await published(bot, "omar")}
    arabic = await published(bot, "layla", text=ARABIC, locale="ar")
    chat = MemoryChat(bot.core, user_id="reader", locale_hint="en")
    await chat.send("/stories")
    first, marks = [shown(chat)], ["This story is in" in chat.text]
    for _ in range(5):
        await chat.tap("Another story")
        first.append(shown(chat))
        marks.append("This story is in" in chat.text)
    assert set(first[:2]) == english and first[2] == arabic
    assert first[3:] == first[:3]  # then the round starts again, in the same order
    assert marks == [False, False, True, False, False, True]
    assert "🌐 This story is in Arabic." in "\n".join(
        m.text for m in chat.transcript if "غادرت حلب" in m.text
    )
    # A reader of Arabic meets the Arabic story first.
    reader = MemoryChat(bot.core, user_id="arabic-reader", locale_hint="ar")
    await reader.send("/stories")
    assert shown(reader) == arabic and "غادرت حلب" in reader.text
    await reader.tap("قصة أخرى")  # "Another story"
    assert shown(reader) in english
    assert "الإنجليزية" in reader.text  # English, named in the reader's language


async def test_never_the_same_story_twice_in_a_row(bot: Bot) -> None:
    ids = [await published(bot, f"teller-{n}") for n in range(3)]
    chat = MemoryChat(bot.core, user_id="reader")
    await chat.send("/stories")
    seen = [shown(chat)]
    for _ in range(8):
        await chat.tap("Another story")
        seen.append(shown(chat))
    assert all(a != b for a, b in itertools.pairwise(seen))
    assert Counter(seen) == dict.fromkeys(ids, 3)  # every story once a round


async def test_the_only_story_is_not_shown_again_as_another(bot: Bot) -> None:
    story_id = await published(bot, "amina")
    chat = MemoryChat(bot.core, user_id="reader")
    await chat.send("/stories")
    await chat.tap("Another story")
    assert "That is the only story here for now" in chat.text
    assert shown(chat) is None
    assert await reads_of(bot, story_id) == 1


async def test_fair_draws_read_every_story_within_a_bound(bot: Bot) -> None:
    """Five stories, fifty rounds begun (each read counted): each read 5 to 20 times."""
    ids = [await published(bot, f"teller-{n}") for n in range(5)]
    rng = random.Random(20261206)
    db = bot.deps.db
    for _ in range(50):
        async with db.transaction() as session:
            pick = await reading.next_story(session, locale="en", after=None, rng=rng)
            assert pick is not None
            await reading.count_read(session, pick.story.story_id)
    reads = {story_id: await reads_of(bot, story_id) for story_id in ids}
    assert sum(reads.values()) == 50
    assert all(5 <= count <= 20 for count in reads.values()), reads


async def test_a_newly_published_story_catches_up_without_starving_the_others(
    bot: Bot,
) -> None:
    old = [await published(bot, f"teller-{n}") for n in range(4)]
    async with bot.deps.db.transaction() as session:
        for story_id in old:
            session.add(StoryStats(story_id=story_id, reads=100))
    new = await published(bot, "newcomer")
    rng = random.Random(7)
    drawn: Counter[int] = Counter()
    for _ in range(100):
        async with bot.deps.db.transaction() as session:
            pick = await reading.next_story(session, locale="en", after=None, rng=rng)
            assert pick is not None
            drawn[pick.story.story_id] += 1
            await reading.count_read(session, pick.story.story_id)
    assert drawn[new] > max(drawn[story_id] for story_id in old)
    assert all(drawn[story_id] >= 3 for story_id in old), drawn


async def test_stories_from_a_country(bot: Bot) -> None:
    syria = {await published(bot, "amina"), await published(bot, "omar")}
    afghan = await published(bot, "farid", origin_country="AF", current_country="DE")
    chat = MemoryChat(bot.core, user_id="reader")
    await chat.send(f"/start s-{afghan}")
    await chat.tap("Stories from a country")
    assert "Stories from which country?" in chat.text
    # The countries of the published stories, the last story's own first.
    assert chat.labels[:2] == ["Afghanistan", "Germany"]
    assert set(chat.labels[2:4]) == {"Syria", "Japan"}
    await chat.tap("Syria")
    first = shown(chat)
    assert first in syria
    await chat.tap("Another story from Syria")
    assert shown(chat) in syria - {first}
    await chat.tap("Another story from Syria")
    assert shown(chat) == first
    await chat.press("stories:from:AF")
    assert shown(chat) == afghan
    await chat.tap("Another story from Afghanistan")
    assert "That is the only story here for now" in chat.text
    await chat.press("stories:from:FR")
    assert "There is no published story from France yet." in chat.text
    assert "Syria" in chat.labels


async def test_a_deep_link_opens_the_story_or_kindly_the_menu(bot: Bot) -> None:
    story_id = await published(bot, "amina")
    chat = MemoryChat(bot.core, user_id="friend")
    await chat.send(f"/start s-{story_id}")
    assert shown(chat) == story_id and "I left Aleppo" in chat.text
    await chat.send("/start s-999999")
    assert "Sorry, that story is not available." in chat.text
    assert "📚 Read stories" in chat.labels  # the menu
    waiting = (await item_row(bot, await tell(bot, "waiting"))).story_id
    await chat.send(f"/start s-{waiting}")
    assert "Sorry, that story is not available." in chat.text


_keys = itertools.count(1)


async def handle(bot: Bot, platform: str, user: str, **fields: Any) -> list[Outgoing]:
    """One event from ``platform`` through the real core."""
    inbound = Inbound(
        platform=platform, user_id=user, chat_id=user, key=f"k{next(_keys)}", **fields
    )
    return await bot.core.handle(inbound)


def links(replies: list[Outgoing]) -> dict[str, str]:
    return {c.label: c.url for m in replies for c in m.choices if c.url}


async def test_share_links_open_the_story_on_every_platform(
    settings: Settings, db: Database
) -> None:
    bot = await make_bot(
        settings.model_copy(
            update={
                "public_url": "https://together.example.org",
                "telegram_bot_username": "@TogetherBot",
            }
        ),
        db,
    )
    story_id = await published(bot, "amina")
    share = {"kind": InboundKind.CHOICE, "choice": f"stories:share:{story_id}"}
    telegram = await handle(bot, "telegram", "7", **share)
    deep = f"https://t.me/TogetherBot?start=s-{story_id}"
    page = f"https://together.example.org/stories/{story_id}"
    assert deep in telegram[0].text and page in telegram[0].text
    assert links(telegram) == {
        "📣 Share on Telegram": "https://t.me/share/url?url=https%3A%2F%2Ft.me%2FTogetherBot%3Fstart%3Ds-"
        + str(story_id),
        "🌐 Open the story's page": page,
    }
    web_link = f"https://together.example.org/?start=s-{story_id}"
    for platform in ("web", "slack"):
        replies = await handle(bot, platform, "8", **share)
        assert web_link in replies[0].text and page in replies[0].text
        assert links(replies) == {"🌐 Open the story's page": page}
    # Each link opens the story: Telegram's start payload, the web chat's ?start=.
    opened = await handle(
        bot, "web", "9", kind=InboundKind.COMMAND, command="start", args=f"s-{story_id}"
    )
    assert "I left Aleppo" in opened[0].text


async def test_without_a_public_address_share_gives_the_chat_link_only(bot: Bot) -> None:
    story_id = await published(bot, "amina")
    chat = MemoryChat(bot.core, user_id="reader")
    await chat.send("/stories")
    await chat.tap("Share this story")
    assert f"{bot.settings.resolved_public_url}/?start=s-{story_id}" in chat.text
    assert "/stories/" not in chat.text
    assert links(chat.last) == {}


async def test_after_the_pledge_the_thanks_offers_a_story(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="early")
    await chat.send("/pledge")
    await chat.tap("I take the pledge")
    await chat.send("/skip")
    await chat.send("/skip")
    assert "Thank you for standing with refugees" in chat.text
    assert not any("Meet someone" in label for label in chat.labels)  # nothing to meet yet
    story_id = await published(bot, "amina")
    later = MemoryChat(bot.core, user_id="later")
    await later.send("/pledge")
    await later.tap("I take the pledge")
    await later.send("/skip")
    await later.send("/skip")
    await later.tap("Meet someone your pledge stands with")
    assert shown(later) == story_id and "I left Aleppo" in later.text


async def test_reads_are_counted_without_the_reader(bot: Bot) -> None:
    story_id = await published(bot, "amina")
    db = bot.deps.db

    async def rows() -> dict[str, int]:
        async with db.transaction() as session:
            return {
                table.name: (
                    await session.execute(select(func.count()).select_from(table))
                ).scalar_one()
                for table in ALL_TABLES.sorted_tables
            }

    before = await rows()
    for reader in ("r1", "r2", "r1"):
        await MemoryChat(bot.core, user_id=reader).send(f"/start s-{story_id}")
    after = await rows()
    assert await reads_of(bot, story_id) == 3
    # New rows: the two readers, their conversations, the events' dedupe keys, and one
    # aggregate for the story; nothing that holds who read what.
    grew = {name: after[name] - before[name] for name in after if after[name] != before[name]}
    assert grew == {"participant": 2, "conversation": 2, "processed_event": 3, "story_stats": 1}
    assert set(StoryStats.model_fields) == {"story_id", "reads", "thanks", "last_read_at"}
    async with db.transaction() as session:
        stats = await session.get(StoryStats, story_id)
        drafts = (await session.execute(select(Conversation.draft))).scalars().all()
    assert stats is not None and stats.last_read_at is not None
    # The reader's own conversation keeps only the story seen last (so the next differs).
    assert sum(1 for draft in drafts if draft.get(LAST_STORY) == story_id) == 2


async def test_withdrawn_and_unpublished_stories_are_never_shown(bot: Bot) -> None:
    kept = await published(bot, "amina")
    gone = await published(bot, "omar")
    await tell(bot, "waiting")  # in the queue, never published
    teller = MemoryChat(bot.core, user_id="omar")
    await teller.press(f"mystory:withdraw:{gone}")
    await teller.press(f"mystory:confirm:{gone}")
    assert "is withdrawn" in teller.text
    await deliver(bot)
    chat = MemoryChat(bot.core, user_id="reader")
    await chat.send("/stories")
    seen = {shown(chat)}
    for _ in range(3):
        await chat.press("stories:next")
        seen.add(shown(chat))
    assert seen == {kept, None}  # the only story, then "the only story here"
    await chat.send(f"/start s-{gone}")
    assert "Sorry, that story is not available." in chat.text
    await chat.press(f"stories:share:{gone}")
    assert "Sorry, that story is not available." in chat.text
    assert "start=s-" not in chat.text


async def test_a_minors_name_is_never_shown(bot: Bot) -> None:
    story_id = await published(
        bot, "young", is_adult=False, credit_mode="full_name", credit_name="Amina Haddad"
    )
    chat = MemoryChat(bot.core, user_id="reader")
    await chat.send(f"/start s-{story_id}")
    assert "— Anonymous, from Syria, living in Japan" in chat.text
    assert "Amina" not in chat.text and "Haddad" not in chat.text


async def test_only_files_a_moderator_published_are_attached(bot: Bot) -> None:
    story_id = await published(bot, "amina")
    store = bot.deps.media
    owner = MediaStore.owner_of("a1" * 32)
    files = [await store.ingest(media_samples.jpeg_with_gps(), owner=owner) for _ in range(2)]
    async with bot.deps.db.transaction() as session:
        for position, (kind, name, publish) in enumerate(
            [
                ("photo", files[0].name, True),
                ("photo", files[1].name, False),  # the moderator kept it back
                ("photo", "0" * 24 + "-" + "1" * 32 + ".jpg", True),  # no longer in the store
                ("voice", "telegram-file-id", True),  # another platform's file id
            ]
        ):
            ref = name if name == "telegram-file-id" else f"local:{name}"
            session.add(
                StoryMedia(
                    story_id=story_id,
                    position=position,
                    kind=kind,
                    platform="telegram" if name == "telegram-file-id" else "memory",
                    ref=ref,
                    publish=publish,
                )
            )
    chat = MemoryChat(bot.core, user_id="reader")
    await chat.send(f"/start s-{story_id}")
    attached = [m for m in chat.last if m.media]
    assert len(attached) == 1 and "I left Aleppo" in attached[0].text
    assert [(m.kind, m.ref) for m in attached[0].media] == [
        (MediaKind.PHOTO, f"local:{files[0].name}")
    ]
    # The web chat gets the same published file (it shows it from the wall's address).
    web = await handle(
        bot, "web", "w1", kind=InboundKind.COMMAND, command="start", args=f"s-{story_id}"
    )
    shown = [m for m in web if m.media]
    assert len(shown) == 1 and "I left Aleppo" in shown[0].text
    assert [m.ref for m in shown[0].media] == [f"local:{files[0].name}"]


async def test_a_story_taken_back_to_review_leaves_the_round(bot: Bot) -> None:
    first = await published(bot, "amina")
    second = await published(bot, "omar")
    chat = MemoryChat(bot.core, user_id="reader")
    await chat.send(f"/start s-{first}")
    async with bot.deps.db.transaction() as session:
        await session.execute(
            update(ModerationItem)
            .where(ModerationItem.story_id == second)  # type: ignore[arg-type]
            .values(state="UNPUBLISHED")
        )
    await chat.tap("Another story")
    assert "That is the only story here for now" in chat.text
