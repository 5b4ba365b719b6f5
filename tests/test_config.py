"""Settings refuse values that cannot work, with a message naming the setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_drafts_expire_after_at_least_a_day() -> None:
    with pytest.raises(ValidationError, match="draft_expiry_days"):
        settings(draft_expiry_days=0, draft_reminder_hours=1)
    assert settings(draft_expiry_days=1, draft_reminder_hours=12).draft_expiry_days == 1


def test_drafts_expire_only_after_their_reminder() -> None:
    with pytest.raises(ValidationError, match="must be longer than DRAFT_REMINDER_HOURS"):
        settings(draft_expiry_days=1)  # the reminder comes after 24 hours
    with pytest.raises(ValidationError, match=r"DRAFT_EXPIRY_DAYS \(30\)"):
        settings(draft_reminder_hours=30 * 24)  # the default expiry is checked too
    assert settings(draft_expiry_days=2).draft_expiry_days == 2
