"""Telegram: python-telegram-bot 22 behind the neutral core events.

``parsing`` turns updates into ``Inbound`` events, ``rendering`` turns ``Outgoing``
messages into Bot API calls, ``sender`` delivers them within Telegram's limits,
``webhook`` is the production endpoint and ``adapter`` runs it all.
"""

from bot.adapters.telegram.adapter import TelegramAdapter, command_menus
from bot.adapters.telegram.parsing import PLATFORM
from bot.adapters.telegram.sender import TelegramSender

__all__ = ["PLATFORM", "TelegramAdapter", "TelegramSender", "command_menus"]
