"""Scripts, direction and time in a real browser (Playwright driving Debian's Chromium).

The chat and the wall in Arabic, Urdu and Tigrinya (and Persian, Pashto, Bengali,
Amharic): the page's direction as laid out (where the first and last letters of a line
fall, not only the CSS property), and no letter drawn as a missing-glyph box ("tofu"),
with the fonts the page names. Screenshots are kept in ``.artifacts/screenshots/`` to
look at. Times: a reader in Tokyo and one in New York see the chat's times in their own
time zone, written in the conversation's language.
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bot.app import Bot
from storage.models import ModerationItem, Story
from tests.adapters.test_webchat_browser import say, tell_until_the_preview
from tests.web.helpers import item_row, publish, tell

SCREENSHOTS = Path(__file__).resolve().parents[2] / ".artifacts" / "screenshots"

# A story's opening in each language (written for these tests), and the script's letters.
STORIES = {
    "ar": "غادرت حلب سنة ٢٠١٥ مع أمي وإخوتي. اليوم أدرس التمريض في أوساكا.",
    "fa": "در سال ۲۰۱۵ از کابل رفتم. امروز در اوساکا پرستاری می‌خوانم.",
    "ps": "په ۲۰۱۵ کال کې له کابل څخه ووتم. نن په اوساکا کې نرسنګ لولم.",
    "ur": "میں نے ۲۰۱۵ میں لاہور چھوڑا۔ آج میں اوساکا میں نرسنگ پڑھتی ہوں۔",
    "ti": "ኣብ 2015 ካብ ኣስመራ ወጺአ። ሎሚ ኣብ ኦሳካ ነርስነት እመሃር ኣለኹ።",
    "am": "በ2015 ከአዲስ አበባ ወጣሁ። ዛሬ በኦሳካ ነርስነት እየተማርኩ ነው።",
    "bn": "২০১৫ সালে আমি ঢাকা ছেড়েছিলাম। আজ আমি ওসাকায় নার্সিং পড়ি।",
    "ja": "2015年にアレッポを出ました。今は大阪で看護を学んでいます。",
    "zh_Hant": "我在2015年離開了阿勒坡。現在我在大阪學習護理。",
}
DIRECTION = {"ar": "rtl", "fa": "rtl", "ps": "rtl", "ur": "rtl"}
# Languages whose script has a font on this machine (fontconfig knows the language).
FONT_LANG = {"ar": "ar", "fa": "fa", "ps": "ps", "ur": "ur", "ti": "ti", "am": "am", "bn": "bn"}
FONT_LANG |= {"ja": "ja", "zh_Hant": "zh-tw"}
FONT_PACKAGE = {"ja": "fonts-noto-cjk", "zh_Hant": "fonts-noto-cjk"}

# In the page: the code points of ``text`` that the element's font (with the browser's
# fallback) draws as the missing-glyph box. A character is "tofu" when it paints exactly
# what two code points no font has paint (U+10FFFD, U+0378).
TOFU_SCRIPT = """
([selector, chars]) => {
  const element = document.querySelector(selector);
  const style = getComputedStyle(element);
  const canvas = document.createElement("canvas");
  canvas.width = 96;
  canvas.height = 96;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.font = `${style.fontSize} ${style.fontFamily}`;
  ctx.textBaseline = "middle";
  const paint = (ch) => {
    ctx.clearRect(0, 0, 96, 96);
    ctx.fillText(ch, 16, 48);
    return ctx.measureText(ch).width + ":" + ctx.getImageData(0, 0, 96, 96).data.join(",");
  };
  const missing = paint("\\u{10FFFD}");
  if (paint("\\u0378") !== missing) return ["no reference box"];
  return chars.filter((ch) => paint(ch) === missing);
}
"""

# In the page: where the first and the last letter of an element's first line are drawn
# (their x, left to right on screen).
EDGES_SCRIPT = """
(element) => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const letters = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.data.length; i++) {
      if (/\\p{L}/u.test(node.data[i])) letters.push([node, i]);
    }
  }
  const rect = ([node, i]) => {
    const range = document.createRange();
    range.setStart(node, i);
    range.setEnd(node, i + 1);
    return range.getBoundingClientRect();
  };
  const first = rect(letters[0]);
  const sameLine = letters.filter((l) => Math.abs(rect(l).top - first.top) < first.height / 2);
  return [first.x, rect(sameLine[sameLine.length - 1]).x];
}
"""


def fonts_for(pattern: str) -> str:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return ""
    found = subprocess.run([fc_list, pattern, "family"], capture_output=True, text=True)
    return found.stdout.strip()


def require_font(locale: str) -> None:
    if not fonts_for(f":lang={FONT_LANG[locale]}"):
        package = FONT_PACKAGE.get(locale, "fonts-noto-core")
        pytest.skip(f"no font for {locale} on this machine (apt-get install {package})")
    if not fonts_for(":charset=1f91d"):  # 🤝, on the buttons
        pytest.skip("no emoji font on this machine (apt-get install fonts-noto-color-emoji)")


def letters(text: str) -> list[str]:
    """What a reader reads: letters, marks, digits, punctuation and symbols (emoji
    too); spaces and format characters (isolates, joiners) draw nothing."""
    return sorted({ch for ch in text if unicodedata.category(ch)[0] in "LMNPS"})


async def assert_no_tofu(page: Any, selector: str) -> None:
    text = await page.locator(selector).first.inner_text()
    chars = letters(text)
    assert chars, f"nothing to read in {selector}"
    tofu = await page.evaluate(TOFU_SCRIPT, [selector, chars])
    assert tofu == [], f"drawn as missing glyphs in {selector}: {tofu}"


async def assert_reads(page: Any, selector: str, direction: str) -> None:
    """The element's first line runs ``direction`` as laid out on screen."""
    element = page.locator(selector).first
    assert await element.evaluate("el => getComputedStyle(el).direction") == direction
    first, last = await element.evaluate(EDGES_SCRIPT)
    assert (first > last) if direction == "rtl" else (first < last), (selector, first, last)


