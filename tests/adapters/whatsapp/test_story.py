"""A story told on WhatsApp, with a photo and a voice note: the flow's buttons and lists, a
location refused kindly, the files downloaded and cleaned into the store, the story in
the queue; the moderators' dashboard never shows the storyteller's number."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import Database
from storage.models import ModerationItem, Story, StoryMedia, StoryState
from tests.adapters.whatsapp.conftest import Person, Phone
from tests.fakes.whatsapp_api import interactive_of, options_of, text_of
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


ARABIC_STORY = "غادرت حلب عام 2015 مع أمي وأخويّ.\n\nاليوم أدرس التمريض في أوساكا."


async def tap_id(person: Person, prefix: str) -> None:
    """Tap the latest button or row whose id is ``prefix`` (the labels are Arabic)."""
    for call in reversed(person.seen):
        for title, choice_id in options_of(call):
            if choice_id.split("@")[0] == prefix:  # "<id>@<when it was shown>"
                hooks = person.phone.hooks
                kind = interactive_of(call)["type"]
                reply = hooks.button_reply if kind == "button" else hooks.list_reply
                await person.deliver(reply(person.wa_id, choice_id, title, name=person.name))
                return
    raise AssertionError(f"no option {prefix!r} in {[options_of(c) for c in person.seen]}")


def arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


async def test_a_story_in_arabic_with_a_photo_and_a_voice_note(phone: Phone, db: Database) -> None:
    layla = phone.person(WA_ID, name="Layla")
    await layla.send("مرحبا")
    await layla.tap("Language")
    await layla.tap("العربية")
    chosen = len(layla.seen)  # from here on, everything in Arabic
    await layla.send("/story")
    await tap_id(layla, "c:migrant")
    assert arabic(layla.text) and "Do you agree" not in layla.text  # the consent, in Arabic
    await tap_id(layla, "c:yes")  # I agree
    await tap_id(layla, "c:yes")  # 18 or older
    await tap_id(layla, "c:first_name")
    await layla.send("ليلى")
    await layla.send("سوريا")
    await layla.send("اليابان")
    await layla.send(ARABIC_STORY.split("\n\n")[0])
    phone.api.add_media("7101", jpeg_with_gps())
    await layla.deliver(phone.hooks.media(WA_ID, "image", "7101", "image/jpeg"))
    phone.api.add_media("7102", ogg_opus_with_tags(), "audio/ogg")
    await layla.deliver(
        phone.hooks.media(WA_ID, "audio", "7102", "audio/ogg; codecs=opus", voice=True)
    )
    await layla.send(ARABIC_STORY.split("\n\n")[1])
    await tap_id(layla, "c:done")
    await layla.send("/skip")
    assert "غادرت حلب" in layla.text  # the preview quotes the story
    await tap_id(layla, "c:submit")
    # Every message of the flow was one WhatsApp accepts (the fake refuses what Graph
    # would: too many buttons, titles or bodies too long), and every one in Arabic.
    calls = phone.api.calls("messages", ok_only=False)
    assert calls and all(c.ok for c in calls)
    said = [text_of(c) for c in layla.seen[chosen:] if text_of(c)]
    english = [text for text in said if not arabic(text)]
    assert english == []

    async with db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
        media = (await session.execute(select(StoryMedia))).scalars().all()
    assert (story.credit_name, story.origin_country, story.current_country) == ("ليلى", "SY", "JP")
    assert (story.locale, story.state) == ("ar", StoryState.PENDING_REVIEW)
    assert sorted(m.kind for m in media) == ["photo", "voice"]
