"""/facts: one sourced fact at a time, as a card short enough for a phone screen.

Every card shows its figure, its year, its source (title and address) and the day the
figure was checked against that source. The facts and their translations come from the
data file (:mod:`bot.facts`); this module only lays them out.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from bot.core.events import Choice
from bot.core.turn import Turn
from bot.facts import Fact, FactBook
from bot.i18n import _
from bot.i18n.formatting import format_day, isolate

PREFIX = "facts"


def show_facts(turn: Turn, book: FactBook) -> None:
    """The first fact: one tap from the menu already answers a question."""
    show_fact(turn, book.facts[0])


def show_fact(turn: Turn, fact: Fact) -> None:
    turn.say(fact_card(fact, turn.locale), card_choices(fact))


def fact_card(fact: Fact, locale: str) -> str:
    text = fact.text(locale)
    checked = datetime.combine(fact.checked, time(12), tzinfo=UTC)
    # Translators: a fact's figure and when it was true, e.g. "123.2 million people (end of 2024)"
    headline = _("{figure} ({as_of})").format(figure=text.figure, as_of=text.as_of)
    return "\n".join(
        (
            text.question,
            "",
            f"📊 {headline}",
            "",
            text.answer,
            "",
            _("Source: {source}").format(source=isolate(fact.source.label, locale)),
            isolate(fact.source.url, locale),
            _("Checked on {date}").format(date=format_day(checked, locale)),
        )
    )


def card_choices(fact: Fact) -> tuple[Choice, ...]:
    return (
        Choice(f"{PREFIX}:next:{fact.id}", _("➡️ Another fact")),
        Choice(f"{PREFIX}:list", _("📋 All questions")),
        Choice("menu:main", _("🏠 Menu")),
    )


def show_list(turn: Turn, book: FactBook, text: str | None = None) -> None:
    questions = [
        Choice(f"{PREFIX}:show:{fact.id}", fact.text(turn.locale).question) for fact in book.facts
    ]
    turn.say(
        text or _("Questions people ask about refugees and migrants. Which one shall I answer?"),
        (*questions, Choice("menu:main", _("🏠 Menu"))),
    )


def on_facts_choice(turn: Turn, value: str, book: FactBook) -> None:
    """``facts:list``, ``facts:show:<id>`` and ``facts:next:<id>`` (the fact after it)."""
    action, _sep, fact_id = value.partition(":")
    if action == "next" and fact_id:
        show_fact(turn, book.after(fact_id))
        return
    if action == "show" and (fact := book.get(fact_id)) is not None:
        show_fact(turn, fact)
        return
    if action == "list":
        show_list(turn, book)
        return
    # A button of a fact the operators have since removed from the file.
    show_list(turn, book, _("That fact is no longer here. These are the questions I can answer:"))
