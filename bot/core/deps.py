"""The dependencies handlers use, built once by the composition root (bot/app.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from bot.config import Settings
from bot.i18n.translator import Translator
from moderation.screening_api import Screening
from storage.db import Database
from storage.identity import IdentityHasher
from storage.media import MediaStore
from storage.rarely import RarelyChanging


@dataclass(frozen=True, eq=False)
class Deps:
    settings: Settings
    db: Database
    translator: Translator
    hasher: IdentityHasher
    screener: Screening
    media_dir: Path
    # Set when outbox rows are added, so the dispatcher wakes at once instead of polling.
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when a pledge reached a milestone, so the scheduler announces it at once.
    milestone_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # Rows read on many turns that rarely change (a campaign's texts), kept a short while.
    rarely: RarelyChanging = field(default_factory=RarelyChanging)

    @cached_property
    def media(self) -> MediaStore:
        """The media store: the only way to write, read or delete a media file."""
        return MediaStore(self.media_dir, max_bytes=self.settings.media_max_bytes)
