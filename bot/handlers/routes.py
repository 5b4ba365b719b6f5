"""Every command and global choice, wired to its handler."""

from __future__ import annotations

import re

from bot.core.dialog import DialogEngine
from bot.core.router import Router
from bot.core.turn import Turn
from bot.facts import FactBook
from bot.handlers import (
    facts,
    language,
    menu,
    moderators,
    mystories,
    pledge,
    privacy,
    revise,
    stories,
    story,
    story_form,
    thanks,
    updates,
)
from bot.handlers.review import Review
from bot.i18n import _

REFERRAL = re.compile(r"^ref-([A-Za-z0-9_-]{1,48})$")
CAMPAIGN = re.compile(r"^pledge-([A-Za-z0-9_-]{1,48})$")


def build_router(review: Review, fact_book: FactBook) -> Router:
    """Every command and choice, wired; ``review`` is the moderators' side the handlers
    tell of new and changed stories, ``fact_book`` the facts /facts answers with."""
    engine = DialogEngine({})
    engine.flows["story"] = story.build_story_flow(engine, review)
    engine.flows["pledge"] = pledge.build_pledge_flow()
    engine.flows["revise"] = revise.build_revise_flow(review)
    engine.flows["thanks"] = thanks.build_thanks_flow()

    async def fallback(turn: Turn) -> None:
        if turn.inbound.command:
            menu.show_menu(
                turn, engine, _("Sorry, I don't know that command. Here is what I can do:")
            )
        else:
            menu.show_menu(
                turn, engine, menu.welcome_text() + "\n\n" + _("What would you like to do?")
            )

    async def stale(turn: Turn) -> None:
        menu.show_menu(turn, engine, _("That button is no longer active. Here is the menu:"))

    router = Router(engine, fallback=fallback, stale=stale)

    async def start(turn: Turn) -> None:
        payload = turn.inbound.args.strip()
        if payload == "story":
            await engine.start(turn, "story")
        elif payload == "pledge":
            await pledge.start_pledge(turn, engine)
        elif match := CAMPAIGN.match(payload):
            await pledge.start_pledge(turn, engine, match.group(1))
        elif match := stories.STORY_LINK.match(payload):
            await stories.open_story(turn, int(match.group(1)), engine)
        else:
            if (match := REFERRAL.match(payload)) and not turn.participant.referral:
                turn.participant.referral = match.group(1)
            menu.show_menu(
                turn, engine, menu.welcome_text() + "\n\n" + _("What would you like to do?")
            )

    async def show_menu(turn: Turn) -> None:
        menu.show_menu(turn, engine)

    async def help_(turn: Turn) -> None:
        menu.show_menu(turn, engine, menu.help_text())

    async def start_story(turn: Turn) -> None:
        await engine.start(turn, "story")

    async def start_pledge(turn: Turn) -> None:
        await pledge.start_pledge(turn, engine)

    async def ask_language(turn: Turn) -> None:
        language.ask_language(turn)

    async def show_privacy(turn: Turn) -> None:
        privacy.show_privacy(turn)

    async def show_facts(turn: Turn) -> None:
        facts.show_facts(turn, fact_book)

    async def cancel(turn: Turn) -> None:
        menu.show_menu(turn, engine, _("There is nothing to cancel right now."))

    async def on_language(turn: Turn, code: str) -> None:
        if language.choose_language(turn, code):
            if engine.active(turn) is not None:
                engine.ask(turn)
            else:
                menu.show_menu(turn, engine)

    menu_actions = {
        "story": start_story,
        "pledge": start_pledge,
        "stories": stories.read_stories,
        "mystories": mystories.my_stories,
        "facts": show_facts,
        "language": ask_language,
        "privacy": show_privacy,
        "help": help_,
        "main": show_menu,
    }

    async def on_menu(turn: Turn, value: str) -> None:
        await menu_actions.get(value, stale)(turn)

    for name, handler in {
        "start": start,
        "menu": show_menu,
        "help": help_,
        "story": start_story,
        "pledge": start_pledge,
        "stories": stories.read_stories,
        "mystories": mystories.my_stories,
        "facts": show_facts,
        "unpledge": pledge.unpledge,
        "updates": updates.updates_command,  # milestone updates: on, off, or the setting
        "language": ask_language,
        "privacy": show_privacy,
        "cancel": cancel,
        "dashboard": moderators.dashboard_link,
    }.items():
        router.command(name, handler)

    # The story form (a Slack modal) is no command: typed, "/storyform" is unknown.
    async def submit_form(turn: Turn) -> None:
        await story_form.submit_form(turn, review)

    router.form(submit_form)
    router.choice("menu", on_menu)
    router.choice("lang", on_language)

    async def on_facts_choice(turn: Turn, value: str) -> None:
        facts.on_facts_choice(turn, value, fact_book)

    router.choice("facts", on_facts_choice)

    async def on_privacy_choice(turn: Turn, value: str) -> None:
        await privacy.on_privacy_choice(turn, value, review)

    router.choice("privacy", on_privacy_choice)

    async def on_story_choice(turn: Turn, value: str) -> None:
        await mystories.on_story_choice(turn, value, review, engine)

    router.choice("mystory", on_story_choice)

    async def on_stories_choice(turn: Turn, value: str) -> None:
        await stories.on_stories_choice(turn, value, engine)

    router.choice("stories", on_stories_choice)

    async def on_thank(turn: Turn, value: str) -> None:
        await thanks.start_thanks(turn, engine, value)

    router.choice("thank", on_thank)  # a reader thanks a story's storyteller
    router.choice("thanks", thanks.on_switch)  # a storyteller turns thanks off or on
    router.choice(updates.PREFIX, updates.on_updates_choice)  # milestone updates
    return router
