"""A country question: type to search, in the person's language (CLDR names)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.core.dialog import Invalid, Next, Prompt, Result, Stay
from bot.core.events import Choice, InboundKind
from bot.core.turn import Turn
from bot.i18n import _
from bot.i18n.formatting import country_name, search_countries

CHOICE_PREFIX = "country:"


def country_prompt(question: Callable[[], str]) -> Callable[[Turn], Prompt]:
    def prompt(turn: Turn) -> Prompt:
        return Prompt(question() + "\n" + _("Type the name of the country, or skip."))

    return prompt


def country_accept(field: str) -> Callable[[Turn], Awaitable[Result]]:
    async def accept(turn: Turn) -> Result:
        inbound = turn.inbound
        if inbound.kind is InboundKind.CHOICE and (inbound.choice or "").startswith(CHOICE_PREFIX):
            turn.draft[field] = (inbound.choice or "")[len(CHOICE_PREFIX) :]
            return Next()
        if inbound.kind is not InboundKind.TEXT or not (inbound.text or "").strip():
            return Invalid(_("Please type the name of a country."))
        matches = search_countries(inbound.text or "", turn.locale)
        if len(matches) == 1:
            turn.draft[field] = matches[0][0]
            return Next()
        if not matches:
            return Invalid(
                _("I couldn't find a country with that name. Please try another spelling.")
            )
        turn.say(
            _("Which country do you mean?"),
            [Choice(CHOICE_PREFIX + code, name) for code, name in matches],
        )
        return Stay()

    return accept


def describe_country(code: str | None, locale: str) -> str:
    return country_name(code, locale) if code else _("not given")
