"""One facade for every moderator surface: claim, decide, and keep every card current.

A surface (Telegram group, Slack channel, web dashboard) passes who clicked (platform
account, or a dashboard moderator), the item id and the version its card showed, and
the action. The service resolves the moderator from the roster (never from the payload),
runs the guarded decision in one transaction, and in that same transaction queues a
refresh of every card of the item on every surface. Refusals are recorded and answered
kindly; a lost race answers "already approved by X at 12:03".
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.deps import Deps
from bot.i18n import _, ngettext
from bot.i18n.formatting import format_count
from bot.review.roster import load_roster
from moderation import claims, decisions, presentation
from moderation.actors import Moderator
from moderation.audit import last_moderator_decision
from moderation.errors import DecisionConflict, NotAllowed, Refusal
from moderation.notify import FEED, Channel, take_down_post
from moderation.reasons import ReasonCode
from moderation.states import PERMISSIONS, SAFETY_ROLES, Action, Role, StoryState, may
from moderation.visibility import safety_only, safety_only_clause
from storage import outbox
from storage.models import (
    ModerationCard,
    ModerationEvent,
    ModerationItem,
    ModerationRefusal,
    Publication,
)

log = logging.getLogger(__name__)
CHOICE_PREFIX = "mod"


class ReviewAction(enum.StrEnum):
    CLAIM = "claim"
    RELEASE = "release"
    APPROVE = "approve"
    REJECT = "reject"  # needs a ReasonCode
    CHANGES = "changes"  # needs the text to send the storyteller
    ESCALATE = "escalate"
    REDACT = "redact"  # needs text or spans
    UNPUBLISH = "unpublish"  # needs a ReasonCode
    TAKEOVER = "takeover"  # a lead, with a reason
    REOPEN = "reopen"  # a lead, with a reason
    MEDIA = "media"  # publish or hide one file, and its alt text (needs a FileChoice)
    TITLE = "title"  # the story's title on the wall (the text; none: its first sentence)


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """What a button or form asked for. Buttons carry only ``(action, item, version)``
    (and a reason code): Telegram allows 64 bytes, and no personal data belongs there."""

    action: ReviewAction
    item_id: int
    version: int
    reason: str | None = None

    def choice_id(self) -> str:
        parts = [CHOICE_PREFIX, self.action.value, str(self.item_id), str(self.version)]
        if self.reason:
            parts.append(self.reason)
        return ":".join(parts)

    @classmethod
    def parse(cls, data: str) -> ActionRequest | None:
        """The request in a button's data, or None for anything malformed or forged."""
        parts = data.split(":")
        if len(parts) not in (4, 5) or parts[0] != CHOICE_PREFIX:
            return None
        try:
            action = ReviewAction(parts[1])
            item_id, version = int(parts[2]), int(parts[3])
        except ValueError:
            return None
        reason = parts[4] if len(parts) == 5 else None
        if reason is not None and reason not in set(ReasonCode):
            return None
        return cls(action, item_id, version, reason)


