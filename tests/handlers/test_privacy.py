"""/privacy through the web chat, over HTTP: a complete copy, then an erasure that leaves
nothing (database file, WAL, media directory, every table, DEBUG logs)."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from bot.adapters.memory import MemoryChat
from bot.app import Bot, create_app
from bot.core.events import Inbound, Outgoing
from bot.logs import PAYLOAD_LOGGERS
from storage.models import StoryMedia
from tests.adapters.test_webchat import Browser
from tests.handlers.test_story_flow import to_the_story_step
from tests.moderation.test_erasure import _text_columns

# Letters only, so that every validator takes it; found nowhere in the code or catalogs.
MARK = "Qoxzivmerth"
STORY = f"We crossed the river at {MARK} ford in the spring, my sister and I."
CREDIT_NAME = f"Amina {MARK}"
PLEDGE_NAME = f"Rafa {MARK}"
TOP_LEVEL_KEYS = {
    "format",
    "format_version",
    "exported_at",
    "person",
    "unfinished",
    "stories",
    "pledges",
    "web_chat_transcript",
    "files_missing",
}


def photo_with_a_marker() -> bytes:
    """A JPEG whose bytes hold the marker: in its EXIF (the author) and its comment."""
    image = Image.new("RGB", (32, 24), (200, 120, 40))
    exif = Image.Exif()
    exif[0x013B] = MARK  # Artist
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=MARK.encode())
    assert MARK.encode() in out.getvalue()
    return out.getvalue()


async def tell_and_pledge(browser: Browser) -> None:
    await browser.open()
    await browser.tap("Share your story")
    await browser.tap("My own migration story")
    await browser.tap("I agree")
    await browser.tap("Yes, I am 18")
    await browser.tap("First name")
    await browser.say(CREDIT_NAME)
    await browser.say("Syria")
    await browser.say("Japan")
    await browser.say(STORY)
    upload = await browser.client.post(
        "/api/chat/upload",
        files={"file": ("river.jpg", photo_with_a_marker(), "image/jpeg")},
        data={"client_id": "up-1", "caption": f"The {MARK} ford"},
        headers={"X-CSRF-Token": browser.csrf},
    )
    assert upload.status_code == 200, upload.text
    browser._merge(upload)
    await browser.tap("I'm done")
    await browser.say(f"Thank you from {MARK}.")
    await browser.tap("Submit my story")
    assert "Thank you for trusting us" in browser.last_bot_text
    await browser.say("/pledge")
    await browser.tap("I take the pledge")
    await browser.say(PLEDGE_NAME)
    await browser.say("Japan")
    assert "taken the pledge" in browser.last_bot_text


async def download(browser: Browser) -> zipfile.ZipFile:
    await browser.say("/privacy")
    await browser.tap("Send me a copy of my data")
    summary = browser.last_bot_text
    assert "1 story" in summary and "1 pledge" in summary and "1 file" in summary, summary
    newest = max(browser.messages.values(), key=lambda m: int(m["id"]))  # type: ignore[call-overload]
    links = [c["url"] for c in newest["choices"] if c.get("url")]  # type: ignore[attr-defined]
    assert len(links) == 1
    path = httpx.URL(links[0]).path
    assert (await browser.client.get(path)).status_code == 200
    response = await browser.client.post(path)
    assert response.status_code == 200, response.text[:300]
    return zipfile.ZipFile(io.BytesIO(response.content))


def files_holding(root: Path, needle: bytes, pattern: str = "*") -> list[str]:
    """The files under ``root`` whose raw bytes contain ``needle``."""
    return [
        str(path.relative_to(root))
        for path in root.rglob(pattern)
        if path.is_file() and needle in path.read_bytes()
    ]


async def test_export_then_erasure_leaves_the_marker_nowhere(
    bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in PAYLOAD_LOGGERS:  # even libraries turned up by hand print no payload
        caplog.set_level(logging.DEBUG, logger=name)
    app = create_app(bot, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as http:
        browser = Browser(http)
        await tell_and_pledge(browser)
        async with bot.deps.db.transaction() as session:
            media = (await session.execute(select(StoryMedia))).scalar_one()
        stored = bot.deps.media_dir / media.ref.removeprefix("local:")
        assert stored.is_file()

        archive = await download(browser)
        names = archive.namelist()
        assert {"README.txt", "data.json"} <= set(names)
        data = json.loads(archive.read("data.json"))
        assert set(data) == TOP_LEVEL_KEYS
        story = data["stories"][0]
        assert STORY in story["revisions"][0]["text"]
        assert story["revisions"][0]["by"] == "storyteller"
        assert story["credit"] == {"mode": "first_name", "name": CREDIT_NAME}
        assert [h["to_state"] for h in story["moderation"]["history"]][-1] == "PENDING_REVIEW"
        assert data["pledges"][0]["name"] == PLEDGE_NAME
        assert data["person"]["consent"]["version"] == bot.settings.consent_version
        assert data["person"]["story_last_begun_at"] is not None
        # Asked after the pledge, not answered: said as such.
        assert data["person"]["milestone_updates"] == {"wanted": None, "answered_at": None}
        assert data["person"]["thanks_from_readers"] is True
        photo = story["media"][0]
        assert photo["kind"] == "photo" and photo["file"] in names
        assert archive.read(photo["file"]) == stored.read_bytes()
        said = [m["text"] for m in data["web_chat_transcript"] if m["from"] == "you"]
        assert STORY in said and any(m["media"] for m in data["web_chat_transcript"])
        assert data["files_missing"] == []
        assert "data.json" in archive.read("README.txt").decode()

        await browser.say("/privacy")
        await browser.tap("Erase all my data")
        erased = (await browser.tap("Yes, erase everything")).json()
        assert erased["reset"]  # the page starts over with what is left: the goodbye
        assert "Your data has been erased" in erased["messages"][-1]["text"]

    assert not stored.exists()
    assert list(bot.deps.media_dir.iterdir()) == []
    leaks = [
        (table, column)
        for table, column, value in await _text_columns(bot.deps.db)
        if value is not None and MARK in json.dumps(value, ensure_ascii=False)
    ]
    assert leaks == []
    if bot.deps.db.is_sqlite:
        database = Path(bot.deps.db.engine.url.database or "")
        assert database.parent == tmp_path
        for side in ("", "-wal", "-shm"):
            assert files_holding(database.parent, MARK.encode(), f"*{side}") == [], side
    # The database, its WAL, DATA_DIR (media, secrets, any temporary file): nothing.
    assert files_holding(tmp_path, MARK.encode()) == []
    assert any(r.name == "aiosqlite" or r.name.startswith("bot.") for r in caplog.records)
    assert MARK not in caplog.text


class PlatformChat(MemoryChat):
    """A chat whose replies are kept as outbox rows, as Telegram's and Slack's are."""

    async def deliver(self, inbound: Inbound) -> list[Outgoing]:
        self.last = list((await self.core.accept(inbound)).replies)
        self.transcript.extend(self.last)
        return self.last


async def test_erasure_empties_the_replies_kept_for_a_chat_platform(bot: Bot) -> None:
    """On Telegram and Slack a reply is an outbox row (sent at once, kept after): the
    story's preview quotes the text; erasure leaves none of it."""
    chat = PlatformChat(bot.core, user_id="amina")
    await to_the_story_step(chat)
    await chat.send(STORY)
    await chat.tap("I'm done")
    await chat.send("/skip")
    assert MARK in chat.text  # the preview
    await chat.tap("Submit my story")
    await chat.send("/pledge")
    await chat.tap("I take the pledge")
    await chat.send(PLEDGE_NAME)
    await chat.send("/privacy")
    await chat.tap("Erase all my data")
    await chat.tap("Yes, erase everything")
    assert "Your data has been erased" in chat.text
    while await bot.dispatcher.run_once():
        pass
    leaks = [
        (table, column)
        for table, column, value in await _text_columns(bot.deps.db)
        if value is not None and MARK in json.dumps(value, ensure_ascii=False)
    ]
    assert leaks == []
