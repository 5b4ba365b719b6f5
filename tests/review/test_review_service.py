"""The review facade end to end: a story submitted in chat, decided, published, told."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import select

from bot.adapters.memory import MemoryChat, MemorySender
from bot.app import Bot
from bot.review.service import ActionRequest, ReviewAction, ReviewService
from storage.models import (
    ModerationItem,
    ModerationRefusal,
    OutboxMessage,
    Publication,
    Story,
    StoryState,
)
from tests.handlers.test_story_flow import tell_story
from tests.races import Rendezvous, on_statement


def reads_the_item(statement: str) -> bool:
    return statement.lstrip().upper().startswith("SELECT") and "FROM moderation_item" in statement


def team(bot: Bot) -> None:
    bot.settings.moderators = {
        "ana": {"role": "moderator", "accounts": ["memory:mod-ana"]},
        "ben": {"role": "moderator", "accounts": ["memory:mod-ben"]},
        "lea": {"role": "lead", "accounts": ["memory:mod-lea"]},
    }


async def submitted(
    bot: Bot, user: str = "amina", locale: str | None = None
) -> tuple[MemoryChat, int, int]:
    chat = MemoryChat(bot.core, user_id=user, locale_hint=locale)
    await tell_story(chat)
    await chat.tap("Submit")
    async with bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalars().all()[-1]
    assert item.id is not None
    return chat, item.id, item.version


async def test_approve_publishes_and_tells_the_storyteller(
    bot: Bot, memory_sender: MemorySender
) -> None:
    team(bot)
    _chat, item_id, version = await submitted(bot)
    outcome = await bot.review.act_from(
        "memory", "mod-ana", ActionRequest(ReviewAction.APPROVE, item_id, version)
    )
    assert outcome.ok, outcome.message
    while await bot.dispatcher.run_once():
        pass
    async with bot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
    assert story.state == StoryState.PUBLISHED
    texts = [m.text for m in memory_sender.sent["amina"]]
    assert any("is published" in t for t in texts)
    assert any("in the review queue" in t for t in texts)


async def test_double_approve_one_wins_the_other_is_told_who(bot: Bot) -> None:
    team(bot)
    _chat, item_id, version = await submitted(bot)
    request = ActionRequest(ReviewAction.APPROVE, item_id, version)
    db = bot.deps.db
    # On PostgreSQL both have read the item before either decides (SQLite's writer lock
    # admits them one after the other: there this proves only what the loser is told).
    both_read = Rendezvous(2, reads_the_item) if db.is_postgres else None
    with on_statement(db, both_read) if both_read else contextlib.nullcontext():
        first, second = await asyncio.gather(
            bot.review.act_from("memory", "mod-ana", request),
            bot.review.act_from("memory", "mod-ben", request),
        )
    assert sorted([first.ok, second.ok]) == [False, True]
    loser = second if first.ok else first
    assert "already handled by" in loser.message


async def test_strangers_and_missing_reasons_are_refused_and_recorded(bot: Bot) -> None:
    team(bot)
    _chat, item_id, version = await submitted(bot)
    stranger = await bot.review.act_from(
        "memory", "random-person", ActionRequest(ReviewAction.APPROVE, item_id, version)
    )
    assert not stranger.ok and "Only moderators" in stranger.message
    no_reason = await bot.review.act_from(
        "memory", "mod-ana", ActionRequest(ReviewAction.REJECT, item_id, version)
    )
    assert not no_reason.ok
    async with bot.deps.db.transaction() as session:
        refusals = (await session.execute(select(ModerationRefusal))).scalars().all()
        item = await session.get(ModerationItem, item_id)
    assert [r.refusal for r in refusals] == ["unknown_moderator"]
    assert item is not None and item.state == StoryState.PENDING_REVIEW


async def test_self_moderation_is_refused(bot: Bot) -> None:
    bot.settings.moderators = {"amina": {"role": "lead", "accounts": ["memory:amina"]}}
    _chat, item_id, version = await submitted(bot, user="amina")
    outcome = await bot.review.act_from(
        "memory", "amina", ActionRequest(ReviewAction.APPROVE, item_id, version)
    )
    assert not outcome.ok and "your own story" in outcome.message


async def test_cards_are_refreshed_in_place_after_any_decision(
    bot: Bot, memory_sender: MemorySender
) -> None:
    team(bot)
    _chat, item_id, version = await submitted(bot)
    await bot.review.register_card(item_id, "memory", "moderators", "card-77")
    await bot.review.act_from(
        "memory", "mod-ana", ActionRequest(ReviewAction.CLAIM, item_id, version)
    )
    await bot.dispatcher.run_once()
    edits = memory_sender.sent["moderators"]
    assert edits and edits[-1].edit_of == "card-77"
    assert "Being reviewed by ana" in edits[-1].text


async def test_reject_with_reason_then_appeal_from_chat(
    bot: Bot, memory_sender: MemorySender
) -> None:
    team(bot)
    chat, item_id, version = await submitted(bot)
    outcome = await bot.review.act_from(
        "memory", "mod-ana", ActionRequest(ReviewAction.REJECT, item_id, version, "off_topic")
    )
    assert outcome.ok
    await bot.dispatcher.run_once()
    notice = memory_sender.sent["amina"][-1]
    assert "will not be published (Off topic)" in notice.text
    chat.last = [notice]
    await chat.tap("Ask for another review")
    assert "read story" in chat.text
    async with bot.deps.db.transaction() as session:
        item = await session.get(ModerationItem, item_id)
    assert item is not None and item.state == StoryState.PENDING_REVIEW


async def test_needs_changes_then_revise_from_chat(bot: Bot, memory_sender: MemorySender) -> None:
    team(bot)
    chat, item_id, version = await submitted(bot)
    await bot.review.act_from(
        "memory",
        "mod-ana",
        ActionRequest(ReviewAction.CHANGES, item_id, version),
        text="Please remove the name of your street.",
    )
    await bot.dispatcher.run_once()
    notice = memory_sender.sent["amina"][-1]
    assert "Please remove the name of your street." in notice.text
    chat.last = [notice]
    await chat.tap("Revise my story")
    await chat.send("We left Aleppo in 2015. Today I study nursing.")
    await chat.tap("I'm done")
    await chat.tap("Send the new version")
    assert "new version is with our team" in chat.text
    async with bot.deps.db.transaction() as session:
        item = await session.get(ModerationItem, item_id)
    assert item is not None and item.state == StoryState.PENDING_REVIEW


async def test_notices_use_the_storytellers_language(bot: Bot, memory_sender: MemorySender) -> None:
    team(bot)
    _chat, item_id, version = await submitted(bot, user="kenji")
    async with bot.deps.db.transaction() as session:
        from storage.models import Participant

        person = (
            await session.execute(select(Participant).where(Participant.external_id == "kenji"))
        ).scalar_one()
        person.locale = "ja"
    await bot.review.act_from(
        "memory", "mod-ana", ActionRequest(ReviewAction.APPROVE, item_id, version)
    )
    while await bot.dispatcher.run_once():
        pass
    published = memory_sender.sent["kenji"][-1]
    assert published.locale == "ja"
    assert "#" in published.text and "published" not in published.text


async def test_action_request_parsing_refuses_forgeries() -> None:
    assert ActionRequest.parse("mod:approve:12:3") == ActionRequest(ReviewAction.APPROVE, 12, 3)
    assert ActionRequest.parse("mod:reject:12:3:spam") == ActionRequest(
        ReviewAction.REJECT, 12, 3, "spam"
    )
    for forged in (
        "mod:approve:12",
        "mod:nuke:1:1",
        "mod:approve:x:1",
        "mod:reject:1:1:<b>",
        "x:approve:1:1",
    ):
        assert ActionRequest.parse(forged) is None
    assert (
        len(ActionRequest(ReviewAction.UNPUBLISH, 10**9, 10**6, "personal_data").choice_id()) <= 64
    )


async def test_counts(bot: Bot) -> None:
    await submitted(bot)
    service = ReviewService(bot.deps)
    assert (await service.counts()).get("PENDING_REVIEW") == 1


async def test_a_story_posted_again_is_taken_down_again(bot: Bot) -> None:
    """Published, taken down, published again in the same channel, taken down again:
    both posts go (the second take-down is not mistaken for a repeat of the first)."""
    team(bot)
    _chat, _item_id, _version = await submitted(bot)
    async with bot.deps.db.transaction() as session:
        story_id = (await session.execute(select(Story.id))).scalar_one()
    for message_id in ("10", "11"):  # the first post, then the post after republishing
        async with bot.deps.db.transaction() as session:
            session.add(
                Publication(
                    story_id=story_id, platform="telegram", chat_id="@ch", message_id=message_id
                )
            )
        async with bot.deps.db.transaction() as session:
            await bot.review.take_down(session, story_id)
    async with bot.deps.db.transaction() as session:
        payloads = (
            await session.execute(select(OutboxMessage.payload).order_by(OutboxMessage.id))
        ).scalars()
        taken_down = [p["takedown"]["message_id"] for p in payloads if "takedown" in p]
    assert taken_down == ["10", "11"]
