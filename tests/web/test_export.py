"""The one-time download link of a person's data: once, for a day, theirs alone, hashed."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import timedelta

import httpx
from sqlalchemy import select

from bot.adapters.memory import MemoryChat
from bot.app import Bot
from storage.export_links import EXPORT_TTL, issue_export_link, live_link, spend_export_link
from storage.models import ExportLink, Participant, utcnow
from tests.handlers.test_story_flow import tell_story


async def ask_for_a_copy(chat: MemoryChat) -> str:
    """/privacy → "Send me a copy of my data": the download link of the reply."""
    await chat.send("/privacy")
    await chat.tap("Send me a copy of my data")
    links = [c.url for m in chat.last for c in m.choices if c.url]
    assert len(links) == 1, chat.text
    return httpx.URL(links[0]).path


def unzip(response: httpx.Response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["cache-control"] == "no-store"
    return zipfile.ZipFile(io.BytesIO(response.content))


async def test_the_link_opens_a_page_and_downloads_once(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    chat = MemoryChat(bot.core, user_id="amina")
    await tell_story(chat)
    await chat.tap("Submit")
    path = await ask_for_a_copy(chat)
    assert "1 story — Waiting for review: 1" in chat.text

    for _preview in range(2):  # link previews and reloads fetch the page: it stays usable
        page = await client.get(path)
        assert page.status_code == 200 and 'id="download"' in page.text
    archive = unzip(await client.post(path))
    data = json.loads(archive.read("data.json"))
    assert data["stories"][0]["credit"]["name"] == "Amina"

    again = await client.post(path)
    assert again.status_code == 410 and "expired or was already used" in again.text
    assert (await client.get(path)).status_code == 410


async def test_an_expired_link_is_gone(bot: Bot, client: httpx.AsyncClient) -> None:
    chat = MemoryChat(bot.core, user_id="amina")
    await chat.send("/start")
    async with bot.deps.db.transaction() as session:
        person = (await session.execute(select(Participant))).scalar_one()
        assert person.id is not None
        yesterday = utcnow() - EXPORT_TTL - timedelta(minutes=1)
        link, expires_at = await issue_export_link(
            session, bot.deps, person.id, "en", now=yesterday
        )
    assert expires_at < utcnow()
    path = httpx.URL(link).path
    token = path.rsplit("/", 1)[1]
    assert await live_link(bot.deps.db, token, now=yesterday) is not None  # it was valid
    assert (await client.get(path)).status_code == 410
    assert (await client.post(path)).status_code == 410
    assert await spend_export_link(bot.deps.db, token, now=yesterday) is not None  # was


async def test_each_link_gives_only_its_own_persons_data(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    amina = MemoryChat(bot.core, user_id="amina")
    await tell_story(amina)
    await amina.tap("Submit")
    kenji = MemoryChat(bot.core, user_id="kenji")
    await kenji.send("/pledge")
    await kenji.tap("I take the pledge")
    await kenji.send("Kenji Sato")
    amina_path, kenji_path = await ask_for_a_copy(amina), await ask_for_a_copy(kenji)

    kenji_zip = unzip(await client.post(kenji_path))
    kenji_data = kenji_zip.read("data.json").decode()
    assert "Kenji Sato" in kenji_data and "Amina" not in kenji_data
    assert json.loads(kenji_data)["stories"] == []
    amina_data = unzip(await client.post(amina_path)).read("data.json").decode()
    assert "Amina" in amina_data and "Kenji" not in amina_data

    forged = amina_path[:-4] + ("AAAA" if not amina_path.endswith("AAAA") else "BBBB")
    for path in (forged, "/export/" + "x" * 43, "/export/" + "x" * 500):
        assert (await client.post(path)).status_code == 404
        assert (await client.get(path)).status_code == 404


async def test_tokens_are_stored_only_hashed_and_a_new_link_replaces_the_old(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    chat = MemoryChat(bot.core, user_id="amina")
    first = await ask_for_a_copy(chat)
    second = await ask_for_a_copy(chat)
    async with bot.deps.db.transaction() as session:
        rows = (await session.execute(select(ExportLink))).scalars().all()
    token = second.rsplit("/", 1)[1]
    assert [row.token_hash for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert all(token not in str(value) for row in rows for value in row.model_dump().values())
    assert (await client.post(first)).status_code == 404
    assert (await client.post(second)).status_code == 200


async def test_erasing_ones_data_ends_the_link(bot: Bot, client: httpx.AsyncClient) -> None:
    chat = MemoryChat(bot.core, user_id="amina")
    path = await ask_for_a_copy(chat)
    await chat.send("/privacy")
    await chat.tap("Erase all my data")
    await chat.tap("Yes, erase everything")
    assert (await client.post(path)).status_code == 404


async def test_the_summary_and_the_page_are_in_the_persons_language(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    chat = MemoryChat(bot.core, user_id="amina")
    await tell_story(chat)
    await chat.tap("Submit")
    async with bot.deps.db.transaction() as session:
        person = (await session.execute(select(Participant))).scalar_one()
        person.locale = "fr"
    await chat.press("privacy:export")
    bullets = [line for line in chat.text.splitlines() if line.startswith("• ")]
    assert len(bullets) == 3  # stories, pledges, files (no web chat here)
    assert "En attente de relecture" in bullets[0]  # the story's state, in French
    path = httpx.URL(next(c.url for m in chat.last for c in m.choices if c.url)).path
    page = await client.get(path)
    assert '<html lang="fr"' in page.text
    archive = unzip(await client.post(path))
    assert archive.read("README.txt").decode().strip()
