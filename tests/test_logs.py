"""The process's logging set-up (``together-bot``): no library prints a payload."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "zq-body-5c1e"

SCRIPT = f"""
import logging
from bot.logs import PAYLOAD_LOGGERS, configure_logging
configure_logging("DEBUG")
logging.getLogger("bot.handlers.story").debug("our own debug line")
for name in PAYLOAD_LOGGERS:
    # what each library would print, even with the library turned up by hand
    for logger in (logging.getLogger(name), logging.getLogger(name + ".sub")):
        logger.setLevel(logging.DEBUG)
        logger.debug("payload %s", "{MARKER}")
        logger.info("payload %s", "{MARKER}")
logging.getLogger("telegram.ext.Updater").warning("a warning stays")
"""


def test_debug_level_never_prints_a_library_payload() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "our own debug line" in done.stderr
    assert "a warning stays" in done.stderr
    assert MARKER not in done.stderr
