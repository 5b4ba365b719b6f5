"""Shared steps of the web tests: tell a story in chat, sign in, act, publish."""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import httpx
from sqlalchemy import select

from bot.adapters.memory import MemoryChat
from bot.app import Bot
from bot.cli import add_moderator
from bot.review.login_links import create_login_link
from bot.review.service import ActionRequest, ReviewAction
from moderation.actors import Moderator
from moderation.states import Role
from storage.models import ModerationItem

STORY = "I left Aleppo in 2015 with my mother and two brothers.\n\nToday I study nursing in Osaka."


async def tell(
    bot: Bot,
    user: str,
    *,
    text: str = STORY,
    credit: str = "first name",
    name: str = "Amina Haddad",
    message: str | None = "Thank you for welcoming us.",
    display_name: str | None = None,
) -> int:
    """Submit a story in chat terms; returns its moderation item id."""
    chat = MemoryChat(bot.core, user_id=user, display_name=display_name)
    await chat.send("/start")
    await chat.tap("Share your story")
    await chat.tap("My own migration story")
    await chat.tap("I agree")
    await chat.tap("Yes, I am 18")
    await chat.tap(credit)
    if credit != "Anonymous":
        await chat.send(name)
    await chat.send("Syria")
    await chat.send("Japan")
    await chat.send(text)
    await chat.tap("I'm done")
    await chat.send(message if message is not None else "/skip")
    await chat.tap("Submit my story")
    assert "Thank you for trusting us" in chat.text, chat.text
    async with bot.deps.db.transaction() as session:
        item = (
            (
                await session.execute(select(ModerationItem).order_by(ModerationItem.id.desc()))  # type: ignore[union-attr]
            )
            .scalars()
            .first()
        )
    assert item is not None and item.id is not None
    return item.id


async def item_row(bot: Bot, item_id: int) -> ModerationItem:
    async with bot.deps.db.transaction() as session:
        item = await session.get(ModerationItem, item_id)
    assert item is not None
    return item


async def deliver(bot: Bot) -> None:
    """Run the outbox until nothing is due (publication, notices, cards)."""
    while await bot.dispatcher.run_once():
        pass


async def publish(bot: Bot, item_id: int) -> None:
    """Approve through the facade (no dashboard) and run the publication."""
    item = await item_row(bot, item_id)
    outcome = await bot.review.act(
        Moderator(id="publisher", role=Role.LEAD),
        ActionRequest(ReviewAction.APPROVE, item_id, item.version),
    )
    assert outcome.ok, outcome.message
    await deliver(bot)


class Dashboard:
    """A moderator's browser on the dashboard, through httpx."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""

    async def sign_in(self, bot: Bot, moderator_id: str, role: str = "moderator") -> None:
        await add_moderator(bot.deps.db, moderator_id, role, [f"memory:mod-{moderator_id}"])
        path = urlsplit(await create_login_link(bot.deps, moderator_id)).path
        page = await self.client.get(path)
        assert page.status_code == 200, page.text
        signed_in = await self.client.post(path)
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/moderation"
        queue = await self.client.get("/moderation")
        assert queue.status_code == 200
        self.csrf = field(queue.text, "csrf")

    async def item(self, item_id: int) -> httpx.Response:
        return await self.client.get(f"/moderation/items/{item_id}")

    async def act(
        self, item_id: int, action: str, *, version: int | None = None, **fields: str
    ) -> httpx.Response:
        """Post one form of the item page, with the version the page was rendered with."""
        if version is None:
            version = int(field((await self.item(item_id)).text, "version"))
        data = {"csrf": self.csrf, "action": action, "version": str(version), **fields}
        return await self.client.post(f"/moderation/items/{item_id}", data=data)


def field(html: str, name: str) -> str:
    """The value of the first hidden input called ``name``."""
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field in {html[:500]}"
    return match.group(1)


def parse_rss(body: bytes | str) -> ET.Element:
    """Our own feed, parsed (well-formed XML or an exception)."""
    return ET.fromstring(body)  # noqa: S314 - the app's own output, in a test
