"""/dashboard: a moderator asks for a one-time sign-in link in their private chat."""

from __future__ import annotations

from bot.core.events import Choice
from bot.core.turn import Turn
from bot.i18n import _
from bot.review.login_links import UnknownModeratorError, issue_login_link
from bot.review.roster import load_roster
from moderation.errors import NotAllowed


async def dashboard_link(turn: Turn) -> None:
    deps, inbound = turn.deps, turn.inbound
    roster = await load_roster(turn.session, deps.settings, deps.hasher)
    try:
        moderator = roster.resolve(inbound.platform, inbound.user_id)
    except NotAllowed:
        turn.say(_("Sorry, this command is only for the moderation team."))
        return
    try:
        link = await issue_login_link(turn.session, deps, moderator.id)
    except UnknownModeratorError:
        turn.say(
            _(
                "You are a moderator from the configuration only. Ask an operator to run "
                "“together-bot moderators add” for you to use the dashboard."
            )
        )
        return
    turn.say(
        _("Here is your sign-in link to the moderation dashboard. It works once, for 15 minutes."),
        (Choice("dashboard", _("Open the dashboard"), url=link),),
    )
