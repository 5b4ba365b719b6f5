"""Who acts on the queue: moderators (from the roster), storytellers, the system."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from moderation.errors import NotAllowed, Refusal
from moderation.states import MODERATOR_ROLES, Role


@dataclass(frozen=True, slots=True)
class Moderator:
    """A member of the moderation team.

    Args:
        id: stable id written to leases and the audit log (at most 54 characters, so
            that ``"moderator:<id>"`` fits a revision's author).
        role: moderator, safety_moderator or lead.
        identity_keys: the moderator's own participant identity keys (see
            ``storage.identity``): stories from these identities are not theirs to moderate.
    """

    id: str
    role: Role
    identity_keys: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.role not in MODERATOR_ROLES:
            raise ValueError(f"not a moderator role: {self.role}")
        if not self.id or len(self.id) > 54:
            raise ValueError("a moderator id has 1 to 54 characters")

    @property
    def actor(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class Storyteller:
    """The person who submitted the story, by participant id."""

    participant_id: int
    role: Role = field(default=Role.STORYTELLER, init=False)

    @property
    def actor(self) -> str:
        return f"participant:{self.participant_id}"


@dataclass(frozen=True, slots=True)
class System:
    """Screening, the publishing worker, retention."""

    role: Role = field(default=Role.SYSTEM, init=False)

    @property
    def actor(self) -> str:
        return "system"


SYSTEM = System()

Actor = Moderator | Storyteller | System


class Roster:
    """The moderation team, looked up by platform account (``"telegram:123"``).

    Built by the composition root from settings; surfaces resolve the clicking user here
    and never trust a role carried in a payload.
    """

    __slots__ = ("_accounts",)

    def __init__(self, accounts: Mapping[str, Moderator]) -> None:
        self._accounts = dict(accounts)

    def resolve(self, platform: str, external_id: str) -> Moderator:
        """The moderator behind an account, or :class:`NotAllowed` (unknown moderator)."""
        moderator = self._accounts.get(f"{platform}:{external_id}")
        if moderator is None:
            raise NotAllowed(Refusal.UNKNOWN_MODERATOR)
        return moderator
