"""Every inbound kind, through long polling against the fake Bot API over real HTTP.

The recording core stands in for the real one: the subject is which ``Inbound`` (or
reachability change, or group hand-off) a Telegram update becomes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from telegram import Update

from bot.adapters.telegram import TelegramAdapter
from bot.config import Settings
from bot.core.events import Inbound, InboundKind, MediaKind, MediaRef
from tests.adapters.telegram.conftest import UNLIMITED, RecordingCore, telegram_settings
from tests.fakes.telegram_api import FakeTelegramApi

MODERATORS = -100500  # the moderation group of the ``polling`` fixture


async def test_private_text(
    api: FakeTelegramApi, polling: TelegramAdapter, recording_core: RecordingCore
) -> None:
    update = api.make.text(42, "Hello <b>there</b>", language_code="fr", first_name="Amina")
    api.push(update)
    inbound = await recording_core.next_inbound(1)
    assert inbound == Inbound(
        platform="telegram",
        user_id="42",
        chat_id="42",
        key=str(update["update_id"]),
        kind=InboundKind.TEXT,
        text="Hello <b>there</b>",
        locale_hint="fr",
        display_name="Amina",
        message_id=str(update["message"]["message_id"]),
    )
    assert inbound.raw is not None and inbound.raw["update_id"] == update["update_id"]


@pytest.mark.parametrize(
    ("text", "command", "args"),
    [
        ("story", "start", "story"),
        ("pledge", "start", "pledge"),
        ("pledge-together2026", "start", "pledge-together2026"),
        ("ref-ngo_42", "start", "ref-ngo_42"),
        ("", "start", ""),
    ],
)
async def test_start_deep_link_payload_goes_in_args(
    api: FakeTelegramApi,
    polling: TelegramAdapter,
    recording_core: RecordingCore,
    text: str,
    command: str,
    args: str,
) -> None:
    api.push(api.make.command(42, "start", text))
    inbound = await recording_core.next_inbound(1)
    assert (inbound.kind, inbound.command, inbound.args) == (InboundKind.COMMAND, command, args)


async def test_command_addressed_to_this_bot_or_another(
    api: FakeTelegramApi, polling: TelegramAdapter, recording_core: RecordingCore
) -> None:
    assert polling.bot_username == "together_test_bot"  # from getMe
    api.push(
        api.make.text(42, "/help@other_bot"),
        api.make.text(42, "/Pledge@Together_Test_Bot  now "),
        api.make.text(42, "/ not a command"),
    )
    first = await recording_core.next_inbound(1)
    second = await recording_core.next_inbound(2)
    assert (first.kind, first.command, first.args) == (InboundKind.COMMAND, "pledge", "now")
    assert (second.kind, second.text) == (InboundKind.TEXT, "/ not a command")
    await api.wait_idle()
    assert len(recording_core.inbound) == 2


async def test_callback_is_a_choice_keyed_by_its_id_and_always_answered(
    api: FakeTelegramApi, polling: TelegramAdapter, recording_core: RecordingCore
) -> None:
    update = api.make.callback(42, "menu:story", message_id=77, language_code="ar")
    api.push(update)
    inbound = await recording_core.next_inbound(1)
    query_id = update["callback_query"]["id"]
    assert (inbound.kind, inbound.choice, inbound.key) == (
        InboundKind.CHOICE,
        "menu:story",
        f"cb:{query_id}",
    )
    assert (inbound.chat_id, inbound.message_id, inbound.locale_hint) == ("42", "77", "ar")
    answer = await api.wait_for_call("answerCallbackQuery")
    assert answer.params["callback_query_id"] == query_id
    assert "text" not in answer.params  # nothing to toast: replies come as messages


MEDIA_CASES: list[tuple[str, Callable[[FakeTelegramApi], dict[str, Any]], MediaRef, str | None]] = [
    (
        "photo (largest size)",
        lambda api: api.make.photo(42, caption="my family", size=150_000),
        MediaRef(MediaKind.PHOTO, "photo2-3", "image/jpeg", 150_000),
        "my family",
    ),
    (
        "voice",
        lambda api: api.make.voice(42, duration=7, size=40_000),
        MediaRef(MediaKind.VOICE, "voice-1", "audio/ogg", 40_000, 7),
        None,
    ),
    (
        "video",
        lambda api: api.make.video(42, duration=12, size=2_000_000),
        MediaRef(MediaKind.VIDEO, "video-1", "video/mp4", 2_000_000, 12),
        None,
    ),
    (
        "pdf document",
        lambda api: api.make.document(42, mime_type="application/pdf", size=50_000),
        MediaRef(MediaKind.DOCUMENT, "doc-1", "application/pdf", 50_000),
        None,
    ),
    (
        "image sent as a file",
        lambda api: api.make.document(42, mime_type="image/png", file_name="a.png", size=9),
        MediaRef(MediaKind.DOCUMENT, "doc-1", "image/png", 9),
        None,
    ),
    (
        # The size limit is the story's (it says why): the adapter passes the size on.
        "a file over the size limit",
        lambda api: api.make.video(42, size=30 * 1024 * 1024),
        MediaRef(MediaKind.VIDEO, "video-1", "video/mp4", 30 * 1024 * 1024, 12),
        None,
    ),
]


@pytest.mark.parametrize(
    ("build", "media", "caption"),
    [case[1:] for case in MEDIA_CASES],
    ids=[case[0] for case in MEDIA_CASES],
)
async def test_media_by_file_id(
    api: FakeTelegramApi,
    polling: TelegramAdapter,
    recording_core: RecordingCore,
    build: Callable[[FakeTelegramApi], dict[str, Any]],
    media: MediaRef,
    caption: str | None,
) -> None:
    api.push(build(api))
    inbound = await recording_core.next_inbound(1)
    assert inbound.kind is InboundKind.MEDIA
    assert inbound.media == (media,)
    assert inbound.caption == caption


UNSUPPORTED_CASES: list[tuple[str, Callable[[FakeTelegramApi], dict[str, Any]]]] = [
    ("sticker", lambda api: api.make.sticker(42)),
    ("location", lambda api: api.make.location(42)),
    ("contact", lambda api: api.make.contact(42)),
    ("poll", lambda api: api.make.poll(42)),
    ("dice", lambda api: api.make.dice(42)),
    ("document_type", lambda api: api.make.document(42, mime_type="application/x-msdownload")),
]


@pytest.mark.parametrize(
    ("tag", "build"), UNSUPPORTED_CASES, ids=[case[0] for case in UNSUPPORTED_CASES]
)
async def test_unusable_content_is_unsupported_and_named(
    api: FakeTelegramApi,
    polling: TelegramAdapter,
    recording_core: RecordingCore,
    tag: str,
    build: Callable[[FakeTelegramApi], dict[str, Any]],
) -> None:
    api.push(build(api))
    inbound = await recording_core.next_inbound(1)
    assert (inbound.kind, inbound.args, inbound.media) == (InboundKind.UNSUPPORTED, tag, ())


async def test_edited_message_is_an_edit_of_that_message(
    api: FakeTelegramApi, polling: TelegramAdapter, recording_core: RecordingCore
) -> None:
    api.push(api.make.edited_text(42, message_id=5, text="corrected"))
    inbound = await recording_core.next_inbound(1)
    assert (inbound.kind, inbound.text, inbound.edit_of) == (InboundKind.EDIT, "corrected", "5")


async def test_blocked_and_unblocked_change_reachability(
    api: FakeTelegramApi, polling: TelegramAdapter, recording_core: RecordingCore
) -> None:
    api.push(
        api.make.my_chat_member(42, status="kicked", old_status="member"),
        api.make.my_chat_member(42, status="member", old_status="kicked"),
    )
    await recording_core.wait_for(lambda: len(recording_core.reachability) == 2)
    assert recording_core.reachability == [("telegram", "42", False), ("telegram", "42", True)]
    assert recording_core.inbound == []


async def test_groups_are_ignored_except_the_moderators_group(
    api: FakeTelegramApi, settings: Settings, recording_core: RecordingCore
) -> None:
    handed_over: list[Update] = []
    arrived = asyncio.Event()

    async def moderation_surface(update: Update) -> None:
        handed_over.append(update)
        arrived.set()

    adapter = TelegramAdapter(
        telegram_settings(settings, api, telegram_moderation_chat_id=str(MODERATORS)),
        recording_core,
        group_handler=moderation_surface,
        limits=UNLIMITED,
    )
    await adapter.start()
    try:
        other = api.make.group_chat(-100999)
        moderators = api.make.group_chat(MODERATORS)
        api.push(
            api.make.text(7, "in another group", chat=other),
            api.make.callback(7, "menu:story", chat=other),
            api.make.text(7, "/queue", chat=moderators),
        )
        await asyncio.wait_for(arrived.wait(), 5)
        await api.wait_idle()
        await api.wait_for_call("answerCallbackQuery")  # even an ignored button stops spinning
    finally:
        await adapter.stop()
    assert [u.effective_chat.id for u in handed_over if u.effective_chat] == [MODERATORS]
    assert recording_core.inbound == []
