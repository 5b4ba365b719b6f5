"""Settings, from the environment and an optional ``.env`` file.

Every setting is listed in the README and in ``.env.example``. Secrets are ``SecretStr``
so they never appear in logs or reprs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


class Settings(BaseSettings):
    """All configuration of one running bot."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        # A refused setting's error would otherwise print every input, tokens included.
        hide_input_in_errors=True,
    )

    # Web server (web chat, webhooks, dashboard, feeds, health)
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = Field(
        default="",
        description="Public base URL of the web server, for share links (default: http://HOST:PORT)",
    )
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    log_level: str = "INFO"
    # /metrics asks for "Authorization: Bearer <this>"; unset, it answers loopback only.
    metrics_token: SecretStr | None = None

    # Secrets of this deployment. When unset, a random one is generated once and kept in
    # DATA_DIR/secrets.json (file mode 0600), so a fresh machine needs no set-up.
    identity_secret: SecretStr | None = None
    session_secret: SecretStr | None = None

    default_locale: str = "en"
    consent_version: str = "2026-11"
    default_campaign: str = "together"
    web_chat_enabled: bool = True
    # The facts /facts answers with (a JSON file; format in the README, section Facts).
    facts_file: Path | None = Field(
        default=None, description="The facts data file (default: the packaged bot/facts/facts.json)"
    )
    # Partner campaigns as data (TOML; format in the README, section Partner campaigns):
    # checked when the bot is built, created or brought to the file's values at start.
    campaigns_file: Path | None = None

    # Telegram
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_url: str = ""
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_bot_username: str = ""
    telegram_moderation_chat_id: str = ""
    # Where the cards of stories in safety review go (crisis language, a minor): only
    # safety moderators and leads belong there. Unset: a placeholder card in the group.
    telegram_safety_chat_id: str = ""
    telegram_public_channel_id: str = ""

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_moderation_channel: str = ""
    slack_safety_channel: str = ""  # like TELEGRAM_SAFETY_CHAT_ID, a channel id (C…)

    # WhatsApp (the Cloud API): enabled when the token and the phone number id are set;
    # then the webhook's verify token and the app secret are required.
    whatsapp_token: SecretStr | None = None
    whatsapp_phone_id: str = ""
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_api_url: str = "https://graph.facebook.com"
    # The bot's public number in international format without "+" (447700900123), for
    # share links (https://wa.me/<number>?text=pledge); optional: without it a WhatsApp
    # user's share links open the web chat.
    whatsapp_phone_number: str = Field(default="", pattern=r"^([1-9][0-9]{6,14})?$")

    # Limits of a story
    story_max_chars: int = 6000
    story_max_media: int = 6
    media_max_bytes: int = 20 * 1024 * 1024

    # The moderation team from configuration, beside the one managed with
    # `together-bot moderators`. JSON: {"<id>": {"role": "moderator|safety_moderator|lead",
    # "accounts": ["telegram:<user id>", "slack:<user id>"]}}
    moderators: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # The language of moderator-facing text (cards, dashboard answers).
    moderation_locale: str = "en"

    # Helplines shown at once to a storyteller whose story shows crisis language, by ISO
    # country code; "*" is shown to everyone. JSON, e.g. {"JP": "...", "*": "..."}.
    helplines: dict[str, str] = Field(
        default_factory=lambda: {
            "*": "UNHCR Help: https://help.unhcr.org — IOM: https://www.iom.int/contact-us",
        }
    )

    # Scheduled work
    draft_reminder_hours: int = 24
    # A story draft untouched this long is erased (its person told once beforehand).
    draft_expiry_days: int = Field(default=30, ge=1, validate_default=True)
    # Retention (README, Privacy): how long each kind of record is kept.
    # The text, title, message and files of a rejected or withdrawn story (the story's
    # row, its counts and its audit events stay).
    retention_story_days: int = Field(default=30, ge=1)
    # The keys of processed inbound updates (dedupe of a platform's redelivery).
    retention_processed_event_days: int = Field(default=14, ge=1)
    # Sent outbox rows. At least 4 days: a draft-expiry notice's row is the record that
    # it was sent until the draft is erased, up to 3 days later.
    retention_outbox_days: int = Field(default=7, ge=4)
    # Web chat transcripts of sessions with no message for this long.
    retention_webchat_days: int = Field(default=30, ge=1)
    # Moderators' alerts: an item waiting in safety review longer than this many
    # minutes, or in another waiting state (received, pending review) longer than this
    # many hours, is announced once in the moderators' chats.
    sla_safety_minutes: int = Field(default=60, ge=1)
    sla_review_hours: int = Field(default=48, ge=1)
    # The hour (UTC) of the moderators' daily digest.
    digest_hour_utc: int = Field(default=8, ge=0, le=23)
    # How often a replica that does not run the scheduled work (on PostgreSQL, another
    # holds the scheduler's lock) tries to take it over, and the holder checks its lock.
    scheduler_lock_retry_seconds: int = Field(default=15, ge=1)

    # Delivery: how long a process may hold a message it is sending (a reply right after
    # its turn, an outbox row) before another replica takes it over after a crash.
    outbox_lease_seconds: int = Field(default=30, ge=1)
    # Milestone announcements fall due at this many messages a second in all (every
    # replica together), leaving room under Telegram's 30 a second for replies.
    broadcast_per_second: float = Field(default=20.0, gt=0)

    # Admission control: at most this many turns in flight in one process (0: no bound);
    # beyond it, a kind "try again in a moment" (HTTP 503 with Retry-After).
    max_turns_in_flight: int = Field(default=500, ge=0)

    @field_validator(
        "telegram_bot_token",
        "slack_bot_token",
        "slack_app_token",
        "facts_file",
        "campaigns_file",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("draft_expiry_days")
    @classmethod
    def _drafts_expire_after_their_reminder(cls, value: int, info: ValidationInfo) -> int:
        reminder_hours = info.data.get("draft_reminder_hours")
        if reminder_hours is not None and value * 24 <= reminder_hours:
            raise ValueError(
                f"DRAFT_EXPIRY_DAYS ({value}) must be longer than DRAFT_REMINDER_HOURS "
                f"({reminder_hours} hours): a draft would be erased before its reminder"
            )
        return value

    @field_validator(
        "whatsapp_token", "whatsapp_verify_token", "whatsapp_app_secret", mode="before"
    )
    @classmethod
    def _whatsapp_empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _whatsapp_webhook_is_verified(self) -> Settings:
        if self.whatsapp_enabled:
            missing = [
                name
                for name, value in (
                    ("WHATSAPP_VERIFY_TOKEN", self.whatsapp_verify_token),
                    ("WHATSAPP_APP_SECRET", self.whatsapp_app_secret),
                )
                if value is None or not value.get_secret_value()
            ]
            if missing:
                # Without them the webhook could not be registered, or would take
                # anyone's forged POSTs: refuse to start.
                raise ValueError(
                    f"WhatsApp is enabled (WHATSAPP_TOKEN and WHATSAPP_PHONE_ID are set) "
                    f"but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not"
                )
        return self

    @property
    def whatsapp_enabled(self) -> bool:
        """WhatsApp runs when its access token and phone number id are both set."""
        return self.whatsapp_token is not None and bool(self.whatsapp_phone_id)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'together.db').as_posix()}"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"
