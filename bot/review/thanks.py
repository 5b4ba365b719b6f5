"""Readers' thanks on the moderators' side: the queue, one-click decisions, delivery.

Every surface (the dashboard's thanks page, the moderators' Telegram group, the
moderators' Slack channel) decides through :class:`ThanksDesk`: the moderator is
resolved from the roster (never from a payload), the decision is :mod:`moderation.thanks`'
guarded UPDATE, and the outcome is answered in the moderators' language. The outbox
renders what moderation queued: the message to the storyteller (``thanks``, in their
current language, at send time) and the cards in the moderators' chats (``thanks_card``).
A card's message id is recorded once it is sent; a decision, from any surface, queues an
in-place edit of every card in its own transaction (buttons gone, the outcome shown), as
story cards are refreshed.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.core.deps import Deps
from bot.core.events import Choice, Outgoing
from bot.i18n import N_, _
from bot.i18n.formatting import isolate
from bot.review.cards import mark_flags
from bot.review.roster import load_roster
from moderation.actors import Moderator
from moderation.errors import NotAllowed
from moderation.flags import Flag
from moderation.thanks import ThanksDecision, mark_delivered, pass_thanks, reject_thanks
from storage import outbox
from storage import thanks as rows
from storage.models import Participant, Story, StoryState, Thanks, ThanksState

log = logging.getLogger(__name__)

# Buttons of a thanks card: ``thx:<pass|reject>:<thanks id>`` (no personal data).
CHOICE_PREFIX = "thx"
# The storyteller's own switch: ``thanks:off`` / ``thanks:on``.
SWITCH_PREFIX = "thanks"

PHRASES: dict[str, str] = {
    "thank_you": N_("Thank you for sharing your story."),
    "welcome": N_("You are welcome here."),
    "courage": N_("Your courage inspires me."),
    "not_alone": N_("You are not alone. I stand with you."),
}


def phrase_text(phrase: str) -> str:
    """A ready phrase in the current language."""
    return _(PHRASES[phrase])


class Verdict(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a decision, not a password
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class ThanksOutcome:
    """What a click did, in the moderators' words.

    ``ok`` when this click moved the message; ``settled`` when it is decided (by this
    click or an earlier one) or gone, so its card has nothing left to ask.
    """

    ok: bool
    message: str
    thanks_id: int
    settled: bool = False


@dataclass(frozen=True, slots=True)
class PendingThanks:
    """A thank-you waiting for a moderator, as the queue shows it (never its reader)."""

    thanks_id: int
    story_id: int
    locale: str
    text: str
    signed: str | None
    flags: tuple[Flag, ...]
    created_at: datetime


def parse_choice(data: str) -> tuple[Verdict, int] | None:
    """``thx:pass:12`` -> ``(PASS, 12)``; None for anything malformed or forged."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != CHOICE_PREFIX or not parts[2].isdigit():
        return None
    try:
        return Verdict(parts[1]), int(parts[2])
    except ValueError:
        return None


def card_surfaces(settings: Settings) -> list[tuple[str, str]]:
    """Where a new thank-you gets a card: the moderators' Telegram group and Slack
    channel, on the platforms that are running."""
    surfaces = []
    if settings.telegram_bot_token and settings.telegram_moderation_chat_id:
        surfaces.append(("telegram", settings.telegram_moderation_chat_id))
    if settings.slack_bot_token and settings.slack_moderation_channel:
        surfaces.append(("slack", settings.slack_moderation_channel))
    return surfaces


async def refresh_cards(session: AsyncSession, thanks_id: int, state: ThanksState) -> None:
    """Queue an in-place edit of every card of a decided thank-you (caller's transaction)."""
    for card in await rows.cards_of(session, thanks_id):
        await _edit_card(session, thanks_id, state, card.platform, card.chat_id, card.message_id)


async def _edit_card(
    session: AsyncSession,
    thanks_id: int,
    state: ThanksState,
    platform: str,
    chat_id: str,
    message_id: str,
) -> None:
    await outbox.enqueue(
        session,
        dedupe_key=f"thanks-card:{thanks_id}:{state.value}:{platform}:{chat_id}:{message_id}",
        platform=platform,
        chat_id=chat_id,
        payload={"thanks_card": {"thanks_id": thanks_id, "message_id": message_id}},
    )


async def announce(session: AsyncSession, settings: Settings, thanks_id: int) -> None:
    """Queue the card of a new thank-you for the moderators (caller's transaction)."""
    for platform, chat_id in card_surfaces(settings):
        await outbox.enqueue(
            session,
            dedupe_key=f"thanks-card:{thanks_id}:{platform}:{chat_id}",
            platform=platform,
            chat_id=chat_id,
            payload={"thanks_card": {"thanks_id": thanks_id}},
        )


