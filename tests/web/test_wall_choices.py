"""Moderators choose what the wall shows: each file published or not, its alt text, and
the story's title, on the dashboard's item page (CSRF, version and role as every form),
each choice audited by ids and seen by the wall at once."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.app import Bot
from moderation.states import Action
from storage.models import ModerationEvent, StoryMedia, StoryState
from tests import media_samples as samples
from tests.web.helpers import Dashboard, deliver, item_row, publish, tell
from tests.web.test_wall_media import attach, path_of


async def media_row(bot: Bot, media_id: int) -> StoryMedia:
    async with bot.deps.db.transaction() as session:
        row = await session.get(StoryMedia, media_id)
    assert row is not None
    return row


async def present_events(bot: Bot, item_id: int) -> list[ModerationEvent]:
    async with bot.deps.db.transaction() as session:
        found = await session.execute(
            select(ModerationEvent)
            .where(
                ModerationEvent.item_id == item_id,  # type: ignore[arg-type]
                ModerationEvent.action == Action.PRESENT.value,  # type: ignore[arg-type]
            )
            .order_by(ModerationEvent.id)  # type: ignore[arg-type]
        )
    return list(found.scalars())


async def test_a_moderator_publishes_a_photo_with_its_alt_text_then_hides_it(
    bot: Bot, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    item_id = await tell(bot, "amina")
    story_id = (await item_row(bot, item_id)).story_id
    photo = await attach(bot, story_id, samples.jpeg_with_gps(), publish=False)
    voice = await attach(bot, story_id, samples.ogg_opus_with_tags(), publish=False, position=1)
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    page = (await browser.item(item_id)).text
    assert page.count('value="media"') == 2 and page.count("Not published") == 2
    assert f'name="media" value="{photo.id}"' in page

    caplog.set_level(logging.INFO)
    alt = "A garden in Osaka, with tomatoes"
    chosen = await browser.act(
        item_id, "media", media=str(photo.id), publish="1", alt_text=f"  {alt}\r\n "
    )
    assert chosen.status_code == 200, chosen.text
    assert f"The files of story #{story_id} are saved as chosen." in chosen.text
    assert "On the wall" in chosen.text and f'value="{alt}"' in chosen.text
    row = await media_row(bot, photo.id or 0)
    assert row.publish and row.alt_text == alt
    assert not (await media_row(bot, voice.id or 0)).publish
    # Audited by ids and codes: never the alt text.
    (event,) = await present_events(bot, item_id)
    assert event.reason_code == "publish_file,alt_text" and event.note == f"file {photo.id}"
    assert event.from_state == event.to_state == StoryState.PENDING_REVIEW
    assert event.actor == "ana"
    logged = [r for r in caplog.records if r.getMessage() == "presentation chosen"]
    assert logged and all(alt not in str(r.__dict__) for r in caplog.records)

    # Nothing is public before the story is.
    assert (await client.get(path_of(row, "thumb"))).status_code == 404
    assert (await browser.act(item_id, "approve")).status_code == 200
    await deliver(bot)
    wall = (await client.get("/stories")).text
    assert f'<img src="{path_of(row, "thumb")}" alt="{alt}"' in wall
    assert path_of(voice) not in wall
    assert (await client.get(path_of(row, "thumb"))).status_code == 200

    # Hidden again once published: gone from the wall and never served again.
    hidden = await browser.act(item_id, "media", media=str(photo.id), alt_text=alt)
    assert hidden.status_code == 200 and "Not published" in hidden.text
    assert (await item_row(bot, item_id)).state == StoryState.PUBLISHED
    assert path_of(row, "thumb") not in (await client.get("/stories")).text
    assert (await client.get(path_of(row, "thumb"))).status_code == 404
    assert [e.reason_code for e in await present_events(bot, item_id)][-1] == "hide_file"

    # The same choice again changes nothing and writes nothing.
    version = (await item_row(bot, item_id)).version
    again = await browser.act(item_id, "media", media=str(photo.id), alt_text=alt)
    assert again.status_code == 200
    assert (await item_row(bot, item_id)).version == version
    assert len(await present_events(bot, item_id)) == 2


async def test_a_moderator_sets_the_title_and_clears_it(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "amina")
    await publish(bot, item_id)
    story_id = (await item_row(bot, item_id)).story_id
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    assert 'value="title"' in (await browser.item(item_id)).text
    titled = await browser.act(item_id, "title", text="From Aleppo\nto Osaka")
    assert titled.status_code == 200
    assert f"The title of story #{story_id} is saved." in titled.text
    assert 'value="From Aleppo to Osaka"' in titled.text
    assert ">From Aleppo to Osaka</a></h2>" in (await client.get("/stories")).text
    cleared = await browser.act(item_id, "title", text="")
    assert cleared.status_code == 200
    wall = (await client.get("/stories")).text
    assert "From Aleppo to Osaka" not in wall
    assert ">I left Aleppo in 2015 with my mother and two brothers.</a></h2>" in wall
    assert [e.reason_code for e in await present_events(bot, item_id)] == ["title", "title"]


async def test_choices_are_guarded_as_every_decision(
    bot: Bot, client: httpx.AsyncClient, new_client: Any
) -> None:
    item_id = await tell(bot, "amina")
    story_id = (await item_row(bot, item_id)).story_id
    photo = await attach(bot, story_id, samples.jpeg_with_gps(), publish=False)
    other = await tell(bot, "omar")
    others_photo = await attach(
        bot, (await item_row(bot, other)).story_id, samples.jpeg_with_gps(), publish=False
    )
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    version = (await item_row(bot, item_id)).version

    # A stale form: the item changed since it was shown.
    await browser.act(item_id, "claim")
    stale = await browser.act(item_id, "media", version=version, media=str(photo.id), publish="1")
    assert stale.status_code == 409
    # Another story's file, no file, or a forged CSRF token.
    foreign = await browser.act(item_id, "media", media=str(others_photo.id), publish="1")
    assert foreign.status_code == 409 and "no longer exists" in foreign.text
    for media in ("", "abc", "-1", "0"):
        answer = await browser.act(item_id, "media", media=media, publish="1")
        assert answer.status_code in (400, 409), media
    forged = await client.post(
        f"/moderation/items/{item_id}",
        data={"csrf": "x", "action": "media", "version": "9", "media": str(photo.id)},
    )
    assert forged.status_code == 403
    async with new_client() as second, new_client() as third:
        # Another moderator while ana holds the claim.
        ben = Dashboard(second)
        await ben.sign_in(bot, "ben")
        claimed = await ben.act(item_id, "media", media=str(photo.id), publish="1")
        assert claimed.status_code == 409 and "is being reviewed by ana" in claimed.text
        assert not (await media_row(bot, photo.id or 0)).publish
        assert not (await media_row(bot, others_photo.id or 0)).publish

        # The safety queue is the safety team's: a plain moderator has no such form.
        assert (await browser.act(item_id, "escalate")).status_code == 200
        assert (await item_row(bot, item_id)).state == StoryState.SAFETY_REVIEW
        assert 'value="media"' not in (await ben.item(item_id)).text
        version = (await item_row(bot, item_id)).version
        refused = await ben.act(item_id, "media", version=version, media=str(photo.id), publish="1")
        assert refused.status_code == 403 and "with the safety team" in refused.text
        assert not (await media_row(bot, photo.id or 0)).publish
        lead = Dashboard(third)
        await lead.sign_in(bot, "lea", role="lead")
        assert 'value="media"' in (await lead.item(item_id)).text
        chosen = await lead.act(item_id, "media", media=str(photo.id), publish="1")
        assert chosen.status_code == 200
        assert (await media_row(bot, photo.id or 0)).publish


async def test_alt_text_with_markup_is_escaped_everywhere(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    item_id = await tell(bot, "amina")
    story_id = (await item_row(bot, item_id)).story_id
    photo = await attach(bot, story_id, samples.jpeg_with_gps(), publish=False)
    browser = Dashboard(client)
    await browser.sign_in(bot, "ana")
    alt = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    await browser.act(item_id, "media", media=str(photo.id), publish="1", alt_text=alt)
    await browser.act(item_id, "title", text=alt)
    await browser.act(item_id, "approve")
    await deliver(bot)
    escaped = "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
    pages = [
        (await browser.item(item_id)).text,
        (await client.get("/stories")).text,
        (await client.get(f"/stories/{story_id}")).text,
    ]
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
        assert escaped in html
    assert f'<meta property="og:image:alt" content="{escaped}">' in pages[2]
