"""The Slack platform (slack-bolt's AsyncApp): DMs, /pledge and /story, the App Home tab,
the story modal, and the moderators' channel."""

from bot.adapters.slack.adapter import SlackAdapter
from bot.adapters.slack.sender import SlackSender
from bot.adapters.slack.wiring import build_slack

__all__ = ["SlackAdapter", "SlackSender", "build_slack"]
