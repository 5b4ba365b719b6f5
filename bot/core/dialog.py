"""The dialog engine: runs a flow step by step with its state written at every step.

A flow is a named, ordered list of steps. A step asks (a prompt with optional choices)
and accepts input (validate, store in the draft, decide what comes next). The engine
owns everything generic: where the person is, back / skip / cancel, edit from a
preview, stale buttons, parking a flow while another runs, and resuming after any gap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.core.events import Choice, InboundKind, Outgoing
from bot.core.turn import Turn
from bot.i18n import _

NAV_BACK = "nav:back"
NAV_SKIP = "nav:skip"
NAV_CANCEL = "nav:cancel"
NAV_COMMANDS = {"back": NAV_BACK, "skip": NAV_SKIP, "cancel": NAV_CANCEL}
RETURN_TO = "_return_to"
EDIT_PATH = "_edit_path"
PARKED = "_parked"
OFFERED = "_offered"
# The conversation version at which the buttons now on offer were shown. Every button
# carries the version it was shown at (``<id>@<version>``), so a button answers only
# the question it was shown with: pressed again later (a retry after a lost reply),
# it is recognised as stale instead of answering the next question.
OFFERED_AT = "_offered_at"
SHOWN_AT_SEP = "@"


def split_token(choice: str) -> tuple[str, int | None]:
    """``"nav:skip@12"`` -> ``("nav:skip", 12)``; an id without a token -> ``(id, None)``."""
    base, sep, token = choice.rpartition(SHOWN_AT_SEP)
    if sep and base and token.isdigit() and len(token) <= 12:
        return base, int(token)
    return choice, None


@dataclass(frozen=True, slots=True)
class Prompt:
    text: str
    choices: tuple[Choice, ...] = ()


class Result:
    """What a step's ``accept`` decided."""


@dataclass(frozen=True, slots=True)
class Next(Result):
    """The value is stored: go to ``goto`` or the following step."""

    goto: str | None = None


@dataclass(frozen=True, slots=True)
class Stay(Result):
    """Stay on this step; the step has already answered (e.g. a story part received)."""


@dataclass(frozen=True, slots=True)
class Invalid(Result):
    """Kindly say why, then ask again."""

    reason: str


@dataclass(frozen=True, slots=True)
class Finish(Result):
    """The flow is over; the step has already answered."""


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    prompt: Callable[[Turn], Prompt]
    accept: Callable[[Turn], Awaitable[Result]]
    optional: bool = False
    # Asked only when this says so (e.g. a name only for people who want to be named).
    when: Callable[[Turn], bool] | None = None

    def applies(self, turn: Turn) -> bool:
        return self.when is None or self.when(turn)


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    steps: tuple[Step, ...]
    # Parked (kept) when the person starts another flow, resumed when they come back.
    resumable: bool = False
    on_cancel: Callable[[Turn], None] | None = None
    # Called when the person moves past the last step (answered or skipped).
    on_complete: Callable[[Turn], Awaitable[None]] | None = None
    # Called when the flow starts afresh (not when a parked one is resumed).
    on_start: Callable[[Turn], None] | None = None

    def step(self, step_id: str | None) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def following(self, step_id: str) -> str | None:
        ids = [s.id for s in self.steps]
        index = ids.index(step_id)
        return ids[index + 1] if index + 1 < len(ids) else None


