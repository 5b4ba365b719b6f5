"""A story told on WhatsApp, with a photo and a voice note: the flow's buttons and lists, a
location refused kindly, the files downloaded and cleaned into the store, the story in
the queue; the moderators' dashboard never shows the storyteller's number."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import Database
from storage.models import ModerationItem, Story, StoryMedia, StoryState
from tests.adapters.whatsapp.conftest import Phone
from tests.media_samples import jpeg_with_gps, leaks, ogg_opus_with_tags
from tests.web.helpers import Dashboard

WA_ID = "15550123456"
STORY = "I left Aleppo in 2015 with my mother and two brothers.\n\nToday I study nursing in Osaka."


async def test_a_story_with_a_photo_and_a_voice_note(phone: Phone, db: Database) -> None:
    amina = phone.person(WA_ID)
    await amina.send("/start story")
    await amina.tap("My own story")  # its short form, the whole label below it
    assert "Do you agree" in amina.text
    await amina.tap("I agree")
    await amina.tap("Yes, I am 18")
    await amina.tap("first name")
    await amina.send("Amina")
    assert "Which country do you come from" in amina.text
    await amina.send("Syria")
    await amina.send("japan")
    assert "tell your story" in amina.text
    await amina.send(STORY.split("\n\n")[0])
    assert "characters so far" in amina.text
    await amina.deliver(phone.hooks.location(WA_ID))
    assert "can't use this kind of message" in amina.text
    await amina.deliver(phone.hooks.contacts(WA_ID))
    assert "can't use this kind of message" in amina.text
    phone.api.add_media("7001", jpeg_with_gps())
    await amina.deliver(phone.hooks.media(WA_ID, "image", "7001", "image/jpeg"))
    assert "removed the location" in amina.text
    phone.api.add_media("7002", ogg_opus_with_tags(), "audio/ogg")
    voice = phone.hooks.media(WA_ID, "audio", "7002", "audio/ogg; codecs=opus", voice=True)
    await amina.deliver(voice)
    await amina.send(STORY.split("\n\n")[1])
    await amina.tap("I'm done")
    assert "one line" in amina.text
    await amina.send("Thank you for welcoming us.")
    assert "Here is your story" in amina.text
    await amina.tap("Submit my story")
    assert "Thank you for trusting us" in amina.text
    assert all(c.ok for c in phone.api.calls("messages", ok_only=False))

    async with db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
        media = (await session.execute(select(StoryMedia))).scalars().all()
        item = (await session.execute(select(ModerationItem))).scalar_one()
    assert (story.credit_name, story.origin_country, story.current_country) == ("Amina", "SY", "JP")
    assert story.state == StoryState.PENDING_REVIEW
    assert sorted((m.platform, m.kind) for m in media) == [
        ("whatsapp", "photo"),
        ("whatsapp", "voice"),
    ]
    for row in media:
        assert row.ref.startswith("local:")
        kept = await phone.bot.deps.media.read(row.ref.removeprefix("local:"))
        assert kept is not None and not leaks(kept)

    moderator = Dashboard(phone.http)
    await moderator.sign_in(phone.bot, "ana")
    queue = await phone.http.get("/moderation")
    page = await moderator.item(item.id or 0)
    assert page.status_code == 200 and "I left Aleppo" in page.text
    for html in (queue.text, page.text):
        assert WA_ID not in html and "555 0123" not in html and "555-0123" not in html
