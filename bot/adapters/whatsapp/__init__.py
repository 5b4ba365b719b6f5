"""The WhatsApp adapter (the Cloud API, through pywa's async client)."""

from bot.adapters.whatsapp.adapter import WhatsAppAdapter
from bot.adapters.whatsapp.wiring import build_whatsapp

__all__ = ["WhatsAppAdapter", "build_whatsapp"]
