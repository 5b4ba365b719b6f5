"""Milestone updates: asked once after the pledge; ``/updates on|off`` and its buttons.

A supporter who said yes hears when the pledge of the campaign they signed reaches a
milestone (bot/announce.py). The answer is kept on the participant
(``participant.updates``, ``updates_at``); ``None`` means never answered, and only then
is the question asked, after a pledge. ``/updates`` alone shows the setting with a
button that changes it. Choices: ``updates:on``, ``updates:off``.
"""

from __future__ import annotations

from bot.core.events import Choice
from bot.core.turn import Turn
from bot.i18n import _
from storage.models import utcnow

PREFIX = "updates"
ON = f"{PREFIX}:on"
OFF = f"{PREFIX}:off"


def updates_question(turn: Turn) -> tuple[str, tuple[Choice, ...]] | None:
    """After a pledge, the question and its answers, while the person has never
    answered it (None once they have)."""
    if turn.participant.updates is not None:
        return None
    text = _(
        "May I tell you when the pledge reaches its next milestone? "
        "(A few messages a year at most; /updates off stops them.)"
    )
    return text, (Choice(ON, _("🔔 Yes, tell me")), Choice(OFF, _("No, thanks")))


def _switch(turn: Turn, on: bool) -> None:
    turn.participant.updates = on
    turn.participant.updates_at = utcnow()
    if on:
        turn.say(
            _(
                "Thank you! I will tell you when the pledge reaches its next milestone. "
                "/updates off stops these messages."
            ),
            (Choice(OFF, _("🔕 Turn off updates")),),
        )
    else:
        turn.say(
            _("Milestone updates are off. /updates on turns them on again."),
            (Choice(ON, _("🔔 Turn on updates")),),
        )


def show_updates(turn: Turn) -> None:
    """The current setting, with the button that changes it."""
    if turn.participant.updates:
        turn.say(
            _("Milestone updates are on: I tell you when the pledge reaches a milestone."),
            (Choice(OFF, _("🔕 Turn off updates")),),
        )
    else:
        turn.say(
            _("Milestone updates are off."),
            (Choice(ON, _("🔔 Turn on updates")),),
        )


async def updates_command(turn: Turn) -> None:
    """``/updates on``, ``/updates off``, or ``/updates`` alone: the setting."""
    word = turn.inbound.args.strip().lower()
    if word in ("on", "off"):
        _switch(turn, word == "on")
    else:
        show_updates(turn)


async def on_updates_choice(turn: Turn, value: str) -> None:
    """``updates:on`` / ``updates:off``: the question's answer, or a button that changes
    the setting (under an announcement, or ``/updates``)."""
    if value in ("on", "off"):
        _switch(turn, value == "on")
    else:
        turn.say(_("That button is no longer active."))
