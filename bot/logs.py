"""Logging: ids only, never a body, at every level.

The bot's own log lines name what happened and carry ids in ``extra``; none holds a
message body, a story or a name. Libraries are another matter: below WARNING several of
them print what they send and receive. Those loggers are held at WARNING whatever
``LOG_LEVEL`` says, and the handlers set up here drop their records below WARNING even
when someone turns a library up by hand. (The loggers that print stored values, such as
aiosqlite's SQL parameters or a photo's EXIF, are also silenced at their source by
:mod:`storage.logguard`, for every program.)
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Library loggers (and everything under them) and what they would print below WARNING.
PAYLOAD_LOGGERS: dict[str, str] = {
    "aiosqlite": "every SQL call with its parameters: story text, names (DEBUG)",
    "sqlalchemy": "SQL statements, with parameters when echo is on (INFO)",
    "asyncpg": "connection and query details (DEBUG)",
    "httpx": "request URLs, which carry the Telegram bot token (INFO)",
    "httpcore": "request and response events (DEBUG)",
    "telegram": "Bot API calls with their parameters and answers: message text (DEBUG)",
    "slack_sdk": "Web API request bodies and answers (DEBUG)",
    "slack_bolt": "the body of every answer to Slack (DEBUG)",
    "pywa": "Graph calls with their JSON, the recipient's phone number in it (DEBUG)",
    "pywa_async": "the same, for the async client (DEBUG)",
    "aiohttp": "client and server request details (DEBUG)",
    "PIL": "image metadata values while reading a photo: author, GPS (DEBUG)",
    "python_multipart": "names of uploaded files (INFO)",
    "multipart": "names of uploaded files (INFO)",
    "apscheduler": "every job run (INFO)",
    "uvicorn.access": "request paths, which carry export and sign-in tokens (INFO)",
    "uvicorn.asgi": "every ASGI message, request bodies included (TRACE)",
}


class LibraryPayloadFilter(logging.Filter):
    """Drops records below WARNING from the :data:`PAYLOAD_LOGGERS` namespaces."""

    def __init__(self, names: tuple[str, ...] = tuple(PAYLOAD_LOGGERS)) -> None:
        super().__init__()
        self._names = names
        self._prefixes = tuple(f"{name}." for name in names)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        name = record.name
        return name not in self._names and not name.startswith(self._prefixes)


def quiet_libraries() -> None:
    """Hold every payload-printing library logger at WARNING."""
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str) -> None:
    """The process's logging: ``level`` for the bot, WARNING for chatty libraries.

    Args:
        level: a level name (``DEBUG``, ``INFO``...), from ``LOG_LEVEL``.
    """
    logging.basicConfig(level=level.upper(), format=FORMAT, stream=sys.stderr)
    quiet_libraries()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, LibraryPayloadFilter) for f in handler.filters):
            handler.addFilter(LibraryPayloadFilter())
