"""What screening offers its callers: the protocol intake and the bot depend on.

The detectors live in :mod:`moderation.screening`; only the composition root builds them.
"""

from __future__ import annotations

from typing import Protocol

from moderation.flags import ScreeningResult


class Screening(Protocol):
    """Screens a story's text, as :class:`moderation.screening.Screener` does."""

    async def screen(
        self,
        text: str,
        *,
        locale: str,
        is_adult: bool = True,
        region_hint: str | None = None,
    ) -> ScreeningResult:
        """Screen ``text``; the flags' offsets index into it.

        Args:
            text: the text to screen, exactly as it will be shown to moderators.
            locale: the story's locale.
            is_adult: whether the storyteller said they are 18 or older.
            region_hint: the ISO 3166 region the storyteller lives in, if known.

        Returns:
            The flags. A detector that fails gives a ``screening_unavailable`` HOLD flag
            rather than an exception, so a story is never published unscreened.
        """
        ...
