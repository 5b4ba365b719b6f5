"""Telegram: python-telegram-bot 22 behind the neutral core events.

``parsing`` turns updates into ``Inbound`` events, ``rendering`` turns ``Outgoing``
messages into Bot API calls, ``sender`` delivers them within Telegram's limits,
``webhook`` is the production endpoint, ``adapter`` runs it all and ``wiring`` builds
it for the composition root.
"""

from bot.adapters.telegram.adapter import TelegramAdapter, command_menus
from bot.adapters.telegram.parsing import PLATFORM
from bot.adapters.telegram.sender import TelegramSender

__all__ = ["PLATFORM", "TelegramAdapter", "TelegramSender", "command_menus"]
