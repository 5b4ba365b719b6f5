"""The bot's side of moderation: one facade every moderator surface calls.

Telegram group cards, Slack cards and the web dashboard all claim and decide through
:class:`~bot.review.service.ReviewService`, which runs the ``moderation`` package's
guarded decisions and then refreshes every card of the item, on every surface.
"""