class ThanksDesk:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # -- the queue ------------------------------------------------------------------------
    async def pending(self) -> list[PendingThanks]:
        async with self.deps.db.transaction() as session:
            found = await rows.pending_thanks(session)
        return [_pending(row) for row in found]

    # -- deciding -------------------------------------------------------------------------
    async def decide_from(self, platform: str, external_id: str, data: str) -> ThanksOutcome:
        """A card button pressed by a platform account: refused unless a moderator."""
        with self.deps.translator.use(self.deps.settings.moderation_locale):
            parsed = parse_choice(data)
            if parsed is None:
                return ThanksOutcome(False, _("This button is no longer valid."), 0)
            verdict, thanks_id = parsed
            async with self.deps.db.transaction() as session:
                roster = await load_roster(session, self.deps.settings, self.deps.hasher)
            try:
                moderator = roster.resolve(platform, external_id)
            except NotAllowed:
                log.warning("thanks decision refused", extra={"thanks_id": thanks_id})
                return ThanksOutcome(False, _("Only moderators can do this."), thanks_id)
        return await self.decide(moderator, thanks_id, verdict)

    async def decide(self, moderator: Moderator, thanks_id: int, verdict: Verdict) -> ThanksOutcome:
        """Pass or reject one thank-you, once: a second click is told who was first."""
        with self.deps.translator.use(self.deps.settings.moderation_locale):
            async with self.deps.db.transaction() as session:
                thanks = await session.get(Thanks, thanks_id)
                if thanks is not None and thanks.reader_key in moderator.identity_keys:
                    return ThanksOutcome(
                        False, _("You cannot moderate your own message."), thanks_id
                    )
                decide = pass_thanks if verdict is Verdict.PASS else reject_thanks
                decision = await decide(session, thanks_id=thanks_id, moderator_id=moderator.id)
                if decision.done and decision.state is not None:
                    # Every card, on every surface, shows the outcome (edited in place).
                    await refresh_cards(session, thanks_id, decision.state)
            if decision.done:
                self.deps.outbox_wakeup.set()
            settled = decision.state is not ThanksState.PENDING
            return ThanksOutcome(decision.done, decided_text(decision), thanks_id, settled)

    # -- the outbox -----------------------------------------------------------------------
    async def render(self, payload: dict[str, object]) -> Outgoing | None:
        """The storyteller's message (``thanks``) or the moderators' card (``thanks_card``)."""
        if isinstance(thanks := payload.get("thanks"), dict):
            return await self._to_storyteller(int(thanks["thanks_id"]))
        if isinstance(card := payload.get("thanks_card"), dict):
            edit_of = card.get("message_id")
            return await self._card(int(card["thanks_id"]), str(edit_of) if edit_of else None)
        return None

    async def card_sent(
        self, platform: str, chat_id: str, payload: dict[str, object], message_id: str
    ) -> None:
        """A card was posted (or edited): record its message, so a decision edits it.

        A card posted while it was being decided (rendered PENDING, decided before its
        message id was known) is edited at once, as the decision's refresh could not.
        """
        card = payload.get("thanks_card")
        if not isinstance(card, dict):
            return
        thanks_id = int(card["thanks_id"])
        async with self.deps.db.transaction() as session:
            if not await rows.record_card(session, thanks_id, platform, chat_id, message_id):
                return
            thanks = await session.get(Thanks, thanks_id)
            state = ThanksState(thanks.state) if thanks is not None else ThanksState.PENDING
            late = state is not ThanksState.PENDING and not card.get("message_id")
            if late:
                await _edit_card(session, thanks_id, state, platform, chat_id, message_id)
        if late:
            self.deps.outbox_wakeup.set()

    async def delivered(self, payload: dict[str, object]) -> None:
        """A storyteller's message was sent: DELIVERED, and counted on the story."""
        thanks = payload.get("thanks")
        if isinstance(thanks, dict):
            async with self.deps.db.transaction() as session:
                await mark_delivered(session, int(thanks["thanks_id"]))

    async def _to_storyteller(self, thanks_id: int) -> Outgoing | None:
        async with self.deps.db.transaction() as session:
            thanks = await session.get(Thanks, thanks_id)
            story = await session.get(Story, thanks.story_id) if thanks is not None else None
            person = (
                await session.get(Participant, story.participant_id)
                if story is not None and story.participant_id
                else None
            )
        if (
            thanks is None
            or story is None
            or person is None
            or thanks.state != ThanksState.PASSED.value
            or story.state != StoryState.PUBLISHED.value
            or not person.thanks_enabled
        ):
            # Erased, taken down, or the storyteller turned thanks off in between.
            log.info("thanks not delivered", extra={"thanks_id": thanks_id})
            return None
        translator = self.deps.translator
        locale = person.locale or translator.negotiate(person.locale_hint)
        with translator.use(locale) as active:
            return storyteller_message(thanks, story.id or 0, active)

    async def _card(self, thanks_id: int, edit_of: str | None) -> Outgoing | None:
        """A new card (nothing when it was decided first, or erased: nothing to ask), or
        the edit of card ``edit_of`` as the thank-you is now."""
        async with self.deps.db.transaction() as session:
            thanks = await session.get(Thanks, thanks_id)
        pending = thanks is not None and thanks.state == ThanksState.PENDING.value
        if edit_of is None and not pending:
            return None
        with self.deps.translator.use(self.deps.settings.moderation_locale) as locale:
            if thanks is None:
                text = _("Thank-you #{number} no longer exists.").format(number=thanks_id)
                return Outgoing(text=text, edit_of=edit_of, locale=locale)
            if pending:
                return dataclasses.replace(thanks_card(_pending(thanks), locale), edit_of=edit_of)
            return decided_card(thanks, locale, edit_of)