async def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_what_the_tofu_check_reads() -> None:
    assert letters("A\u2068B\u2069 ሰ\u200c🤝") == ["A", "B", "ሰ", "🤝"]


async def test_the_tofu_check_finds_a_letter_without_a_font(page_factory) -> None:  # type: ignore[no-untyped-def]
    page = await page_factory()
    await page.goto("/stories")
    await page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('afterbegin', "
        "'<p id=probe>A\\uE000\\u{10FFFC}B</p>')"
    )
    tofu = await page.evaluate(TOFU_SCRIPT, ["#probe", ["A", "\ue000", "\U0010fffc", "B"]])
    assert "A" not in tofu and "B" not in tofu and "\U0010fffc" in tofu


@pytest.mark.parametrize("locale", ["ar", "ur", "ti", "fa", "ps", "bn", "am", "ja", "zh_Hant"])
async def test_the_chat_in_its_script_and_direction(page_factory, bot: Bot, locale: str) -> None:  # type: ignore[no-untyped-def]
    require_font(locale)
    direction = DIRECTION.get(locale, "ltr")
    tag = locale.replace("_", "-")
    page = await page_factory(locale=tag)
    await page.goto("/")
    welcome = "#log .msg[data-from='bot'] .text"
    await page.locator(welcome).first.wait_for()
    assert await page.get_attribute("html", "lang") == tag
    assert await page.get_attribute("html", "dir") == direction
    await say(page, STORIES[locale])
    mine = "#log .msg[data-from='user'] .text"
    await page.locator(mine).first.wait_for()
    await page.locator("#log .msg[data-from='bot']").nth(1).wait_for()
    for selector in (welcome, mine, "#log .choices button"):
        await assert_no_tofu(page, selector)
    await assert_reads(page, welcome, direction)
    await assert_reads(page, mine, direction)
    await screenshot(page, f"chat-{locale}")


@pytest.mark.parametrize("locale", ["ar", "ur", "ti"])
async def test_the_wall_in_its_script_and_direction(page_factory, bot: Bot, locale: str) -> None:  # type: ignore[no-untyped-def]
    require_font(locale)
    direction = DIRECTION.get(locale, "ltr")
    item_id = await tell(bot, f"teller-{locale}", text=STORIES[locale], name="Amina")
    story_id = (await item_row(bot, item_id)).story_id
    async with bot.deps.db.transaction() as session:  # a story written in that language
        await session.execute(update(Story).where(Story.id == story_id).values(locale=locale))  # type: ignore[arg-type]
        await session.execute(
            update(ModerationItem).where(ModerationItem.id == item_id).values(locale=locale)  # type: ignore[arg-type]
        )
    await publish(bot, item_id)
    page = await page_factory(locale=locale)
    await page.goto("/stories")
    story = f"#story-{story_id}"
    await page.locator(f"{story} .story-text").wait_for()
    assert await page.get_attribute("html", "dir") == direction
    credit = page.locator(f"{story} p", has_text="Amina").last
    await credit.evaluate("el => el.id = 'credit'")
    for selector in (f"{story} .story-text", "#credit", "main h1"):
        await assert_no_tofu(page, selector)
    await screenshot(page, f"wall-{locale}")
    await assert_reads(page, f"{story} .story-text", direction)
    # The credit line reads in the page's language and direction, a Latin name and all.
    await assert_reads(page, "#credit", direction)


