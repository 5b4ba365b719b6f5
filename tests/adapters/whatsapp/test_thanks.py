"""A reader on WhatsApp thanks a storyteller, end to end over the fake Graph API: from the
story's card, their own words typed (or a ready phrase), a first name typed, sent: the
message waits in the moderators' queue. In English and Arabic."""

from __future__ import annotations

from bot.review.thanks import ThanksDesk
from tests.adapters.whatsapp.conftest import Phone
from tests.adapters.whatsapp.test_reading import WA_ID, published
from tests.fakes.whatsapp_api import interactive_of


async def test_a_reader_types_a_thank_you_that_reaches_the_moderators(phone: Phone) -> None:
    story_id = await published(phone.bot, "amina")
    reader = phone.person(WA_ID)
    await reader.send("/stories")
    await reader.tap("Say thank you")
    assert "Choose a message, or write your own" in reader.text
    await reader.tap("Write my own")
    assert "up to 300 characters" in reader.text
    await reader.send("Your garden in Osaka made me smile. Welcome!")
    assert "sign with your first name" in reader.text
    await reader.send("Kenji")
    assert "“Your garden in Osaka made me smile. Welcome!”\n— Kenji" in reader.text
    [confirm] = [c for c in reader.last if interactive_of(c)]
    assert interactive_of(confirm)["type"] == "button"  # "💛 Send" and Cancel: buttons
    await reader.tap("Send")
    assert "Your message is with a moderator now" in reader.text
    [waiting] = await ThanksDesk(phone.bot.deps).pending()
    assert waiting.story_id == story_id
    assert waiting.text == "Your garden in Osaka made me smile. Welcome!"
    assert waiting.signed == "Kenji"
    assert all(c.ok for c in phone.api.calls("messages", ok_only=False))


async def test_a_reader_thanks_in_arabic_with_a_ready_phrase(phone: Phone) -> None:
    story_id = await published(phone.bot, "amina")
    reader = phone.person(WA_ID)
    await reader.send("hello")
    await reader.tap("Language")
    await reader.tap("العربية")
    await reader.send("/stories")
    await reader.tap("إرسال كلمة شكر")  # "💛 Say thank you"
    await reader.tap("شجاعتك تُلهمني")  # "Your courage inspires me."
    await reader.tap("دون ذكر اسمي")  # "🙈 Stay anonymous"
    assert "“\u2068شجاعتك تُلهمني.\u2069”\n— أحد القرّاء" in reader.text  # isolated; "a reader"
    await reader.tap("إرسال")  # "💛 Send"
    assert "رسالتك الآن لدى أحد المشرفين" in reader.text
    [waiting] = await ThanksDesk(phone.bot.deps).pending()
    assert (waiting.story_id, waiting.signed) == (story_id, None)
    assert all(c.ok for c in phone.api.calls("messages", ok_only=False))
