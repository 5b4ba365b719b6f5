"""An in-memory platform: talk to the whole bot in chat terms (tests, the REPL).

chat = MemoryChat(core, user_id="amina")
await chat.send("/start")
await chat.tap("Share your story")
assert "Before you start" in chat.text
"""

from __future__ import annotations

import itertools
from collections import defaultdict

from bot.core.events import Inbound, InboundKind, MediaKind, MediaRef, Outgoing
from bot.core.service import BotCore

PLATFORM = "memory"


class MemorySender:
    """Records what the outbox delivers, per chat."""

    platform = PLATFORM

    def __init__(self) -> None:
        self.sent: dict[str, list[Outgoing]] = defaultdict(list)

    async def send(self, chat_id: str, message: Outgoing) -> str | None:
        self.sent[chat_id].append(message)
        return str(len(self.sent[chat_id]))


class MemoryChat:
    """One person's private chat with the bot."""

    _keys = itertools.count(1)

    def __init__(
        self,
        core: BotCore,
        *,
        user_id: str = "user-1",
        locale_hint: str | None = None,
        display_name: str | None = None,
    ) -> None:
        self.core = core
        self.user_id = user_id
        self.locale_hint = locale_hint
        self.display_name = display_name
        self.last: list[Outgoing] = []
        self.transcript: list[Outgoing] = []

    def _inbound(self, kind: InboundKind, key: str | None = None, **fields: object) -> Inbound:
        return Inbound(
            platform=PLATFORM,
            user_id=self.user_id,
            chat_id=self.user_id,
            key=key or f"m{next(self._keys)}",
            kind=kind,
            locale_hint=self.locale_hint,
            display_name=self.display_name,
            **fields,  # type: ignore[arg-type]
        )

    async def deliver(self, inbound: Inbound) -> list[Outgoing]:
        self.last = await self.core.handle(inbound)
        self.transcript.extend(self.last)
        return self.last

    async def send(
        self, text: str, *, key: str | None = None, message_id: str | None = None
    ) -> list[Outgoing]:
        """Send text; ``/name args`` is a command."""
        if text.startswith("/"):
            command, _sep, args = text[1:].partition(" ")
            return await self.deliver(
                self._inbound(InboundKind.COMMAND, key, command=command, args=args, text=text)
            )
        return await self.deliver(
            self._inbound(InboundKind.TEXT, key, text=text, message_id=message_id)
        )

    async def edit(self, message_id: str, text: str) -> list[Outgoing]:
        return await self.deliver(self._inbound(InboundKind.EDIT, text=text, edit_of=message_id))

    async def press(self, choice_id: str, *, key: str | None = None) -> list[Outgoing]:
        return await self.deliver(self._inbound(InboundKind.CHOICE, key, choice=choice_id))

    async def tap(self, label: str) -> list[Outgoing]:
        """Press the button of the latest replies whose label contains ``label``."""
        for message in reversed(self.last):
            for choice in message.choices:
                if label.casefold() in choice.label.casefold() and choice.url is None:
                    return await self.press(choice.id)
        raise AssertionError(f"no button {label!r} in {self.labels}")

    async def attach(
        self,
        kind: MediaKind,
        ref: str,
        *,
        size: int = 1000,
        duration: int | None = None,
        caption: str | None = None,
    ) -> list[Outgoing]:
        media = (MediaRef(kind=kind, ref=ref, size=size, duration=duration),)
        return await self.deliver(self._inbound(InboundKind.MEDIA, media=media, caption=caption))

    async def unsupported(self) -> list[Outgoing]:
        return await self.deliver(self._inbound(InboundKind.UNSUPPORTED))

    @property
    def text(self) -> str:
        """All text of the latest replies."""
        return "\n".join(m.text for m in self.last)

    @property
    def labels(self) -> list[str]:
        return [c.label for m in self.last for c in m.choices]

    @property
    def choice_ids(self) -> list[str]:
        return [c.id for m in self.last for c in m.choices]
