"""One inbound event being handled: who, where, their state, and what to answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.events import Choice, Inbound, Outgoing
from storage.models import Participant
from storage.turns import ConversationRow, TurnTransaction

if TYPE_CHECKING:
    from bot.core.deps import Deps


@dataclass(eq=False)
class Turn:
    """Everything a handler needs for one event, inside its database transaction.

    Handlers change ``flow``/``step``/``draft``/``history``; the core writes them back
    with the version check at the end of the turn, in the same transaction.
    """

    inbound: Inbound
    tx: TurnTransaction
    participant: Participant
    conversation: ConversationRow
    locale: str
    deps: Deps
    flow: str | None = None
    step: str | None = None
    draft: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    replies: list[Outgoing] = field(default_factory=list)
    offered: list[str] | None = None
    # The token a pressed button carried (the conversation version it was shown at).
    choice_token: int | None = None
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # What happened to flows in this turn, for the operators' numbers: (event, flow,
    # step) with event one of started, reached, completed, cancelled.
    flow_events: list[tuple[str, str, str]] = field(default_factory=list)

    @classmethod
    def begin(
        cls,
        inbound: Inbound,
        tx: TurnTransaction,
        participant: Participant,
        conversation: ConversationRow,
        locale: str,
        deps: Deps,
    ) -> Turn:
        return cls(
            inbound=inbound,
            tx=tx,
            participant=participant,
            conversation=conversation,
            locale=locale,
            deps=deps,
            flow=conversation.flow,
            step=conversation.step,
            draft=dict(conversation.draft or {}),
            history=list(conversation.history or []),
        )

    @property
    def session(self) -> AsyncSession:
        """The turn's ORM session (made on first use, in the turn's transaction)."""
        return self.tx.session

    @property
    def participant_id(self) -> int:
        assert self.participant.id is not None
        return self.participant.id

    def say(self, text: str, choices: tuple[Choice, ...] | list[Choice] = ()) -> None:
        """Queue a direct reply; offered choices become the ones this person may press."""
        choices = tuple(choices)
        self.replies.append(Outgoing(text=text, choices=choices, locale=self.locale))
        callbacks = [c.id for c in choices if c.url is None]
        if callbacks:
            self.offered = (self.offered or []) + callbacks

    def wake_outbox(self) -> None:
        """Outbox rows were added in this turn: wake the dispatcher once it commits."""

        async def wake() -> None:
            self.deps.outbox_wakeup.set()

        self.after_commit.append(wake)

    def set_locale(self, locale: str) -> None:
        """Switch the rest of this turn (and the person, from now on) to ``locale``."""
        self.participant.locale = locale
        self.locale = locale
        self.deps.translator.activate(locale)