@pytest.mark.parametrize(
    ("locale", "zone", "hour_format"),
    [("ja-JP", "Asia/Tokyo", "%-H:%M"), ("en-US", "America/New_York", "%-I:%M %p")],
)
async def test_times_in_the_reader_s_time_zone_and_language(  # type: ignore[no-untyped-def]
    page_factory, locale: str, zone: str, hour_format: str
) -> None:
    page = await page_factory(locale=locale, timezone_id=zone)
    await page.goto("/")
    await page.locator("#log .msg[data-from='bot'] time").first.wait_for()
    await say(page, "Mariko")
    await page.locator("#log .msg[data-from='user'] time").first.wait_for()
    for who in ("bot", "user"):
        time = page.locator(f"#log .msg[data-from='{who}'] time").first
        instant = datetime.fromisoformat(str(await time.get_attribute("datetime")))
        assert instant.utcoffset() is not None  # an instant, not a wall-clock time
        local = instant.astimezone(ZoneInfo(zone))
        shown = (await time.inner_text()).replace("\u202f", " ")
        assert local.strftime(hour_format) in shown, (who, shown, local)
        if locale == "ja-JP":
            assert "AM" not in shown and "PM" not in shown  # as the replies beside it
    await screenshot(page, f"times-{zone.replace('/', '-')}")


@pytest.mark.parametrize(
    ("locale", "digits"),
    [("ar", "٠١٢٣٤٥٦٧٨٩"), ("ps", "۰۱۲۳۴۵۶۷۸۹"), ("bn", "০১২৩৪৫৬৭৮৯"), ("ti", "0123456789")],
)
async def test_times_in_the_conversation_s_digits_never_in_english(  # type: ignore[no-untyped-def]
    page_factory, locale: str, digits: str
) -> None:
    """Arabic's times in Arabic-Indic digits as its text; a language the browser has no
    data for (Pashto, Tigrinya in Chromium) a 24-hour time, not English's "10:12 PM"."""
    page = await page_factory(locale=locale, timezone_id="Asia/Tokyo")
    await page.goto("/")
    time = page.locator("#log .msg[data-from='bot'] time").first
    await time.wait_for()
    shown = await time.inner_text()
    if locale in ("ps", "ti"):  # (CLDR writes Bengali's times with "AM" and "PM")
        assert "AM" not in shown and "PM" not in shown, shown
    assert all(ch in digits for ch in shown if ch.isdigit()), shown
    assert any(ch.isdigit() for ch in shown), shown


# In the page: the gap between a paragraph's right edge and the line's right end, for
# the line holding ``needle`` inside ``element`` (0 when the line is aligned right).
RIGHT_GAP_SCRIPT = """
(element, needle) => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(needle);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + needle.length);
    const line = range.getBoundingClientRect();
    const box = element.getBoundingClientRect();
    const padding = parseFloat(getComputedStyle(element).paddingRight) || 0;
    return box.right - padding - line.right;
  }
  return null;
}
"""


async def test_an_arabic_story_in_an_english_chat_runs_right_to_left(page_factory) -> None:  # type: ignore[no-untyped-def]
    """A message mixing languages is laid out a paragraph at a time, as messaging apps
    do: the Arabic paragraph of the preview starts at the right, under English lines."""
    require_font("ar")
    page = await page_factory()
    arabic = "غادرت حلب سنة ٢٠١٥."
    await tell_until_the_preview(page, "Syria", "Japan", arabic)
    log = page.locator("#log")
    preview = log.locator(".msg[data-from='bot'] .text", has_text="Here is your story").last
    await preview.wait_for()
    gap = await preview.evaluate(RIGHT_GAP_SCRIPT, arabic)
    assert gap is not None and abs(gap) < 2, gap
    english = await preview.evaluate(RIGHT_GAP_SCRIPT, "Here is your story")
    assert english > 40, english  # the English heading stays at the left
    await screenshot(page, "chat-en-arabic-story")
