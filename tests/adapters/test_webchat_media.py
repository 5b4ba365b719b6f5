"""Web chat uploads: kept cleaned, served back only to their owner and to moderators, and
nothing served from any URL carries the photo's location, its author or its camera."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from bot.app import Bot, create_app
from storage.models import ModerationItem
from tests import media_samples as samples
from tests.adapters.test_webchat import Browser
from tests.web.helpers import Dashboard


def _client(bot: Bot) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(bot, migrate=False))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080")


@pytest.fixture
async def browser(bot: Bot) -> AsyncIterator[Browser]:
    async with _client(bot) as client:
        yield Browser(client)


async def to_the_story(browser: Browser) -> None:
    await browser.open()
    await browser.tap("Share your story")
    await browser.tap("My own migration story")
    await browser.tap("I agree")
    await browser.tap("Yes, I am 18")
    await browser.tap("Anonymous")
    await browser.say("/skip")
    await browser.say("/skip")


async def upload(
    browser: Browser, data: bytes, name: str = "photo.jpg", client_id: str = "up-1"
) -> httpx.Response:
    return browser._merge(
        await browser.client.post(
            "/api/chat/upload",
            files={"file": (name, data, "image/jpeg")},
            data={"client_id": client_id},
            headers={"X-CSRF-Token": browser.csrf},
        )
    )


async def test_nothing_served_carries_the_photos_location(browser: Browser, bot: Bot) -> None:
    await to_the_story(browser)
    original = samples.jpeg_with_gps(orientation=6)
    answer = await upload(browser, original)
    assert answer.status_code == 200, answer.text
    texts = " ".join(str(m["text"]) for m in answer.json()["messages"])
    assert "removed the location" in texts
    url = next(m["media"][0]["url"] for m in answer.json()["messages"] if m["media"])
    served = await browser.client.get(url)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert not samples.leaks(served.content) and served.content != original
    photo = Image.open(io.BytesIO(served.content))
    assert dict(photo.getexif()) == {} and photo.size == (32, 64)  # turned upright
    assert (await upload(browser, samples.webp_with_exif(), client_id="up-2")).status_code == 200
    assert "removed the location" not in browser.last_bot_text  # told once

    # Another visitor cannot open it.
    async with _client(bot) as other:
        stranger = Browser(other)
        await stranger.open()
        assert (await other.get(url)).status_code == 404

    # Submitted: the moderators' dashboard serves the same cleaned file.
    await browser.tap("I'm done")
    await browser.tap("Skip")
    await browser.tap("Submit my story")
    async with bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalar_one()
    async with _client(bot) as moderator_client:
        dashboard = Dashboard(moderator_client)
        await dashboard.sign_in(bot, "ana")
        page = await dashboard.item(item.id or 0)
        links = re.findall(r'href="(/moderation/items/\d+/media/\d+)"', page.text)
        assert len(links) == 2
        for link in links:
            file = await moderator_client.get(link)
            assert file.status_code == 200 and not samples.leaks(file.content)
            assert dict(Image.open(io.BytesIO(file.content)).getexif()) == {}
    # Nothing anywhere in the store carries it either.
    for path in bot.deps.media.root.iterdir():
        assert not samples.leaks(path.read_bytes())


async def test_refused_uploads_get_a_kind_answer_and_nothing_is_kept(
    browser: Browser, bot: Bot
) -> None:
    await to_the_story(browser)
    bomb = await upload(browser, samples.png_bomb(), "bomb.png")
    assert bomb.status_code == 422 and "too large for me to open safely" in bomb.json()["error"]
    broken = await upload(browser, samples.truncated_jpeg(), client_id="up-2")
    assert broken.status_code == 422 and "damaged" in broken.json()["error"]
    pdf = await upload(browser, b"%PDF-1.4\n" + bytes(100), "letter.pdf", client_id="up-3")
    assert pdf.status_code == 415 and "PDF" in pdf.json()["error"]
    assert not bot.deps.media.root.exists() or list(bot.deps.media.root.iterdir()) == []
    assert (await upload(browser, samples.png_with_text(), client_id="up-4")).status_code == 200


async def test_a_retried_upload_keeps_one_file(browser: Browser, bot: Bot) -> None:
    await to_the_story(browser)
    for _ in range(2):
        assert (await upload(browser, samples.jpeg_with_gps(), client_id="same")).status_code == 200
    assert len(list(bot.deps.media.root.iterdir())) == 1


async def test_media_names_that_are_not_the_stores_lead_nowhere(browser: Browser) -> None:
    await browser.open()
    for name in ("..%2Fsecrets.json", "%2E%2E", "x.jpg", "a" * 24 + "-" + "0" * 32 + ".jpg"):
        assert (await browser.client.get(f"/media/{name}")).status_code == 404
