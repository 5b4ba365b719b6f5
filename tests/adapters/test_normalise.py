"""The one text normaliser every adapter applies at the edge."""

from __future__ import annotations

import json

import pytest

from bot.adapters.normalise import normalise_json, normalise_optional, normalise_text


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("hi \ud83d", "hi \ufffd"),  # half an emoji, as JSON.stringify sends it
        ("\ude00 then \ud83d", "\ufffd then \ufffd"),
        ("a\ud83d\ude00b", "a\U0001f600b"),  # two surrogates that belong together
        ("e\u0301", "\u00e9"),  # NFC
        ("a\x00b\x1bc\x7fd\x08", "abcd"),
        ("one\r\ntwo\rthree\nfour\tfive", "one\ntwo\nthree\nfour\tfive"),
        ("مرحبا 你好 Привет", "مرحبا 你好 Привет"),
        ("", ""),
    ],
)
def test_text_is_clean_unicode(sent: str, kept: str) -> None:
    assert normalise_text(sent) == kept
    assert normalise_text(kept) == kept  # idempotent
    kept.encode("utf-8")  # always encodable: a database and a JSON answer take it


def test_cesu8_bytes_decoded_by_json_become_the_emoji() -> None:
    # What json.loads makes of CESU-8 (an emoji as two UTF-8-encoded surrogates).
    decoded = json.loads(b'{"text": "\xed\xa0\xbd\xed\xb8\x80!"}')["text"]
    assert normalise_text(decoded) == "\U0001f600!"


def test_optional_fields_take_only_strings() -> None:
    assert normalise_optional("a\x00") == "a"
    assert normalise_optional(12) is None
    assert normalise_optional(None) is None


def test_json_values_are_cleaned_throughout_and_cut_off_when_absurdly_deep() -> None:
    value = {"a\x00": ["x\ud83d", {"b": "\r\n"}], "n": 3, "f": None}
    assert normalise_json(value) == {"a": ["x\ufffd", {"b": "\n"}], "n": 3, "f": None}
    deep: object = "bottom"
    for _ in range(500):
        deep = [deep]
    cut = normalise_json(deep)
    depth = 0
    while isinstance(cut, list):
        cut, depth = cut[0], depth + 1
    assert cut is None and depth < 100
