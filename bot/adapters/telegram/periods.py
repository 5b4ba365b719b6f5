"""Time periods from python-telegram-bot 22, whichever type it hands out.

PTB 22.2+ returns ``duration`` and ``retry_after`` as ``int`` with a deprecation warning,
or as ``timedelta`` when ``PTB_TIMEDELTA`` is set; later majors return ``timedelta``
only. Reading them through here works for both and keeps the logs free of the warning.
"""

from __future__ import annotations

import datetime as dtm
import warnings

from telegram.warnings import PTBDeprecationWarning


def seconds(obj: object, attribute: str) -> float | None:
    """``obj.<attribute>`` in seconds, or None when unset."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = getattr(obj, attribute, None)
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    return None


def whole_seconds(obj: object, attribute: str) -> int | None:
    value = seconds(obj, attribute)
    return None if value is None else int(value)
