"""WhatsApp is enabled by its token and phone number id, and then only with a verified
webhook: without the verify token or the app secret the bot refuses to start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_off_unless_both_the_token_and_the_phone_id_are_set() -> None:
    assert not settings().whatsapp_enabled
    assert not settings(whatsapp_token="EAAG").whatsapp_enabled
    assert not settings(whatsapp_phone_id="1055").whatsapp_enabled
    assert not settings(whatsapp_token="", whatsapp_phone_id="1055").whatsapp_enabled


def test_enabled_with_a_verify_token_and_an_app_secret() -> None:
    on = settings(
        whatsapp_token="EAAG",
        whatsapp_phone_id="1055",
        whatsapp_verify_token="vt",
        whatsapp_app_secret="s3cret",
    )
    assert on.whatsapp_enabled
    assert on.whatsapp_api_url == "https://graph.facebook.com"
    assert "s3cret" not in repr(on) and "EAAG" not in repr(on)


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({}, "WHATSAPP_VERIFY_TOKEN and WHATSAPP_APP_SECRET are not"),
        ({"whatsapp_verify_token": "vt"}, "WHATSAPP_APP_SECRET is not"),
        ({"whatsapp_app_secret": "s"}, "WHATSAPP_VERIFY_TOKEN is not"),
        ({"whatsapp_app_secret": "", "whatsapp_verify_token": "vt"}, "WHATSAPP_APP_SECRET"),
    ],
)
def test_enabled_without_a_verified_webhook_refuses_to_start(
    given: dict[str, str], named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        settings(whatsapp_token="EAAG", whatsapp_phone_id="1055", **given)


def test_the_refusal_never_prints_the_token() -> None:
    with pytest.raises(ValidationError) as refused:
        settings(whatsapp_token="tok3nSECRETvalue", whatsapp_phone_id="1055")
    assert "tok3n" not in str(refused.value)  # not even its first characters
