"""/facts and "Learn the facts": one sourced fact at a time, in the reader's language."""

from __future__ import annotations

import json
from pathlib import Path

from bot.adapters.memory import MemoryChat
from bot.adapters.slack.rendering import BUTTON_TEXT_MAX
from bot.adapters.slack.rendering import render as render_for_slack
from bot.adapters.telegram.rendering import PartKind
from bot.adapters.telegram.rendering import plan as plan_for_telegram
from bot.app import Bot
from bot.config import Settings
from bot.core.events import Outgoing
from bot.facts import load_facts
from bot.handlers.facts import fact_card
from bot.i18n.check import SUPPORTED_LOCALES
from bot.i18n.formatting import FSI, PDI
from storage.db import Database
from tests.conftest import make_bot
from tests.facts.test_loader import fact

UNHCR_2024 = "Global Trends: Forced Displacement in 2024, UNHCR"
UNHCR_URL = "https://www.unhcr.org/global-trends"


async def test_facts_shows_a_figure_its_year_source_and_checked_day(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="neighbour")
    await chat.send("/facts")
    card = chat.text
    assert "How many people are forced to flee?" in card
    assert "123.2 million people" in card and "end of 2024" in card
    assert f"Source: {UNHCR_2024}" in card and UNHCR_URL in card
    assert "Checked on December 5, 2026" in card
    assert chat.labels == ["➡️ Another fact", "📋 All questions", "🏠 Menu"]


async def test_the_menu_entry_opens_the_facts(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="host")
    await chat.send("/start")
    await chat.tap("Learn the facts")
    assert "123.2 million people" in chat.text and "Checked on December 5, 2026" in chat.text
    await chat.tap("Menu")
    assert "What would you like to do?" in chat.text


async def test_in_arabic_the_card_is_arabic_and_the_latin_source_is_isolated(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="jar", locale_hint="ar")
    for opened in ("/facts", "menu:facts"):
        [message] = await (chat.send(opened) if opened.startswith("/") else chat.press(opened))
        assert message.locale == "ar"
        assert "كم عدد الذين أُجبروا على الفرار؟" in message.text
        assert "١٢٣٫٢ مليون شخص" in message.text and "نهاية عام ٢٠٢٤" in message.text
        assert f"{FSI}{UNHCR_2024}{PDI}" in message.text
        assert f"{FSI}{UNHCR_URL}{PDI}" in message.text
        # The checked day in the reader's calendar and digits, as the figures above it.
        assert "٥ ديسمبر ٢٠٢٦" in message.text


async def test_another_fact_goes_through_every_fact_then_starts_again(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="curious")
    await chat.send("/facts")
    first = chat.text
    questions = [first.splitlines()[0]]
    for _ in range(len(load_facts().facts) - 1):
        await chat.tap("Another fact")
        assert "Source: " in chat.text and "Checked on " in chat.text
        questions.append(chat.text.splitlines()[0])
    assert len(set(questions)) == len(questions) >= 8
    await chat.tap("Another fact")
    assert chat.text == first


async def test_the_list_of_questions_opens_any_fact(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="teacher")
    await chat.send("/facts")
    await chat.tap("All questions")
    assert "What do migrants send home?" in chat.labels and chat.labels[-1] == "🏠 Menu"
    await chat.tap("What do migrants send home?")
    assert "USD 831 billion (2022)" in chat.text
    assert "Source: World Migration Report 2024, IOM" in chat.text
    await chat.tap("All questions")
    await chat.tap("What is #WithRefugees?")
    assert "1,531,345 signatures (June 2017)" in chat.text


async def test_a_button_of_a_fact_no_longer_in_the_file_shows_the_questions(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="late")
    await chat.press("facts:show:a-fact-since-removed")
    assert "That fact is no longer here" in chat.text
    assert "How many people are forced to flee?" in chat.labels
    await chat.press("facts:next:a-fact-since-removed")
    assert "123.2 million people" in chat.text


async def test_a_fact_without_a_translation_is_shown_in_english(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps({"facts": [fact()]}), encoding="utf-8")
    bot = await make_bot(settings.model_copy(update={"facts_file": path}), db)
    french = MemoryChat(bot.core, user_id="fr", locale_hint="fr")
    await french.send("/facts")
    assert "Environ 40 %" in french.text
    japanese = MemoryChat(bot.core, user_id="ja", locale_hint="ja")
    await japanese.send("/facts")
    assert "How many of them are children?" in japanese.text
    assert "About 40%" in japanese.text and "end of 2024" in japanese.text


def test_every_card_is_one_short_message_on_telegram_and_slack() -> None:
    for fact_ in load_facts().facts:
        for locale in SUPPORTED_LOCALES:
            card = fact_card(fact_, locale)
            assert len(card) <= 700, (fact_.id, locale, len(card))
            question = fact_.text(locale).question
            message = Outgoing(card, locale=locale)
            [part] = plan_for_telegram(message)
            assert part.kind is PartKind.TEXT and part.text == card
            assert len(render_for_slack(message).blocks) == 1
            assert len(question) <= BUTTON_TEXT_MAX


async def test_cards_and_their_buttons_render_on_telegram_and_slack(bot: Bot) -> None:
    chat = MemoryChat(bot.core, user_id="phone")
    await chat.send("/facts")
    await chat.tap("All questions")
    await chat.tap("Where do most refugees live?")
    for message in chat.transcript:
        assert plan_for_telegram(message)[-1].markup is not None
        render_for_slack(message)
