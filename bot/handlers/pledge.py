"""The pledge flow: the pledge text, one tap, an optional name and country, thanks."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from bot.core.dialog import DialogEngine, Finish, Flow, Invalid, Next, Prompt, Result, Step
from bot.core.events import Choice, InboundKind
from bot.core.turn import Turn
from bot.handlers.countries import country_accept, country_prompt
from bot.handlers.menu import start_link
from bot.handlers.stories import NEXT as NEXT_STORY
from bot.handlers.updates import updates_question
from bot.i18n import _, ngettext
from bot.i18n.formatting import format_count, format_day
from storage import pledges, reading
from storage.models import Campaign, Pledge, PledgeState, utcnow
from storage.times import aware

log = logging.getLogger(__name__)
NAME_MAX = 40
DEFAULT_MILESTONES = (100, 1_000, 10_000, 100_000, 1_000_000)


@dataclass(frozen=True, slots=True)
class CampaignInfo:
    pledge_text: dict[str, str] | None
    active: bool
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def opens_later(self, now: datetime) -> bool:
        return self.starts_at is not None and now < self.starts_at

    def is_open(self, now: datetime) -> bool:
        """Active, started and not yet ended."""
        ended = self.ends_at is not None and now >= self.ends_at
        return self.active and not self.opens_later(now) and not ended


def default_pledge_text() -> str:
    return _(
        "I stand #WithRefugees and with all migrants. I pledge to stand for respect, safety "
        "and dignity for every person — whoever they are and wherever they come from."
    )


def campaign_id(turn: Turn) -> str:
    return str(turn.draft.get("campaign") or turn.deps.settings.default_campaign)


async def _campaign(turn: Turn, campaign: str) -> CampaignInfo | None:
    """A campaign's pledge texts and whether it is open (kept a short while: read on
    every pledge, changed by an operator now and then)."""

    async def read() -> CampaignInfo | None:
        row = await turn.session.get(Campaign, campaign)
        if row is None:
            return None
        return CampaignInfo(
            row.pledge_text,
            row.active,
            None if row.starts_at is None else aware(row.starts_at),
            None if row.ends_at is None else aware(row.ends_at),
        )

    found: CampaignInfo | None = await turn.deps.rarely.get(("campaign", campaign), read)
    return found


async def pledge_text(turn: Turn, campaign: str) -> str:
    row = await _campaign(turn, campaign)
    texts = row.pledge_text if row is not None else None
    if texts:
        return texts.get(turn.locale) or texts.get("en") or next(iter(texts.values()))
    return default_pledge_text()


def share_link(turn: Turn, campaign: str) -> str:
    default = campaign == turn.deps.settings.default_campaign
    return start_link(turn, "pledge" if default else f"pledge-{campaign}")


async def total_line(turn: Turn, campaign: str) -> str:
    total = await pledges.pledge_total(turn.session, campaign)
    return total_text(total, turn.locale)


def total_text(total: int, locale: str) -> str:
    """ "12,345 people have taken the pledge.", in the active locale's words and digits."""
    return ngettext(
        "{count} person has taken the pledge.",
        "{count} people have taken the pledge.",
        total,
    ).format(count=format_count(total, locale))


# -- steps -----------------------------------------------------------------------------------
def pledge_prompt(turn: Turn) -> Prompt:
    text = str(turn.draft.get("_text") or default_pledge_text())
    return Prompt(
        _("The TOGETHER pledge:") + "\n\n“" + text + "”",
        (Choice("c:pledge", _("🤝 I take the pledge")),),
    )


async def pledge_accept(turn: Turn) -> Result:
    if not (turn.inbound.kind is InboundKind.CHOICE and turn.inbound.choice == "c:pledge"):
        return Invalid(_("Tap “I take the pledge” to sign, or Cancel."))
    campaign = campaign_id(turn)
    result = await pledges.take_pledge(
        turn.session,
        turn.deps.db,
        campaign_id=campaign,
        identity_key=turn.participant.identity_key,
        participant_id=turn.participant_id,
        referral=turn.participant.referral,
    )
    if result.outcome is pledges.PledgeOutcome.ALREADY:
        turn.say(
            _("You already took the pledge on {date}. Thank you for standing with us! 💛").format(
                date=format_day(result.pledged_at, turn.locale)
            )
            + "\n"
            + await total_line(turn, campaign),
            (Choice("share", _("📣 Share the pledge"), url=share_link(turn, campaign)),),
        )
        return Finish()
    if result.milestones:
        turn.after_commit.append(lambda: _milestones(turn, campaign, result.milestones))
    turn.say(_("Thank you! Your pledge is counted."))
    return Next()


