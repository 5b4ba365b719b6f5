"""Library loggers that would print stored values, silenced at their source.

Below a level, these loggers print what the bot keeps about people, whatever
SQLAlchemy's ``hide_parameters`` or ``LOG_LEVEL`` say. A filter on each of them drops
those records for every program that imports :mod:`storage` (the bot, its CLI, tests),
even when someone turns the logger up by hand. The bot's own log set-up
(:mod:`bot.logs`) also holds the chatty network libraries at WARNING.
"""

from __future__ import annotations

import logging

# Logger name -> the lowest level it may print at, and what it prints below it.
VALUE_LOGGERS: dict[str, int] = {
    # every SQL call it runs, with its parameters: story text, names (DEBUG)
    "aiosqlite": logging.WARNING,
    # every result row (DEBUG); its statements (INFO, with echo) hold no values
    "sqlalchemy.engine.Engine": logging.INFO,
    # the photo's EXIF values while reading or writing it: author, GPS, camera (DEBUG)
    "PIL.TiffImagePlugin": logging.WARNING,
    # PNG chunk and colour-profile names (DEBUG)
    "PIL.PngImagePlugin": logging.WARNING,
    "PIL.ImageFile": logging.WARNING,
    # names of uploaded files (INFO)
    "python_multipart.multipart": logging.WARNING,
}


class LogFloor(logging.Filter):
    """Drops a logger's records below ``level``, whatever level the logger is set to."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


def guard_value_logs() -> None:
    """Put a :class:`LogFloor` on every logger of :data:`VALUE_LOGGERS` (once)."""
    for name, level in VALUE_LOGGERS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, LogFloor) for f in logger.filters):
            logger.addFilter(LogFloor(level))