def storyteller_message(thanks: Thanks, story_id: int, locale: str) -> Outgoing:
    """What the storyteller reads (in ``locale``, active): the words and the chosen first
    name, never anything else of the reader."""
    words = phrase_text(thanks.phrase) if thanks.phrase in PHRASES else thanks.text
    name = isolate(thanks.signed, locale) if thanks.signed else _("a reader")
    text = _(
        "💛 Someone who read your story #{number} sends you a message:\n\n"
        "“{message}”\n— {name}\n\n"
        "A moderator read it before it reached you."
    ).format(number=story_id, message=isolate(words, locale), name=name)
    return Outgoing(
        text=text,
        choices=(Choice(f"{SWITCH_PREFIX}:off", _("🔕 Turn off thanks")),),
        locale=locale,
    )


def thanks_card(pending: PendingThanks, locale: str) -> Outgoing:
    """The moderators' card (in their language, active): the text with its flags marked."""
    screened = pending.text + ("\n" + pending.signed if pending.signed else "")
    marked = mark_flags(screened, pending.flags)
    lines = [
        _("💛 Thank-you #{number} for story #{story} ({language})").format(
            number=pending.thanks_id, story=pending.story_id, language=pending.locale
        )
    ]
    if pending.flags:
        kinds = sorted({f.kind.value for f in pending.flags})
        lines.append(_("Flags: {flags}").format(flags=", ".join(kinds)))
    # The name is one line, after the last line break (the text may have several).
    body, _sep, name = marked.rpartition("\n") if pending.signed else (marked, "", "")
    lines += ["", body, "— " + (name or _("a reader"))]
    return Outgoing(
        text="\n".join(lines),
        choices=(
            Choice(f"{CHOICE_PREFIX}:{Verdict.PASS.value}:{pending.thanks_id}", _("✅ Pass")),
            Choice(f"{CHOICE_PREFIX}:{Verdict.REJECT.value}:{pending.thanks_id}", _("⛔ Reject")),
        ),
        locale=locale,
    )


def decided_card(thanks: Thanks, locale: str, edit_of: str | None) -> Outgoing:
    """A decided thank-you's card (in the moderators' language, active): who decided it
    and how, without its buttons, and without its words (nothing is left to read)."""
    who = thanks.decided_by or "—"
    if thanks.state == ThanksState.REJECTED.value:
        outcome = _("⛔ Rejected by {who}.").format(who=who)
    else:
        outcome = _("✅ Passed by {who}.").format(who=who)
    header = _("💛 Thank-you #{number} for story #{story} ({language})").format(
        number=thanks.id, story=thanks.story_id, language=thanks.locale
    )
    return Outgoing(text=f"{header}\n{outcome}", edit_of=edit_of, locale=locale)


def decided_text(decision: ThanksDecision) -> str:
    """The outcome of a click, in the active (moderators') language."""
    number = decision.thanks_id
    if decision.state is None:
        return _("Thank-you #{number} no longer exists.").format(number=number)
    if decision.done and decision.state is ThanksState.PASSED:
        return _("Thank-you #{number} is passed and on its way to the storyteller.").format(
            number=number
        )
    if decision.done:
        return _("Thank-you #{number} is rejected. The storyteller will not see it.").format(
            number=number
        )
    who = decision.decided_by or "—"
    if decision.state is ThanksState.REJECTED:
        return _("Thank-you #{number} was already rejected by {who}.").format(
            number=number, who=who
        )
    return _("Thank-you #{number} was already passed by {who}.").format(number=number, who=who)


def _pending(row: Thanks) -> PendingThanks:
    return PendingThanks(
        thanks_id=row.id or 0,
        story_id=row.story_id,
        locale=row.locale,
        text=row.text,
        signed=row.signed,
        flags=tuple(Flag.from_json(f) for f in row.flags or []),
        created_at=row.created_at,
    )
