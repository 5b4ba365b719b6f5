"""Building the Slack adapter for the composition root (``bot/app.py``)."""

from __future__ import annotations

import logging
import re

from bot.adapters.slack.adapter import SlackAdapter
from bot.adapters.slack.moderation import SlackModerationChannel
from bot.core.deps import Deps
from bot.core.service import Core
from bot.review.service import ReviewService
from bot.review.thanks import ThanksDesk

log = logging.getLogger(__name__)
# Button clicks name the channel by id: a "#name" here would never match them.
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


def build_slack(
    deps: Deps, core: Core, review: ReviewService, thanks: ThanksDesk
) -> SlackAdapter | None:
    """The adapter, with the moderators' channel when configured; None without a bot token.

    Raises:
        ValueError: HTTP mode (no ``SLACK_APP_TOKEN``) without ``SLACK_SIGNING_SECRET``.
    """
    settings = deps.settings
    if settings.slack_bot_token is None:
        return None
    adapter = SlackAdapter(settings, core, deps)
    channels = {
        "SLACK_MODERATION_CHANNEL": settings.slack_moderation_channel,
        "SLACK_SAFETY_CHANNEL": settings.slack_safety_channel,
    }
    for name, channel in channels.items():
        if channel and not CHANNEL_ID.match(channel):
            log.warning("%s should be a channel id (C…), not a name", name)
    if any(channels.values()):
        adapter.moderation = SlackModerationChannel(
            deps,
            review,
            thanks,
            adapter.client,
            adapter.sender,
            settings.slack_moderation_channel,
            settings.slack_safety_channel,
        )
    return adapter
