"""Building the Telegram adapter for the composition root (``bot/app.py``)."""

from __future__ import annotations

from bot.adapters.telegram.adapter import TelegramAdapter, command_menus
from bot.config import Settings
from bot.core.service import Core
from bot.handlers.menu import command_descriptions
from bot.i18n.translator import Translator


def build_telegram(
    settings: Settings, core: Core, translator: Translator
) -> TelegramAdapter | None:
    """The adapter with the localised command menus, or None without a bot token."""
    if settings.telegram_bot_token is None:
        return None
    return TelegramAdapter(
        settings, core, command_menus=command_menus(translator, command_descriptions)
    )
