"""Stored times, read back the same on every database."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; make a stored time aware."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """:func:`aware`, for a time that may not be set."""
    return None if moment is None else aware(moment)
