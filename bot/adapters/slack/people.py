"""Who a Slack user is to the bot: their direct-message channel and their language.

``users.info`` (with ``include_locale``) gives the Slack locale, which sets the person's
language until they choose one; ``conversations.open`` gives the DM channel where every
conversation happens (a slash command or a Home tab button may come from anywhere, but
the answers, and later notifications, always go to the DM). Both are cached for a while.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.normalise import normalise_optional
from bot.adapters.slack.parsing import PLATFORM, Person
from bot.i18n.translator import Translator
from storage.db import Database
from storage.participants import chosen_locale

log = logging.getLogger(__name__)
PROFILE_TTL = 3600.0
CACHE_MAX = 10_000
LOCALE_MAX = 64  # the participant's columns
NAME_MAX = 128
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Profile:
    locale: str | None
    name: str | None
    at: float


class People:
    """Looks people up on Slack, with a small cache.

    Args:
        client: the Web API client.
        db: to read a person's chosen language.
        translator: negotiates a Slack locale against the catalogs.
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        client: AsyncWebClient,
        db: Database,
        translator: Translator,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.db = db
        self.translator = translator
        self._clock = clock
        self._profiles: dict[str, _Profile] = {}
        self._channels: dict[str, str] = {}

    async def person(self, user_id: str, dm_channel: str | None = None) -> Person:
        """The person, with their DM channel (opened when not known)."""
        profile = await self._profile(user_id)
        channel = dm_channel or await self.dm_channel(user_id)
        if dm_channel:
            self._remember(self._channels, user_id, dm_channel)
        return Person(user_id, channel, profile.locale, profile.name)

    async def dm_channel(self, user_id: str) -> str:
        """The id of the direct-message channel with ``user_id`` (``conversations.open``)."""
        if user_id in self._channels:
            return self._channels[user_id]
        response = await self.client.conversations_open(users=user_id)
        channel = response.get("channel")
        channel_id = str(channel.get("id", "")) if isinstance(channel, dict) else ""
        if not channel_id:
            raise ValueError("conversations.open answered without a channel")
        self._remember(self._channels, user_id, channel_id)
        return channel_id

    async def locale(self, user_id: str) -> str:
        """The person's language: their own choice, else their Slack locale, else the default."""
        chosen = await chosen_locale(self.db, PLATFORM, user_id)
        if chosen:
            return chosen
        return self.translator.negotiate((await self._profile(user_id)).locale)

    def cached_locale(self, user_id: str) -> str:
        """The Slack locale seen last for ``user_id`` (no lookup: for an answer in time)."""
        profile = self._profiles.get(user_id)
        return self.translator.negotiate(profile.locale if profile else None)

    async def _profile(self, user_id: str) -> _Profile:
        now = self._clock()
        cached = self._profiles.get(user_id)
        if cached is not None and now - cached.at < PROFILE_TTL:
            return cached
        try:
            response = await self.client.users_info(user=user_id, include_locale=True)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            # Not worth failing the event for: the person keeps the language known so far.
            log.warning("slack users.info failed", extra={"error": type(exc).__name__})
            return cached or _Profile(None, None, now)
        user = _mapping(response.get("user"))
        name = _mapping(user.get("profile")).get("real_name") or user.get("real_name")
        fresh = _Profile(_text(user.get("locale"), LOCALE_MAX), _text(name, NAME_MAX), now)
        self._remember(self._profiles, user_id, fresh)
        return fresh

    @staticmethod
    def _remember(cache: dict[str, V], key: str, value: V) -> None:
        if len(cache) >= CACHE_MAX and key not in cache:
            cache.pop(next(iter(cache)))
        cache[key] = value


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object, limit: int) -> str | None:
    """A profile field as the participant's column takes it (normalised, cut), or None."""
    text = normalise_optional(value)
    return text[:limit] if text else None
