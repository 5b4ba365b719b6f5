"""What screening found in a text: flags with character offsets, never the matched text."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class FlagKind(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    LINK = "link"
    DOCUMENT = "document"  # passport / ID / residence-permit numbers
    COORDINATES = "coordinates"
    ADDRESS = "address"
    CRISIS = "crisis"  # self-harm, trafficking, detention, "help me"...
    MINOR = "minor"
    PROFANITY = "profanity"
    SPAM = "spam"
    SCREENING_UNAVAILABLE = "screening_unavailable"


class FlagAction(enum.StrEnum):
    """What a flag does to the item: route to safety, hold for a human, or annotate."""

    SAFETY = "safety"
    HOLD = "hold"
    ANNOTATE = "annotate"


@dataclass(frozen=True, slots=True)
class Flag:
    """One finding. ``start``/``end`` are character offsets into the screened text.

    ``detail`` names the rule or category (e.g. ``"self_harm"``), never the text itself.
    """

    id: str
    kind: FlagKind
    action: FlagAction
    start: int
    end: int
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "action": self.action.value,
            "start": self.start,
            "end": self.end,
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Flag:
        return cls(
            id=str(data["id"]),
            kind=FlagKind(data["kind"]),
            action=FlagAction(data["action"]),
            start=int(data["start"]),
            end=int(data["end"]),
            detail=str(data.get("detail", "")),
        )


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    flags: tuple[Flag, ...] = ()

    @property
    def needs_safety_review(self) -> bool:
        return any(f.action is FlagAction.SAFETY for f in self.flags)

    @property
    def held(self) -> bool:
        return any(f.action is FlagAction.HOLD for f in self.flags)

    @property
    def crisis(self) -> bool:
        return any(f.kind is FlagKind.CRISIS for f in self.flags)
