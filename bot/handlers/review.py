"""What the handlers ask of the moderators' side, given to them by the composition root.

The review facade (:class:`bot.review.service.ReviewService`) is built once in
``bot/app.py``; a handler needs only these two calls of it.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class Review(Protocol):
    async def announce(self, session: AsyncSession, item_id: int) -> None:
        """Queue the cards of a new item for the moderators, in the caller's transaction."""
        ...

    async def story_changed(self, session: AsyncSession, story_id: int) -> None:
        """After the storyteller's own action (revise, withdraw, appeal, erase): refresh
        the story's cards, and take its posts down if it left publication."""
        ...
