"""Help for people in danger: sent at once when screening finds crisis language."""

from __future__ import annotations

from bot.core.turn import Turn
from bot.i18n import _
from bot.i18n.formatting import country_name, isolate


def send_helplines(turn: Turn, country: str | None) -> None:
    """Tell the storyteller where to get help now, for their country when configured."""
    helplines = turn.deps.settings.helplines
    lines = [
        _(
            "It sounds like you may be going through something very hard. You are not alone.\n"
            "If you are in danger right now, please call your local emergency number."
        )
    ]
    local = helplines.get(country or "") if country else None
    if local:
        lines.append(
            _("Help in {country}: {contact}").format(
                country=country_name(country or "", turn.locale),
                contact=isolate(local, turn.locale),
            )
        )
    default = helplines.get("*")
    if default:
        lines.append(isolate(default, turn.locale))
    lines.append(_("A member of our safety team will read your message first."))
    turn.say("\n\n".join(lines))
