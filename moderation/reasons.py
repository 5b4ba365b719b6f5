"""Why a story was rejected or unpublished: a code the bot renders in the person's language."""

from __future__ import annotations

import enum


class ReasonCode(enum.StrEnum):
    PERSONAL_DATA = "personal_data"  # it would identify or endanger someone
    OFF_TOPIC = "off_topic"
    HATEFUL = "hateful"
    UNSAFE = "unsafe"
    DUPLICATE = "duplicate"
    SPAM = "spam"
    NOT_A_STORY = "not_a_story"
    OTHER = "other"
