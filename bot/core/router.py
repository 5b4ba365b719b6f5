"""Routing of one event: a command, a global choice (menu, language...), or the flow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.core.dialog import NAV_COMMANDS, DialogEngine
from bot.core.events import InboundKind
from bot.core.turn import Turn

Handler = Callable[[Turn], Awaitable[None]]
ChoiceHandler = Callable[[Turn, str], Awaitable[None]]


class Router:
    """A form to its handler; commands first, then global choices by prefix, then the
    active flow, then fallback.

    Args:
        engine: the dialog engine that owns the flows.
        fallback: what to do with anything else (show the menu).
        stale: what to say for a button that no longer means anything.
    """

    def __init__(self, engine: DialogEngine, *, fallback: Handler, stale: Handler) -> None:
        self.engine = engine
        self._commands: dict[str, Handler] = {}
        self._choices: dict[str, ChoiceHandler] = {}
        self._fallback = fallback
        self._stale = stale
        self._form: Handler | None = None

    def command(self, name: str, handler: Handler) -> None:
        self._commands[name] = handler

    def choice(self, prefix: str, handler: ChoiceHandler) -> None:
        """Choices whose id is ``<prefix>:<value>`` go to ``handler(turn, value)``."""
        self._choices[prefix] = handler

    def form(self, handler: Handler) -> None:
        """Where a submitted form goes (an ``InboundKind.FORM``, never a typed command)."""
        self._form = handler

    @property
    def commands(self) -> tuple[str, ...]:
        return tuple(self._commands)

    async def route(self, turn: Turn) -> None:
        inbound = turn.inbound
        if inbound.kind is InboundKind.FORM:
            await (self._form or self._fallback)(turn)
            return
        if inbound.kind is InboundKind.COMMAND and inbound.command is not None:
            name = inbound.command.lower()
            if name in NAV_COMMANDS and self.engine.active(turn) is not None:
                await self.engine.handle(turn)
            elif name in self._commands:
                await self._commands[name](turn)
            else:
                await self._fallback(turn)
            return
        if inbound.kind is InboundKind.CHOICE and inbound.choice:
            prefix, _sep, value = inbound.choice.partition(":")
            if prefix in self._choices:
                await self._choices[prefix](turn, value)
                return
            if self.engine.active(turn) is None:
                await self._stale(turn)
                return
        if self.engine.active(turn) is not None:
            await self.engine.handle(turn)
            return
        await self._fallback(turn)
