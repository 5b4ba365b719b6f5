"""The dashboard's thanks page: readers' messages, flags marked, one click to pass."""

from __future__ import annotations

import re

import httpx

from bot.adapters.memory import MemoryChat, MemorySender
from bot.app import Bot
from storage.models import ThanksState
from tests.handlers.test_thanks import READER_NAME, only_thanks, published, reader
from tests.web.helpers import Dashboard, deliver

PAGE = "/moderation/thanks"


async def flagged_thanks(bot: Bot) -> int:
    """A reader's own words with a phone number, signed; the thank-you's id."""
    story_id = await published(bot)
    chat = reader(bot)
    await chat.press(f"thank:{story_id}")
    await chat.send("Thank you <b>so</b> much! Call me on +44 7700 900123.")
    await chat.send("Kenji")
    await chat.tap("Send")
    return (await only_thanks(bot)).id or 0


async def test_a_moderator_passes_a_thank_you_in_one_click(
    bot: Bot, client: httpx.AsyncClient, memory_sender: MemorySender
) -> None:
    thanks_id = await flagged_thanks(bot)
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    queue = await client.get("/moderation")
    assert f'href="{PAGE}"' in queue.text  # reached from every dashboard page

    page = await client.get(PAGE)
    assert page.status_code == 200
    assert f'id="thanks-{thanks_id}"' in page.text
    assert "Thank you &lt;b&gt;so&lt;/b&gt; much!" in page.text  # escaped, never markup
    assert '<mark class="flag flag-phone" title="phone">+44 7700 900123</mark>' in page.text
    assert "Kenji" in page.text
    # Nothing of the reader beyond the name they chose.
    assert READER_NAME not in page.text and "kenji" not in page.text

    before = len(memory_sender.sent["amina"])
    passed = await client.post(f"{PAGE}/{thanks_id}", data={"csrf": browser.csrf, "action": "pass"})
    assert passed.status_code == 200
    assert "passed and on its way to the storyteller" in passed.text
    assert f'id="thanks-{thanks_id}"' not in passed.text
    await deliver(bot)
    [message] = memory_sender.sent["amina"][before:]
    assert "+44 7700 900123" in message.text and "— Kenji" in message.text
    assert (await only_thanks(bot)).state == ThanksState.DELIVERED

    again = await client.post(
        f"{PAGE}/{thanks_id}", data={"csrf": browser.csrf, "action": "reject"}
    )
    assert again.status_code == 409
    assert "already passed by ana" in again.text


async def test_the_thanks_page_needs_a_signed_in_moderator_and_csrf(
    bot: Bot, client: httpx.AsyncClient, new_client
) -> None:  # type: ignore[no-untyped-def]
    thanks_id = await flagged_thanks(bot)
    anonymous = await client.get(PAGE)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/moderation/login"
    unsigned = await client.post(f"{PAGE}/{thanks_id}", data={"action": "pass"})
    assert unsigned.status_code == 401

    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    forged = await client.post(f"{PAGE}/{thanks_id}", data={"csrf": "0" * 64, "action": "pass"})
    assert forged.status_code == 403
    cross_site = await client.post(
        f"{PAGE}/{thanks_id}",
        data={"csrf": browser.csrf, "action": "pass"},
        headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
    )
    assert cross_site.status_code == 403
    # Another moderator's token is no token for this session.
    async with new_client() as other:
        ben = Dashboard(other)
        await ben.sign_in(bot, "ben")
        assert ben.csrf != browser.csrf
    stolen = await client.post(f"{PAGE}/{thanks_id}", data={"csrf": ben.csrf, "action": "pass"})
    assert stolen.status_code == 403
    bad = await client.post(f"{PAGE}/{thanks_id}", data={"csrf": browser.csrf, "action": "send"})
    assert bad.status_code == 400
    missing = await client.post(f"{PAGE}/99999", data={"csrf": browser.csrf, "action": "pass"})
    assert missing.status_code == 409 and "no longer exists" in missing.text
    assert (await only_thanks(bot)).state == ThanksState.PENDING

    rejected = await client.post(
        f"{PAGE}/{thanks_id}", data={"csrf": browser.csrf, "action": "reject"}
    )
    assert rejected.status_code == 200 and "will not see it" in rejected.text
    assert (await only_thanks(bot)).state == ThanksState.REJECTED


async def test_a_moderator_cannot_pass_their_own_thank_you(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    story_id = await published(bot)
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")  # her chat account: memory:mod-ana
    chat = MemoryChat(bot.core, user_id="mod-ana")
    await chat.press(f"thank:{story_id}")
    await chat.tap("Your courage inspires me")
    await chat.tap("Stay anonymous")
    await chat.tap("Send")
    thanks_id = (await only_thanks(bot)).id
    page = await client.get(PAGE)
    assert re.search(rf'id="thanks-{thanks_id}"', page.text)
    own = await client.post(f"{PAGE}/{thanks_id}", data={"csrf": browser.csrf, "action": "pass"})
    assert own.status_code == 409 and "your own message" in own.text
    assert (await only_thanks(bot)).state == ThanksState.PENDING