class DialogEngine:
    def __init__(self, flows: Mapping[str, Flow]) -> None:
        self.flows = dict(flows)

    def active(self, turn: Turn) -> Flow | None:
        return self.flows.get(turn.flow or "")

    def has_draft(self, turn: Turn, name: str) -> bool:
        """Whether ``name`` is running or parked with something in it."""
        if turn.flow == name:
            return True
        return name in turn.draft.get(PARKED, {})

    async def start(self, turn: Turn, name: str, data: dict[str, Any] | None = None) -> None:
        """Start ``name``, or resume it where the person left it."""
        flow = self.flows[name]
        if turn.flow == name:
            self.ask(turn, resumed=True)
            return
        parked: dict[str, Any] = dict(turn.draft.get(PARKED, {}))
        current = self.active(turn)
        if current is not None and current.resumable:
            parked[current.name] = {
                "step": turn.step,
                "history": turn.history,
                "draft": {k: v for k, v in turn.draft.items() if k != PARKED},
            }
        saved = parked.pop(name, None)
        if saved is not None:
            turn.flow, turn.step = name, saved["step"]
            turn.history = list(saved["history"])
            turn.draft = dict(saved["draft"])
        else:
            turn.flow, turn.step, turn.history = name, flow.steps[0].id, []
            turn.draft = dict(data or {})
            turn.flow_events.append(("started", name, flow.steps[0].id))
            if flow.on_start is not None:
                flow.on_start(turn)
        if parked:
            turn.draft[PARKED] = parked
        self.ask(turn, resumed=saved is not None)

    def ask(self, turn: Turn, *, resumed: bool = False) -> None:
        """Show the current step's question, with back / skip / cancel."""
        flow = self.active(turn)
        step = flow.step(turn.step) if flow else None
        if flow is None or step is None:
            return
        if resumed:
            turn.say(_("Welcome back! Let's continue where you left off."))
        prompt = step.prompt(turn)
        nav: list[Choice] = []
        if turn.history:
            nav.append(Choice(NAV_BACK, _("◀ Back")))
        if step.optional:
            nav.append(Choice(NAV_SKIP, _("Skip ▶")))
        nav.append(Choice(NAV_CANCEL, _("✕ Cancel")))
        turn.say(prompt.text, prompt.choices + tuple(nav))

    def end(self, turn: Turn) -> None:
        """Leave the flow; a parked flow stays parked."""
        parked = turn.draft.get(PARKED)
        turn.flow, turn.step, turn.history = None, None, []
        turn.draft = {PARKED: parked} if parked else {}

    async def handle(self, turn: Turn) -> None:
        """Feed the event to the active flow."""
        flow = self.active(turn)
        step = flow.step(turn.step) if flow else None
        if flow is None or step is None:
            self.end(turn)
            return
        inbound = turn.inbound
        nav = inbound.choice if inbound.kind is InboundKind.CHOICE else None
        if inbound.kind is InboundKind.COMMAND and inbound.command in NAV_COMMANDS:
            nav = NAV_COMMANDS[inbound.command]
        if inbound.kind is InboundKind.CHOICE and _stale(turn, nav):
            turn.say(_("That button belongs to an earlier question. Here is the current one."))
            self.ask(turn)
            return
        if nav == NAV_CANCEL:
            self._cancel(turn, flow)
            return
        if nav == NAV_BACK:
            if turn.history:
                turn.step = turn.history.pop()
                turn.draft.pop(RETURN_TO, None)
                turn.draft.pop(EDIT_PATH, None)
            self.ask(turn)
            return
        if nav == NAV_SKIP:
            if step.optional:
                await self._advance(turn, flow, step, None)
            else:
                turn.say(_("This question can't be skipped, sorry."))
                self.ask(turn)
            return
        if inbound.kind is InboundKind.UNSUPPORTED:
            turn.say(_("Sorry, I can't use this kind of message here."))
            self.ask(turn)
            return
        result = await step.accept(turn)
        if isinstance(result, Next):
            await self._advance(turn, flow, step, result.goto)
        elif isinstance(result, Invalid):
            turn.say(result.reason)
            self.ask(turn)
        elif isinstance(result, Finish):
            self.end(turn)

    async def _advance(self, turn: Turn, flow: Flow, step: Step, goto: str | None) -> None:
        target = self._target(turn, flow, step, goto)
        if target is None:
            if flow.on_complete is not None:
                await flow.on_complete(turn)
            turn.flow_events.append(("completed", flow.name, step.id))
            self.end(turn)
            return
        if target != step.id:
            turn.history.append(step.id)
            turn.flow_events.append(("reached", flow.name, target))
        turn.step = target
        self.ask(turn)

    @staticmethod
    def _target(turn: Turn, flow: Flow, step: Step, goto: str | None) -> str | None:
        """The next step that applies: along an edit path from a preview, or onwards."""
        path = turn.draft.get(EDIT_PATH)
        if path is not None:
            while path:
                candidate = flow.step(path.pop(0))
                if candidate is not None and candidate.applies(turn):
                    return candidate.id
            turn.draft.pop(EDIT_PATH, None)
            back: str | None = turn.draft.pop(RETURN_TO, None)
            return back
        target = goto or flow.following(step.id)
        while target is not None:
            candidate = flow.step(target)
            if candidate is None or candidate.applies(turn):
                return target
            target = flow.following(target)
        return None

    def edit_from(self, turn: Turn, steps: list[str], return_to: str) -> None:
        """From a preview, ask ``steps`` again (those that apply), then ``return_to``."""
        turn.history.append(turn.step or return_to)
        turn.draft[RETURN_TO] = return_to
        turn.draft[EDIT_PATH] = list(steps[1:])
        turn.step = steps[0]
        self.ask(turn)

    def _cancel(self, turn: Turn, flow: Flow) -> None:
        turn.flow_events.append(("cancelled", flow.name, turn.step or ""))
        self.end(turn)
        if flow.on_cancel is not None:
            flow.on_cancel(turn)
        else:
            turn.say(_("Cancelled. Nothing was saved."))


def _stale(turn: Turn, choice: str | None) -> bool:
    """A button shown with an earlier question: it carries another version, or (an old
    one without a version) it is not among the buttons on offer. Back, skip and cancel
    without a version always mean the current question."""
    if turn.choice_token is not None and turn.choice_token != turn.draft.get(OFFERED_AT):
        return True
    return choice not in NAV_COMMANDS.values() and choice not in turn.draft.get(OFFERED, [])


def remember_offered(turn: Turn, token: int) -> None:
    """Record the buttons offered in this turn, so older ones are recognised as stale.

    Every button of this turn's replies is stamped with ``token`` (the conversation's
    version once this turn is saved), which the flow then expects back.
    """
    if turn.offered is not None:
        turn.replies = [_stamped(reply, token) for reply in turn.replies]
    if turn.offered is not None and turn.flow is not None:
        turn.draft[OFFERED] = turn.offered
        turn.draft[OFFERED_AT] = token
    elif turn.flow is None:
        turn.draft.pop(OFFERED, None)
        turn.draft.pop(OFFERED_AT, None)


def _stamped(reply: Outgoing, token: int) -> Outgoing:
    if not any(c.url is None for c in reply.choices):
        return reply
    choices = tuple(
        c if c.url is not None else replace(c, id=f"{c.id}{SHOWN_AT_SEP}{token}")
        for c in reply.choices
    )
    return replace(reply, choices=choices)
