"""Outgoing -> Bot API calls: keyboards, the 4096 split, plain text only, edits, media."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.adapters.telegram.limits import SendLimiter
from bot.adapters.telegram.rendering import (
    TEXT_LIMIT,
    PartKind,
    RenderError,
    keyboard,
    plan,
    split_text,
    utf16_len,
)
from bot.adapters.telegram.sender import TelegramSender
from bot.core.delivery import PermanentError
from bot.core.events import Choice, MediaKind, MediaRef, Outgoing
from tests.adapters.telegram.conftest import UNLIMITED
from tests.fakes.telegram_api import FakeTelegramApi, keyboard_of


def test_short_text_is_one_chunk() -> None:
    assert split_text("hello") == ["hello"]


def test_long_text_splits_on_paragraphs_and_loses_nothing() -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 150 for i in range(20)]
    text = "\n\n".join(paragraphs)
    chunks = split_text(text)
    assert len(chunks) > 1
    assert all(utf16_len(chunk) <= TEXT_LIMIT for chunk in chunks)
    assert "\n\n".join(chunks) == text  # every cut is at a paragraph boundary
    assert all(chunk.startswith("Paragraph") for chunk in chunks)


def test_a_huge_paragraph_falls_back_to_lines_then_words_then_hard_cuts() -> None:
    lines = "\n".join("line " * 100 for _ in range(30))
    assert "\n".join(split_text(lines)) == lines
    words = " ".join(["word"] * 3000)
    assert " ".join(split_text(words)) == words
    solid = "x" * 10_000
    assert split_text(solid) == ["x" * 4096, "x" * 4096, "x" * 1808]


def test_limit_counts_utf16_units_and_never_cuts_an_emoji() -> None:
    text = "🙂" * 3000  # 6000 UTF-16 units
    chunks = split_text(text)
    assert [utf16_len(c) for c in chunks] == [4096, 1904]
    assert "".join(chunks) == text


def test_keyboard_rows_follow_label_length_and_urls_become_links() -> None:
    short = keyboard([Choice(f"c:{i}", f"{i}") for i in range(5)])
    assert short is not None
    assert [len(row) for row in short.inline_keyboard] == [3, 2]
    long = keyboard([Choice("a", "A rather long label here"), Choice("b", "Another long label")])
    assert long is not None
    assert [len(row) for row in long.inline_keyboard] == [1, 1]
    share = keyboard([Choice("share", "Share", url="https://t.me/share/url?url=x")])
    assert share is not None
    button = share.inline_keyboard[0][0]
    assert (button.url, button.callback_data) == ("https://t.me/share/url?url=x", None)
    assert keyboard([]) is None


def test_callback_data_over_64_bytes_is_refused() -> None:
    keyboard([Choice("é" * 32, "ok")])  # exactly 64 bytes
    with pytest.raises(RenderError):
        keyboard([Choice("é" * 33, "too long")])


def test_plan_puts_the_keyboard_on_the_last_chunk_only() -> None:
    parts = plan(Outgoing("a" * 5000, choices=(Choice("c:done", "Done"),)))
    assert [p.kind for p in parts] == [PartKind.TEXT, PartKind.TEXT]
    assert parts[0].markup is None and parts[1].markup is not None


@pytest.fixture
async def bot(api: FakeTelegramApi) -> AsyncIterator[Bot]:
    request = HTTPXRequest(read_timeout=1.0, connect_timeout=1.0)
    async with Bot(
        api.token, base_url=api.base_url, base_file_url=api.base_file_url, request=request
    ) as bot:
        yield bot


@pytest.fixture
def sender(bot: Bot) -> TelegramSender:
    return TelegramSender(bot, SendLimiter(UNLIMITED))


async def test_user_text_goes_out_verbatim_and_never_with_a_parse_mode(
    api: FakeTelegramApi, sender: TelegramSender
) -> None:
    hostile = "<b>bold</b> *star* _under_ [link](http://x) `code` &amp;"
    message_id = await sender.send("42", Outgoing(f"You wrote: {hostile}"))
    call = api.calls("sendMessage")[0]
    assert call.params["text"] == f"You wrote: {hostile}"
    assert message_id is not None
    await sender.send("42", Outgoing("x" * 9000, choices=(Choice("c:1", "One"),)))
    await sender.send("42", Outgoing("caption <i>", media=(MediaRef(MediaKind.PHOTO, "p1"),)))
    await sender.send("42", Outgoing("edited *", edit_of=message_id))
    assert api.all_calls
    for recorded in api.all_calls:
        assert "parse_mode" not in recorded.params, recorded.method
        assert "entities" not in recorded.params, recorded.method


async def test_long_text_is_several_messages_with_the_keyboard_on_the_last(
    api: FakeTelegramApi, sender: TelegramSender
) -> None:
    text = "\n\n".join(f"Part {i}: " + "x" * 3000 for i in range(3))
    choices = (Choice("c:done", "✅ I'm done"), Choice("share", "Share", url="https://e.org"))
    last_id = await sender.send("42", Outgoing(text, choices=choices))
    calls = api.calls("sendMessage")
    assert [str(c.params["text"]).split(":")[0] for c in calls] == ["Part 0", "Part 1", "Part 2"]
    assert [keyboard_of(c) for c in calls[:-1]] == [[], []]
    assert keyboard_of(calls[-1]) == [
        [
            {"text": "✅ I'm done", "callback_data": "c:done"},
            {"text": "Share", "url": "https://e.org"},
        ]
    ]
    assert last_id == ",".join(str(c.result["message_id"]) for c in calls)


async def test_a_split_message_is_edited_at_its_last_part_and_deleted_whole(
    api: FakeTelegramApi, sender: TelegramSender
) -> None:
    joined = await sender.send("-100777", Outgoing("a" * 5000))
    assert joined is not None
    first, last = joined.split(",")
    assert await sender.send("-100777", Outgoing("Claimed", edit_of=joined)) == joined
    assert api.calls("editMessageText")[0].params["message_id"] == int(last)
    api.fail("deleteMessage", 400, description="Bad Request: message to delete not found")
    assert await sender.send("-100777", Outgoing("", delete_of=joined)) is None
    deleted = [c.params["message_id"] for c in api.calls("deleteMessage")]
    assert deleted == [int(first), int(last)]  # the first was already gone: still done


async def test_edit_of_edits_in_place_and_not_modified_is_success(
    api: FakeTelegramApi, sender: TelegramSender
) -> None:
    assert await sender.send("42", Outgoing("Claimed by Ana", edit_of="55")) == "55"
    call = api.calls("editMessageText")[0]
    assert (call.params["chat_id"], call.params["message_id"]) == (42, 55)
    assert "reply_markup" not in call.params  # no choices: the buttons go away
    api.fail("editMessageText", 400, description="Bad Request: message is not modified")
    assert await sender.send("42", Outgoing("Claimed by Ana", edit_of="55")) == "55"
    assert api.calls("sendMessage") == []


async def test_edit_of_a_vanished_message_sends_it_anew(
    api: FakeTelegramApi, sender: TelegramSender
) -> None:
    api.fail("editMessageText", 400, description="Bad Request: message to edit not found")
    assert await sender.send("42", Outgoing("Still here", edit_of="55")) is not None
    assert [c.params["text"] for c in api.calls("sendMessage")] == ["Still here"]


async def test_an_edit_with_media_edits_each_message_or_sends_it_anew_when_it_splits_otherwise(
    api: FakeTelegramApi, sender: TelegramSender
) -> None:
    photo = (MediaRef(MediaKind.PHOTO, "p1"),)
    post = await sender.send("-100555", Outgoing("A short story", media=photo))
    assert post is not None and "," not in post
    # New words that still fit the caption: the caption is edited, the photo stays.
    assert (
        await sender.send(
            "-100555", Outgoing("A title\n\nA short story", media=photo, edit_of=post)
        )
        == post
    )
    (caption,) = api.calls("editMessageCaption")
    assert (caption.params["message_id"], caption.params["caption"]) == (
        int(post),
        "A title\n\nA short story",
    )
    assert len(api.calls("sendPhoto")) == 1
    # Words too long for a caption: the photo and the text are sent, the old post deleted.
    anew = await sender.send("-100555", Outgoing("word " * 300, media=photo, edit_of=post))
    assert anew is not None and len(anew.split(",")) == 2 and post not in anew.split(",")
    assert [c.params["message_id"] for c in api.calls("deleteMessage")] == [int(post)]
    assert len(api.calls("sendPhoto")) == 2 and len(api.calls("sendMessage")) == 1
    # A photo, then its text: the text message is edited, the photo's empty caption kept.
    assert await sender.send("-100555", Outgoing("more " * 300, media=photo, edit_of=anew)) == anew
    assert api.calls("editMessageText")[-1].params["message_id"] == int(anew.split(",")[1])


async def test_a_text_too_old_to_delete_is_emptied_in_place(
    api: FakeTelegramApi, sender: TelegramSender
) -> None:
    api.fail("deleteMessage", 400, description="Bad Request: message can't be deleted")
    api.fail("editMessageMedia", 400, description="Bad Request: there is no media in the message")
    assert await sender.send("-100555", Outgoing("", delete_of="77")) is None
    (emptied,) = api.calls("editMessageText", ok_only=True)
    assert (emptied.params["message_id"], emptied.params["text"]) == (77, "🗑")
    assert api.calls("sendMessage") == []


async def test_media_by_file_id_with_caption_and_keyboard(
    api: FakeTelegramApi, sender: TelegramSender
) -> None:
    choice = (Choice("c:ok", "OK"),)
    await sender.send(
        "42", Outgoing("Your photo", choices=choice, media=(MediaRef(MediaKind.PHOTO, "p1"),))
    )
    photo = api.calls("sendPhoto")[0]
    assert (photo.params["photo"], photo.params["caption"]) == ("p1", "Your photo")
    assert keyboard_of(photo) == [[{"text": "OK", "callback_data": "c:ok"}]]
    media = (
        MediaRef(MediaKind.VOICE, "v1"),
        MediaRef(MediaKind.VIDEO, "vid1"),
        MediaRef(MediaKind.DOCUMENT, "d1"),
    )
    await sender.send("42", Outgoing("Your story has three files", choices=choice, media=media))
    methods = [c.method for c in api.all_calls if c.method.startswith("send")]
    assert methods == ["sendPhoto", "sendVoice", "sendVideo", "sendDocument", "sendMessage"]
    assert api.calls("sendVoice")[0].params["voice"] == "v1"
    assert "caption" not in api.calls("sendVoice")[0].params
    assert keyboard_of(api.calls("sendMessage")[0]) == [[{"text": "OK", "callback_data": "c:ok"}]]


async def test_unrenderable_messages_are_permanent_errors_and_send_nothing(
    api: FakeTelegramApi, sender: TelegramSender
) -> None:
    with pytest.raises(PermanentError):
        await sender.send("42", Outgoing("x", choices=(Choice("c" * 65, "long id"),)))
    with pytest.raises(PermanentError):
        await sender.send("42", Outgoing("x", media=(MediaRef(MediaKind.PHOTO, "local:a.jpg"),)))
    with pytest.raises(PermanentError):
        await sender.send("42", Outgoing("x", edit_of="web-17"))
    assert api.all_calls == [api.calls("getMe")[0]]
