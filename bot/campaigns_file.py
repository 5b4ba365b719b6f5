"""The campaigns file (``CAMPAIGNS_FILE``, TOML): partner campaigns as data, read and
checked when the bot is built and applied when it starts (or by
``together-bot campaigns load``).

One table per campaign, named by its id::

    [campaigns.lyon-city-hall]
    name = "Lyon City Hall"        # or a table per language: { en = "...", fr = "..." }
    active = true                  # default true; false disables it
    starts = 2027-06-01            # a TOML date or date-time, or an ISO 8601 string
    ends = 2027-06-30              # a date alone: open through that day (UTC)
    milestones = [1000, 10000]     # positive, increasing
    [campaigns.lyon-city-hall.pledge_text]
    en = "Lyon stands with refugees."
    fr = "Lyon est aux côtés des réfugiés."

Every problem is found, not only the first, each as ``file:campaign:field: reason``;
any problem refuses the whole file (nothing of it is applied).
"""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Callable
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from bot.campaigns import ends, language, starts
from storage.campaigns import (
    CampaignError,
    CampaignSpec,
    check_dates,
    check_id,
    check_milestone,
    check_name,
    check_pledge_text,
)

FIELDS = ("name", "pledge_text", "milestones", "starts", "ends", "active")


class CampaignsFileError(ValueError):
    """A campaigns file that cannot be used; ``errors`` holds every problem found, one
    ``file:campaign:field: reason`` each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def load_campaigns(
    path: Path, *, default_locale: str, default_campaign: str
) -> tuple[CampaignSpec, ...]:
    """The campaigns of the file at ``path``, checked.

    Args:
        default_locale: the language of a ``name`` given as plain text.
        default_campaign: the id of the default campaign, which cannot be disabled.

    Raises:
        CampaignsFileError: the file cannot be read, is not TOML, or any campaign in it
            is wrong (every problem listed).
    """
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except OSError as exc:
        raise CampaignsFileError([f"{path}: cannot be read ({exc.strerror or exc})"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise CampaignsFileError([f"{path}: not a TOML file ({exc})"]) from exc
    unknown = sorted(set(document) - {"campaigns"})
    if unknown:
        raise CampaignsFileError([f"{path}: {unknown[0]}: unknown table (only [campaigns.<id>])"])
    campaigns = document.get("campaigns", {})
    if not isinstance(campaigns, dict) or not campaigns:
        raise CampaignsFileError([f"{path}: no campaign: expected [campaigns.<id>] tables"])
    errors: list[str] = []
    specs = []
    for campaign_id, raw in campaigns.items():
        reader = _Campaign(f"{path}:{campaign_id}", errors)
        spec = reader.read(campaign_id, raw, default_locale, default_campaign)
        if spec is not None:
            specs.append(spec)
    if errors:
        raise CampaignsFileError(errors)
    return tuple(specs)


class _Campaign:
    """Reads one campaign's table, each problem added to ``errors``."""

    def __init__(self, where: str, errors: list[str]) -> None:
        self.where = where
        self.errors = errors
        self.failed = False

    def fail(self, field: str, reason: str) -> None:
        self.errors.append(f"{self.where}:{field}: {reason}")
        self.failed = True

    def read(
        self, campaign_id: str, raw: Any, default_locale: str, default_campaign: str
    ) -> CampaignSpec | None:
        try:
            check_id(campaign_id)
        except CampaignError as exc:
            self.fail("id", str(exc))
        if not isinstance(raw, dict):
            self.fail("id", "expected a table: [campaigns.<id>]")
            return None
        for field in sorted(set(raw) - set(FIELDS)):
            self.fail(field, f"unknown field (one of {', '.join(FIELDS)})")
        title = self.title(raw.get("name"), default_locale)
        texts = self.texts(raw.get("pledge_text"))
        milestones = self.milestones(raw.get("milestones", []))
        starts_at = self.moment("starts", raw.get("starts"), end=False)
        ends_at = self.moment("ends", raw.get("ends"), end=True)
        try:
            check_dates(starts_at, ends_at)
        except CampaignError as exc:
            self.fail("ends", str(exc))
        active = raw.get("active", True)
        if not isinstance(active, bool):
            self.fail("active", "true or false")
        elif not active and campaign_id == default_campaign:
            self.fail(
                "active",
                f"{campaign_id} is the default campaign (DEFAULT_CAMPAIGN): it cannot be "
                "disabled, every other link falls back to it",
            )
        if self.failed:
            return None
        assert title is not None and milestones is not None  # not failed: read
        return CampaignSpec(
            id=campaign_id,
            title=title,
            pledge_text=texts,
            milestones=milestones,
            starts_at=starts_at,
            ends_at=ends_at,
            active=bool(active),
        )

    def title(self, raw: Any, default_locale: str) -> dict[str, str] | None:
        if raw is None:
            self.fail("name", "missing (the campaign's name, on its badge)")
            return None
        if isinstance(raw, str):
            raw = {default_locale: raw}
        names = self.by_language("name", raw, check_name)
        if names is not None and not names:
            self.fail("name", "missing (the campaign's name, on its badge)")
        return names

    def texts(self, raw: Any) -> dict[str, str] | None:
        if raw is None:
            return None  # the TOGETHER pledge
        return self.by_language("pledge_text", raw, check_pledge_text) or None

    def by_language(
        self, field: str, raw: Any, check: Callable[[str], str]
    ) -> dict[str, str] | None:
        """``{LANG = "text"}`` checked: each language the bot's, each text by ``check``."""
        if not isinstance(raw, dict):
            self.fail(field, 'expected a table of languages, e.g. { en = "…", fr = "…" }')
            return None
        checked: dict[str, str] = {}
        for lang, text in raw.items():
            if not isinstance(text, str):
                self.fail(f"{field}.{lang}", "expected text")
                continue
            try:
                locale = language(lang)
                if locale in checked:
                    raise ValueError(f"{locale} given twice")
                checked[locale] = check(text)
            except ValueError as exc:  # CampaignError included
                self.fail(f"{field}.{lang}", str(exc))
        return checked

    def milestones(self, raw: Any) -> tuple[int, ...] | None:
        if not isinstance(raw, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in raw
        ):
            self.fail("milestones", "expected a list of pledge counts, e.g. [1000, 10000]")
            return None
        try:
            for threshold in raw:
                check_milestone(threshold)
        except CampaignError as exc:
            self.fail("milestones", str(exc))
            return None
        if any(later <= earlier for earlier, later in pairwise(raw)):
            self.fail("milestones", f"not increasing: {raw}")
            return None
        return tuple(raw)

    def moment(self, field: str, raw: Any, *, end: bool) -> datetime | None:
        if raw is None:
            return None
        if isinstance(raw, date):  # a TOML date or date-time (datetime is a date)
            raw = raw.isoformat()
        if not isinstance(raw, str):
            self.fail(field, "a date (2027-06-01) or date-time (2027-06-01T08:00:00+02:00)")
            return None
        try:
            return ends(raw) if end else starts(raw)
        except argparse.ArgumentTypeError as exc:
            self.fail(field, str(exc))
            return None
