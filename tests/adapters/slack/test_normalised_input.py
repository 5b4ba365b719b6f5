"""What a person types in Slack reaches the core as clean Unicode (issue [9])."""

from __future__ import annotations

from bot.adapters.slack import views
from bot.adapters.slack.parsing import (
    Person,
    choice_inbound,
    interaction_key,
    message_inbound,
)

PERSON = Person("U1", "D1", "en-US", "Ana")


def test_message_text_is_normalised_after_slack_markup() -> None:
    event = {
        "type": "message",
        "channel_type": "im",
        "user": "U1",
        "ts": "1.0",
        "text": "half \ud83d, nul\x00, &#1;e\u0301 &lt;b&gt;\r\nnext",
    }
    inbound = message_inbound(event, "Ev1", PERSON)
    assert inbound is not None
    assert inbound.text == "half \ufffd, nul, \u00e9 <b>\nnext"


def test_text_of_another_type_is_no_text() -> None:
    event = {"type": "message", "channel_type": "im", "user": "U1", "ts": "1.0", "text": 5}
    inbound = message_inbound(event, "Ev2", PERSON)
    assert inbound is not None and inbound.text == ""


def test_button_values_and_form_answers_are_normalised() -> None:
    assert choice_inbound(PERSON, "k", "menu:\x00story\ud83d", {}).choice == "menu:story\ufffd"
    view = {
        "state": {
            "values": {
                "story": {views.ANSWER: {"type": "plain_text_input", "value": "We\x00 left\r\n"}},
                "credit": {
                    views.ANSWER: {"type": "radio_buttons", "selected_option": {"value": "a\ud83d"}}
                },
                "adult": {views.ANSWER: {"type": "checkboxes", "selected_options": ["junk"]}},
                "odd": {views.ANSWER: {"type": "static_select", "selected_option": 7}},
            }
        }
    }
    assert views.answers(view) == {
        "story": "We left\n",
        "credit": "a\ufffd",
        "adult": "",
        "odd": "",
    }


def test_a_forged_half_emoji_still_makes_a_key() -> None:
    assert interaction_key("act", "1.2", "U1", "x\ud83d") != interaction_key(
        "act", "1.2", "U1", "x"
    )
