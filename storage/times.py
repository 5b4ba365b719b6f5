"""Stored times, read back the same on every database."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; make a stored time aware."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
