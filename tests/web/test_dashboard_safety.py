"""The dashboard on a need-to-know basis: a story in safety review (its text, files,
flags, history) is read by safety moderators and leads only; a plain moderator learns
that N stories await the safety team, nothing more (issue [6])."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from bot.app import Bot
from bot.web.dashboard import TABS
from storage.models import ModerationItem, StoryState
from tests.adapters.test_webchat import PNG, Browser
from tests.web.helpers import Dashboard, item_row, tell

CRISIS = "They took my passport and I work without pay in a house I cannot leave."
PLAIN = "We came to Japan by ship and I opened a small bakery."
# What a plain moderator must never receive about the crisis story.
SECRETS = ("passport", "without pay", "cannot leave", "Amina")


async def crisis_with_photo(client: httpx.AsyncClient) -> None:
    """A named storyteller tells a crisis story with a photo, in the web chat."""
    browser = Browser(client)
    await browser.open()
    await browser.tap("Share your story")
    await browser.tap("My own migration story")
    await browser.tap("I agree")
    await browser.tap("Yes, I am 18")
    await browser.tap("My first name only")
    await browser.say("Amina")
    await browser.say("Syria")
    await browser.say("Japan")
    await browser.say(CRISIS)
    upload = await client.post(
        "/api/chat/upload",
        files={"file": ("room.png", PNG, "image/png")},
        data={"client_id": "up-1"},
        headers={"X-CSRF-Token": browser.csrf},
    )
    assert upload.status_code == 200, upload.text
    browser._merge(upload)
    await browser.tap("I'm done")
    await browser.tap("Skip")
    await browser.tap("Submit my story")
    assert "Thank you for trusting us" in browser.all_text


async def stories(bot: Bot) -> tuple[int, int | None]:
    """The crisis story's item, and a plain one's if there is one."""
    async with bot.deps.db.transaction() as session:
        items = (await session.execute(select(ModerationItem))).scalars().all()
    crisis = next(i for i in items if i.state == StoryState.SAFETY_REVIEW)
    plain = next((i.id for i in items if i.state == StoryState.PENDING_REVIEW), None)
    assert crisis.id is not None
    return crisis.id, plain


async def everything_a_moderator_can_ask(
    browser: Dashboard, client: httpx.AsyncClient, item: ModerationItem
) -> list[httpx.Response]:
    assert item.id is not None
    item_id, story_id = item.id, item.story_id
    pages = [await client.get("/moderation")]
    pages += [await client.get(f"/moderation?state={tab.value}") for tab in TABS]
    for query in ("passport", f"%23{story_id}", str(item_id), "Amina", "a"):
        pages.append(await client.get(f"/moderation?q={query}"))
        pages.append(await client.get(f"/moderation?q={query}&state=SAFETY_REVIEW"))
    pages.append(await browser.item(item_id))
    pages.append(await client.get(f"/moderation/items/{item_id}/media/0"))
    for action, fields in (
        ("approve", {}),
        ("claim", {}),
        ("reject", {"reason": "spam"}),
        ("redact", {"text": "x"}),
        ("changes", {"text": "Please change it."}),
    ):
        pages.append(await browser.act(item_id, action, version=item.version, **fields))
    return pages


async def test_a_plain_moderator_never_receives_a_safety_story(
    bot: Bot, client: httpx.AsyncClient, new_client
) -> None:  # type: ignore[no-untyped-def]
    async with new_client() as storyteller:
        await crisis_with_photo(storyteller)
    await tell(bot, "kenji", text=PLAIN, name="Kenji Sato", message=None)
    crisis, plain = await stories(bot)

    ana = Dashboard(client)
    await ana.sign_in(bot, "ana")
    queue = await client.get("/moderation")
    assert "1 story awaits the safety team" in queue.text
    assert f'href="/moderation/items/{plain}"' in queue.text  # her own work is there
    assert "We came to Japan by ship" in queue.text
    pages = await everything_a_moderator_can_ask(ana, client, await item_row(bot, crisis))
    for page in pages:
        assert page.status_code < 500, page.request.url
        body = page.content
        asked = str(page.request.url)  # a search shows its own words back: not a leak
        leaked = [s for s in SECRETS if s.encode() in body and s not in asked]
        assert not leaked, (leaked, asked)
        assert f'href="/moderation/items/{crisis}"'.encode() not in body, page.request.url
        assert PNG[:64] not in body
    item_page = await ana.item(crisis)
    assert item_page.status_code == 403 and "with the safety team" in item_page.text
    assert (await client.get(f"/moderation/items/{crisis}/media/0")).status_code == 404
    assert (await item_row(bot, crisis)).state == StoryState.SAFETY_REVIEW


async def test_safety_moderators_and_leads_read_it_all(
    bot: Bot, client: httpx.AsyncClient, new_client
) -> None:  # type: ignore[no-untyped-def]
    async with new_client() as storyteller:
        await crisis_with_photo(storyteller)
    crisis, _plain = await stories(bot)
    for moderator, role in (("sol", "safety_moderator"), ("lea", "lead")):
        async with new_client() as http:
            browser = Dashboard(http)
            await browser.sign_in(bot, moderator, role=role)
            queue = await http.get("/moderation")  # safety first for the safety team
            assert f'href="/moderation/items/{crisis}"' in queue.text, moderator
            assert "passport" in queue.text and "awaits the safety team" not in queue.text
            found = await http.get("/moderation?q=passport")
            assert f'href="/moderation/items/{crisis}"' in found.text
            page = await browser.item(crisis)
            assert page.status_code == 200 and "passport" in page.text and "Amina" in page.text
            photo = await http.get(f"/moderation/items/{crisis}/media/0")
            assert photo.status_code == 200 and photo.headers["content-type"].startswith("image/")


async def test_an_escalating_moderator_sees_what_happened_not_the_story(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "kenji", text=PLAIN, name="Kenji Sato", message=None)
    ana = Dashboard(client)
    await ana.sign_in(bot, "ana")
    escalated = await ana.act(item_id, "escalate")
    assert escalated.status_code == 200
    assert "sent to the safety team" in escalated.text and "with the safety team" in escalated.text
    assert "bakery" not in escalated.text and "Kenji" not in escalated.text
    queue = await client.get("/moderation?state=PENDING_REVIEW")
    assert f'href="/moderation/items/{item_id}"' not in queue.text
    # The safety team rejects it: it stays theirs (not in a plain moderator's Rejected tab).
    async with bot.deps.db.transaction() as session:
        item = await session.get(ModerationItem, item_id)
        assert item is not None
        item.state = StoryState.REJECTED.value
    rejected = await client.get("/moderation?state=REJECTED")
    assert f'href="/moderation/items/{item_id}"' not in rejected.text
    assert "bakery" not in rejected.text
    assert (await ana.item(item_id)).status_code == 403