async def _milestones(turn: Turn, campaign: str, reached: tuple[int, ...]) -> None:
    for threshold in reached:
        log.info("pledge milestone reached", extra={"campaign": campaign, "threshold": threshold})
    # Committed: the scheduler's broadcast starts now, not at its next minute.
    turn.deps.milestone_wakeup.set()


def name_prompt(turn: Turn) -> Prompt:
    return Prompt(_("Would you like your first name shown among the supporters? Type it, or skip."))


async def name_accept(turn: Turn) -> Result:
    text = (turn.inbound.text or "").strip() if turn.inbound.kind is InboundKind.TEXT else ""
    if not text:
        return Invalid(_("Please type your first name, or skip."))
    if len(text) > NAME_MAX or "\n" in text:
        return Invalid(_("Please use one line of up to 40 characters."))
    turn.draft["display_name"] = text
    await _update_pledge(turn, display_name=text)
    return Next()


async def _update_pledge(turn: Turn, **values: str) -> None:
    pledge = await pledges.find_pledge(
        turn.session, campaign_id(turn), turn.participant.identity_key
    )
    if pledge is not None:
        for key, value in values.items():
            setattr(pledge, key, value)


async def country_then_update(turn: Turn) -> Result:
    result = await _country_accept(turn)
    if isinstance(result, Next) and turn.draft.get("country"):
        await _update_pledge(turn, country=str(turn.draft["country"]))
    return result


_country_accept = country_accept("country")


async def thanks(turn: Turn) -> None:
    campaign = campaign_id(turn)
    choices = [Choice("share", _("📣 Share the pledge"), url=share_link(turn, campaign))]
    # Once a story is published, that stays true a long while: kept (a "no" is not, so
    # the first story published is offered at once).
    if await turn.deps.rarely.get(
        "any story published", lambda: reading.any_published(turn.session), keep=bool
    ):
        choices.append(Choice(NEXT_STORY, _("📖 Meet someone your pledge stands with")))
    text = (
        _("Thank you for standing with refugees and migrants! 💛")
        + "\n"
        + await total_line(turn, campaign)
        + "\n"
        + _("Share the pledge so more people join:")
    )
    # Once ever (until answered): whether to hear of the next milestone.
    if (question := updates_question(turn)) is not None:
        text += "\n\n" + question[0]
        choices.extend(question[1])
    turn.say(text, choices)


def build_pledge_flow() -> Flow:
    return Flow(
        name="pledge",
        on_complete=thanks,
        steps=(
            Step("pledge", pledge_prompt, pledge_accept),
            Step("name", name_prompt, name_accept, optional=True),
            Step(
                "country",
                country_prompt(lambda: _("Where are you pledging from?")),
                country_then_update,
                optional=True,
            ),
        ),
    )


async def start_pledge(turn: Turn, engine: DialogEngine, campaign: str | None = None) -> None:
    """Open the pledge of ``campaign`` (the default one when unknown, inactive or
    outside its dates)."""
    settings = turn.deps.settings
    chosen = settings.default_campaign
    if campaign:
        row = await _campaign(turn, campaign)
        now = utcnow()
        if row is not None and row.is_open(now):
            chosen = campaign
        elif row is not None and row.active and row.opens_later(now):
            turn.say(_("That pledge has not opened yet, but you can take the TOGETHER pledge."))
        else:
            turn.say(_("That pledge is no longer open, but you can take the TOGETHER pledge."))
    if turn.flow == "pledge":
        engine.end(turn)
    data = {"campaign": chosen, "_text": await pledge_text(turn, chosen)}
    await engine.start(turn, "pledge", data)


async def unpledge(turn: Turn) -> None:
    rows = (
        (
            await turn.session.execute(
                select(Pledge).where(
                    col(Pledge.identity_key) == turn.participant.identity_key,
                    col(Pledge.state) == PledgeState.CONFIRMED.value,
                )
            )
        )
        .scalars()
        .all()
    )
    withdrawn = 0
    for row in rows:
        if await pledges.withdraw_pledge(
            turn.session,
            turn.deps.db,
            campaign_id=row.campaign_id,
            identity_key=turn.participant.identity_key,
        ):
            withdrawn += 1
    if withdrawn:
        turn.say(_("Your pledge has been withdrawn. You are welcome to pledge again any time."))
    else:
        turn.say(_("You have not taken the pledge, so there is nothing to withdraw."))
