"""Building the WhatsApp adapter for the composition root (``bot/app.py``)."""

from __future__ import annotations

import asyncio

from bot.adapters.whatsapp.adapter import WhatsAppAdapter
from bot.adapters.whatsapp.media import WhatsAppFetcher
from bot.adapters.whatsapp.window import Window
from bot.config import Settings
from bot.core.media import MediaIntake
from bot.core.service import Core
from bot.i18n.translator import Translator
from storage.db import Database
from storage.media import MediaStore


def build_whatsapp(
    settings: Settings,
    core: Core,
    translator: Translator,
    *,
    intake: MediaIntake | None = None,
    media: MediaStore | None = None,
    db: Database | None = None,
    wakeup: asyncio.Event | None = None,
) -> WhatsAppAdapter | None:
    """The adapter, its files fetched into the media store, its people's 24-hour
    windows kept in ``db`` (``wakeup``: the outbox's); None unless enabled."""
    if not settings.whatsapp_enabled:
        return None
    adapter = WhatsAppAdapter(settings, core, translator)
    adapter.sender.media = media
    if db is not None:
        adapter.sender.window = Window(db, wakeup=wakeup)
    if intake is not None:
        fetcher = WhatsAppFetcher(adapter.client, adapter.http, settings.whatsapp_api_url)
        intake.add_fetcher(adapter.sender.platform, fetcher)
    return adapter