# What each button or form asks of the moderation state machine.
PERMISSION: dict[ReviewAction, Action] = {
    ReviewAction.CLAIM: Action.CLAIM,
    ReviewAction.RELEASE: Action.RELEASE,
    ReviewAction.APPROVE: Action.APPROVE,
    ReviewAction.REJECT: Action.REJECT,
    ReviewAction.CHANGES: Action.REQUEST_CHANGES,
    ReviewAction.ESCALATE: Action.ESCALATE,
    ReviewAction.REDACT: Action.REDACT,
    ReviewAction.UNPUBLISH: Action.UNPUBLISH,
    ReviewAction.TAKEOVER: Action.TAKEOVER,
    ReviewAction.REOPEN: Action.REOPEN,
    ReviewAction.MEDIA: Action.PRESENT,
    ReviewAction.TITLE: Action.PRESENT,
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened, and what to tell the moderator who clicked."""

    ok: bool
    message: str
    item_id: int


class ReviewService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # -- surfaces -----------------------------------------------------------------------
    def card_surfaces(self) -> list[tuple[str, str]]:
        """The moderators' chats that get a card for every new item."""
        settings = self.deps.settings
        return self._surfaces(
            settings.telegram_moderation_chat_id, settings.slack_moderation_channel
        )

    def safety_surfaces(self) -> list[tuple[str, str]]:
        """The safety team's chats: the only ones that see a safety story's card."""
        settings = self.deps.settings
        return self._surfaces(settings.telegram_safety_chat_id, settings.slack_safety_channel)

    def _surfaces(self, telegram_chat: str, slack_channel: str) -> list[tuple[str, str]]:
        """``(platform, chat)`` of the chats given, on the platforms that are running."""
        settings = self.deps.settings
        surfaces = []
        if settings.telegram_bot_token and telegram_chat:
            surfaces.append(("telegram", telegram_chat))
        if settings.slack_bot_token and slack_channel:
            surfaces.append(("slack", slack_channel))
        return surfaces

    def is_safety_chat(self, platform: str, chat_id: str) -> bool:
        return (platform, chat_id) in self.safety_surfaces()

    def publication_channels(self) -> tuple[Channel, ...]:
        settings = self.deps.settings
        channels = [FEED]
        if settings.telegram_bot_token and settings.telegram_public_channel_id:
            channels.append(Channel("telegram", settings.telegram_public_channel_id))
        return tuple(channels)

    async def announce(self, session: AsyncSession, item_id: int) -> None:
        """Queue a new card for ``item_id`` in the moderators' chats (caller's transaction).

        A story for the safety team's eyes only goes to the platform's safety chat, and
        nowhere else; without a safety chat, the moderators' chat gets a placeholder card
        (rendered so by :class:`~bot.review.delivery.ReviewDelivery`).
        """
        item = await session.get(ModerationItem, item_id)
        if item is None:
            return
        hidden = safety_only(item.state, item.priority)
        safety = self.safety_surfaces()
        with_safety_chat = {platform for platform, _chat in safety}
        targets = [
            (platform, chat_id)
            for platform, chat_id in self.card_surfaces()
            if not (hidden and platform in with_safety_chat)
        ]
        placeholder = await self._placeholder_tag(session, item) if hidden else "new"
        for platform, chat_id in targets:
            await self._new_card(session, item, platform, chat_id, placeholder)
        if hidden:
            for platform, chat_id in safety:
                await self._new_card(session, item, platform, chat_id, "new")

    async def refresh_cards(self, session: AsyncSession, item_id: int) -> None:
        """Queue an in-place edit of every card of ``item_id`` (caller's transaction).

        When the story is (or stays) the safety team's, a card outside the safety chats
        is replaced by a placeholder once per state, and each safety chat without a card
        of it gets one.
        """
        item = await session.get(ModerationItem, item_id)
        cards = list(
            (
                await session.execute(
                    select(ModerationCard).where(col(ModerationCard.item_id) == item_id)
                )
            ).scalars()
        )
        hidden = item is not None and safety_only(item.state, item.priority)
        for card in cards:
            if item is not None and hidden and not self.is_safety_chat(card.platform, card.chat_id):
                await self._hide_card(session, item, card)
            else:
                await self._edit_card(session, item_id, item.version if item else 0, card)
        if item is not None and hidden:
            shown = {(card.platform, card.chat_id) for card in cards}
            for platform, chat_id in self.safety_surfaces():
                if (platform, chat_id) not in shown:
                    await self._new_card(session, item, platform, chat_id, "new")

    async def card_registered(
        self, session: AsyncSession, item_id: int, platform: str, chat_id: str, version: int
    ) -> None:
        """A new card was posted: if the item changed since it was queued, the card may
        show what it no longer should (a refresh ran before the card existed): redo it."""
        item = await session.get(ModerationItem, item_id)
        card = await session.get(ModerationCard, (item_id, platform, chat_id))
        if item is None or card is None or item.version == version:
            return
        if safety_only(item.state, item.priority) and not self.is_safety_chat(platform, chat_id):
            await self._hide_card(session, item, card)
        else:
            await self._edit_card(session, item_id, item.version, card)

    async def _edit_card(
        self, session: AsyncSession, item_id: int, version: int, card: ModerationCard
    ) -> None:
        await outbox.enqueue(
            session,
            dedupe_key=f"card:{item_id}:{version}:{card.platform}:{card.chat_id}",
            platform=card.platform,
            chat_id=card.chat_id,
            payload={"card": {"item_id": item_id}},
        )

    async def _new_card(
        self, session: AsyncSession, item: ModerationItem, platform: str, chat_id: str, tag: str
    ) -> bool:
        queued = await outbox.enqueue(
            session,
            dedupe_key=f"card:{item.id}:{tag}:{platform}:{chat_id}",
            platform=platform,
            chat_id=chat_id,
            payload={"card": {"item_id": item.id, "new": True, "version": item.version}},
        )
        return bool(queued)

    @staticmethod
    async def _placeholder_tag(session: AsyncSession, item: ModerationItem) -> str:
        """One placeholder card per state the item entered (its audit event's id)."""
        entered = (
            await session.execute(
                select(func.max(col(ModerationEvent.id))).where(
                    col(ModerationEvent.item_id) == item.id,
                    col(ModerationEvent.to_state) == item.state,
                    or_(
                        col(ModerationEvent.from_state).is_(None),
                        col(ModerationEvent.from_state) != item.state,
                    ),
                )
            )
        ).scalar_one_or_none()
        return f"hide:{item.state}:{entered or 0}"

    async def _hide_card(
        self, session: AsyncSession, item: ModerationItem, card: ModerationCard
    ) -> None:
        """Replace a card outside the safety chats by a placeholder, once per state entered.

        Deleted and posted anew rather than edited: an edit would leave a card's photos
        (sent as messages of their own) in the chat.
        """
        tag = await self._placeholder_tag(session, item)
        if not await self._new_card(session, item, card.platform, card.chat_id, tag):
            return  # already a placeholder for this state
        await outbox.enqueue(
            session,
            dedupe_key=f"card:{card.item_id}:gone:{card.platform}:{card.chat_id}:{card.message_id}",
            platform=card.platform,
            chat_id=card.chat_id,
            payload={"takedown": {"item_id": card.item_id, "message_id": card.message_id}},
        )
        # Until the placeholder is posted, no refresh may edit (and so resend) the old card.
        await session.delete(card)

    async def story_changed(self, session: AsyncSession, story_id: int) -> None:
        """After a storyteller's own action (withdraw, erase, revise): take down its posts
        if it left publication, and refresh its cards."""
        item_id = (
            await session.execute(
                select(col(ModerationItem.id)).where(col(ModerationItem.story_id) == story_id)
            )
        ).scalar_one_or_none()
        state = (
            await session.execute(
                select(col(ModerationItem.state)).where(col(ModerationItem.story_id) == story_id)
            )
        ).scalar_one_or_none()
        if state in ("WITHDRAWN", "ERASED", "UNPUBLISHED"):
            await self.take_down(session, story_id)
        if item_id is not None:
            await self.refresh_cards(session, item_id)

    async def take_down(self, session: AsyncSession, story_id: int) -> None:
        """Queue the removal of every post of a story (unpublished, withdrawn, erased)."""
        posts = (
            (
                await session.execute(
                    select(Publication).where(col(Publication.story_id) == story_id)
                )
            )
            .scalars()
            .all()
        )
        for post in posts:
            await take_down_post(session, post, because=post.message_id)

    async def register_card(
        self, item_id: int, platform: str, chat_id: str, message_id: str
    ) -> None:
        async with self.deps.db.transaction() as session:
            # Upsert: when a card's message was gone, the sender posted a new one.
            await session.execute(
                self.deps.db.insert(ModerationCard)
                .values(item_id=item_id, platform=platform, chat_id=chat_id, message_id=message_id)
                .on_conflict_do_update(
                    index_elements=["item_id", "platform", "chat_id"],
                    set_={"message_id": message_id},
                )
            )

    async def card_message_id(self, item_id: int, platform: str, chat_id: str) -> str | None:
        async with self.deps.db.transaction() as session:
            card = await session.get(ModerationCard, (item_id, platform, chat_id))
            return card.message_id if card is not None else None

    # -- acting ---------------------------------------------------------------------------
    async def moderator_for(self, platform: str, external_id: str) -> Moderator | None:
        async with self.deps.db.transaction() as session:
            roster = await load_roster(session, self.deps.settings, self.deps.hasher)
        try:
            return roster.resolve(platform, external_id)
        except NotAllowed:
            return None

    async def authorize(
        self, platform: str, external_id: str, request: ActionRequest, *, safety_chat: bool
    ) -> Moderator | Outcome:
        """Who may take this action now, checked before anything is shown or posted.

        A chat surface calls this first, before a reason question, a modal or any
        answer in the chat: the account must be a moderator, in a safety chat a safety
        moderator or lead, and their role must allow the action in the item's state.

        Returns:
            The moderator, or the refusal (recorded) to tell that person alone.
        """
        with self.deps.translator.use(self.deps.settings.moderation_locale):
            moderator = await self.moderator_for(platform, external_id)
            if moderator is None:
                actor = f"{platform}:{self.deps.hasher.key(platform, external_id)[:16]}"
                return await self._refusal(actor, request, Refusal.UNKNOWN_MODERATOR)
            if safety_chat and moderator.role not in SAFETY_ROLES:
                return await self._refusal(moderator.id, request, Refusal.ROLE)
            refusal: Refusal | None = None
            text = ""
            async with self.deps.db.transaction() as session:
                item = await session.get(ModerationItem, request.item_id)
                state = StoryState(item.state) if item is not None else None
                action = PERMISSION[request.action]
                if item is None or state is None:
                    refusal = Refusal.NOT_FOUND
                elif may(moderator.role, action, state):
                    return moderator
                elif item.version == request.version:
                    # Others may (not this role), or nobody may, in this state.
                    refusal = Refusal.ROLE if PERMISSIONS[action].get(state) else None
                    refusal = refusal or Refusal.INVALID_TRANSITION
                else:  # the card was out of date: say who decided, as a lost race does
                    decided = await last_moderator_decision(session, request.item_id)
                    conflict = DecisionConflict(
                        item_id=request.item_id,
                        state=state,
                        version=item.version,
                        decided_by=decided.actor if decided is not None else None,
                        decided_at=decided.created_at if decided is not None else None,
                    )
                    text = self._conflict_text(conflict, item.story_id)
            # Recorded in a transaction of its own, after the reading one has ended.
            if refusal is not None:
                return await self._refusal(moderator.id, request, refusal)
            await self._refresh_after_conflict(request.item_id)
            return Outcome(False, text, request.item_id)

    async def act_from(
        self,
        platform: str,
        external_id: str,
        request: ActionRequest,
        *,
        text: str | None = None,
        spans: Sequence[tuple[int, int]] = (),
        safety_chat: bool = False,
    ) -> Outcome:
        """An action by a platform account: refused and recorded unless :meth:`authorize`
        lets it through."""
        checked = await self.authorize(platform, external_id, request, safety_chat=safety_chat)
        if isinstance(checked, Outcome):
            return checked
        return await self.act(checked, request, text=text, spans=spans)

    async def _refusal(self, actor: str, request: ActionRequest, refusal: Refusal) -> Outcome:
        await self._refused(actor, request, refusal)
        return Outcome(False, self._refusal_text(refusal), request.item_id)

    async def act(
        self,
        moderator: Moderator,
        request: ActionRequest,
        *,
        text: str | None = None,
        spans: Sequence[tuple[int, int]] = (),
        file: presentation.FileChoice | None = None,
    ) -> Outcome:
        """Run one guarded decision and queue the card refreshes, in one transaction."""
        with self.deps.translator.use(self.deps.settings.moderation_locale) as locale:
            limit = self.deps.settings.story_max_chars
            if request.action is ReviewAction.REDACT and text is not None and len(text) > limit:
                too_long = redaction_too_long(len(text), limit, locale)
                return Outcome(False, too_long, request.item_id)
            try:
                async with self.deps.db.transaction() as session:
                    message = await self._decide(session, moderator, request, text, spans, file)
                    await self.refresh_cards(session, request.item_id)
            except DecisionConflict as conflict:
                await self._refresh_after_conflict(request.item_id)
                async with self.deps.db.transaction() as session:
                    number = await self._story_number(session, request.item_id)
                    # Name the person who decided, not the publishing worker after them.
                    decided = await last_moderator_decision(session, request.item_id)
                if decided is not None and conflict.decided_by:
                    conflict.decided_by, conflict.decided_at = decided.actor, decided.created_at
                return Outcome(False, self._conflict_text(conflict, number), request.item_id)
            except NotAllowed as refused:
                await self._refused(moderator.id, request, refused.refusal)
                return Outcome(False, self._refusal_text(refused.refusal), request.item_id)
            except ValueError:
                return Outcome(False, _("That action needs more information."), request.item_id)
        self.deps.outbox_wakeup.set()
        log.info(
            "moderation action",
            extra={"item_id": request.item_id, "action": request.action.value},
        )
        return Outcome(True, message, request.item_id)

    async def _decide(
        self,
        session: AsyncSession,
        moderator: Moderator,
        request: ActionRequest,
        text: str | None,
        spans: Sequence[tuple[int, int]],
        file: presentation.FileChoice | None = None,
    ) -> str:
        item_id, version, action = request.item_id, request.version, request.action
        number = await self._story_number(session, item_id)  # what cards and the wall show
        if action is ReviewAction.CLAIM:
            await claims.claim(session, item_id=item_id, moderator=moderator, version=version)
            return _("You are reviewing story #{number} for the next 10 minutes.").format(
                number=number
            )
        if action is ReviewAction.RELEASE:
            await claims.release(session, item_id=item_id, moderator=moderator)
            return _("Story #{number} is back in the queue.").format(number=number)
        if action is ReviewAction.TAKEOVER:
            await claims.takeover(
                session, item_id=item_id, lead=moderator, reason=text or "", version=version
            )
            return _("You took over story #{number}.").format(number=number)
        if action is ReviewAction.APPROVE:
            await decisions.approve(
                session,
                item_id=item_id,
                version=version,
                moderator=moderator,
                channels=self.publication_channels(),
            )
            return _("Story #{number} is approved and will be published.").format(number=number)
        if action is ReviewAction.REJECT:
            if request.reason is None:
                raise ValueError("a rejection needs a reason code")
            await decisions.reject(
                session,
                item_id=item_id,
                version=version,
                moderator=moderator,
                reason=ReasonCode(request.reason or ReasonCode.OTHER.value),
            )
            return _("Story #{number} is rejected.").format(number=number)
        if action is ReviewAction.CHANGES:
            if not text:
                raise ValueError("needs the text for the storyteller")
            await decisions.needs_changes(
                session, item_id=item_id, version=version, moderator=moderator, reason=text
            )
            return _("The storyteller is asked for a change to story #{number}.").format(
                number=number
            )
        if action is ReviewAction.ESCALATE:
            await decisions.escalate(session, item_id=item_id, version=version, moderator=moderator)
            return _("Story #{number} is sent to the safety team.").format(number=number)
        if action is ReviewAction.REDACT:
            if text is None and not spans:
                raise ValueError("needs the redacted text or spans")
            await decisions.redact(
                session,
                item_id=item_id,
                version=version,
                moderator=moderator,
                screen=self.deps.screener.screen,
                text=text,
                spans=spans,
                max_chars=self.deps.settings.story_max_chars,
            )
            return _("A redacted version of story #{number} is saved.").format(number=number)
        if action is ReviewAction.UNPUBLISH:
            if request.reason is None:
                raise ValueError("a take-down needs a reason code")
            decision = await decisions.unpublish(
                session,
                item_id=item_id,
                version=version,
                moderator=moderator,
                reason=ReasonCode(request.reason or ReasonCode.OTHER.value),
            )
            await self.take_down(session, decision.story_id)
            return _("Story #{number} is taken down.").format(number=number)
        if action is ReviewAction.REOPEN:
            await decisions.reopen(
                session, item_id=item_id, version=version, lead=moderator, note=text or ""
            )
            return _("Story #{number} is back in review.").format(number=number)
        if action is ReviewAction.MEDIA:
            if file is None:
                raise ValueError("needs the file and the choice")
            await presentation.choose_file(
                session, item_id=item_id, version=version, moderator=moderator, choice=file
            )
            return _("The files of story #{number} are saved as chosen.").format(number=number)
        if action is ReviewAction.TITLE:
            await presentation.set_title(
                session, item_id=item_id, version=version, moderator=moderator, title=text
            )
            return _("The title of story #{number} is saved.").format(number=number)
        raise ValueError(action)

    @staticmethod
    async def _story_number(session: AsyncSession, item_id: int) -> int:
        item = await session.get(ModerationItem, item_id)
        return item.story_id if item is not None else item_id

    async def _refused(self, actor: str, request: ActionRequest, refusal: Refusal) -> None:
        log.warning(
            "moderation action refused",
            extra={"item_id": request.item_id, "refusal": refusal.value},
        )
        async with self.deps.db.transaction() as session:
            session.add(
                ModerationRefusal(
                    item_id=request.item_id,
                    actor=actor[:140],
                    action=request.action.value,
                    refusal=refusal.value,
                )
            )

    async def _refresh_after_conflict(self, item_id: int) -> None:
        async with self.deps.db.transaction() as session:
            await self.refresh_cards(session, item_id)
        self.deps.outbox_wakeup.set()

    def _conflict_text(self, conflict: DecisionConflict, number: int) -> str:
        when = conflict.decided_at.strftime("%H:%M UTC") if conflict.decided_at else ""
        if conflict.lease_owner:
            return _("Story #{number} is being reviewed by {who}.").format(
                number=number, who=conflict.lease_owner
            )
        if conflict.decided_by:
            return _(
                "Story #{number} was already handled by {who} at {time} (now {state})."
            ).format(
                number=number,
                who=conflict.decided_by,
                time=when,
                state=conflict.state.value,
            )
        return _("Story #{number} has changed since you saw it (now {state}).").format(
            number=number, state=conflict.state.value
        )

    def _refusal_text(self, refusal: Refusal) -> str:
        return {
            Refusal.UNKNOWN_MODERATOR: _("Only moderators can do this."),
            Refusal.ROLE: _("Your role does not allow this action on this story."),
            Refusal.SELF_MODERATION: _("You cannot moderate your own story."),
            Refusal.NOT_FOUND: _("This story no longer exists."),
            Refusal.INVALID_TRANSITION: _("This action does not apply to the story any more."),
            Refusal.NOT_CLAIMED: _("You are not reviewing this story."),
            Refusal.INVALID_REDACTION: _(
                "That redaction cannot be saved: it must change the text, leave some of it, "
                "and stay within the story's length limit."
            ),
        }.get(refusal, _("This action is not allowed."))

    # -- reading --------------------------------------------------------------------------
    async def counts(self, reader: Role | None = None) -> dict[str, int]:
        """Items per state; for a ``reader`` who is no safety moderator or lead, only the
        items they may read, except ``SAFETY_REVIEW``: that the safety team has N waiting."""
        async with self.deps.db.transaction() as session:
            rows = (
                await session.execute(
                    select(col(ModerationItem.state), func.count()).group_by(
                        col(ModerationItem.state)
                    )
                )
            ).all()
            counts = {str(state): int(n) for state, n in rows}
            if reader is not None and reader not in SAFETY_ROLES:
                hidden = (
                    await session.execute(
                        select(col(ModerationItem.state), func.count())
                        .where(safety_only_clause())
                        .group_by(col(ModerationItem.state))
                    )
                ).all()
                for state, n in hidden:
                    if state != StoryState.SAFETY_REVIEW:
                        counts[str(state)] -= int(n)
        return counts

    def counts_text(self, counts: dict[str, int]) -> str:
        locale = self.deps.settings.moderation_locale
        with self.deps.translator.use(locale):
            lines = [_("Moderation queue:")]
            for state in ("SAFETY_REVIEW", "PENDING_REVIEW", "NEEDS_CHANGES", "APPROVED"):
                lines.append(f"{state}: {format_count(counts.get(state, 0), locale)}")
            return "\n".join(lines)


def redaction_too_long(length: int, limit: int, locale: str) -> str:
    """A moderator's redacted text over ``STORY_MAX_CHARS``: the limit and how far over."""
    over = length - limit
    return ngettext(
        "The redacted text is {over} character longer than the limit of {limit} characters. "
        "Please shorten it; nothing was saved.",
        "The redacted text is {over} characters longer than the limit of {limit} characters. "
        "Please shorten it; nothing was saved.",
        over,
    ).format(over=format_count(over, locale), limit=format_count(limit, locale))
