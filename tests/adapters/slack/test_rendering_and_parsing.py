"""Outgoing -> Block Kit, and Slack payloads -> Inbound (pure functions)."""

from __future__ import annotations

import pytest

from bot.adapters.slack.parsing import Person, action_key, message_inbound, plain_text
from bot.adapters.slack.rendering import (
    BLOCKS_MAX,
    SECTION_MAX,
    RenderError,
    escape,
    render,
    split_text,
)
from bot.core.events import Choice, InboundKind, MediaKind, Outgoing

AMINA = Person("U1", "D1", "ar", "Amina")


# -- rendering ----------------------------------------------------------------------------
def test_escape_makes_mentions_and_links_literal() -> None:
    assert escape("<!channel> <@U1> <https://x|y> a&b") == (
        "&lt;!channel&gt; &lt;@U1&gt; &lt;https://x|y&gt; a&amp;b"
    )


def test_text_goes_in_plain_text_sections_and_choices_in_buttons() -> None:
    rendered = render(
        Outgoing(
            text="*not bold* <!here>",
            choices=(Choice("c:yes", "Yes"), Choice("share", "Share", url="https://t.example/")),
        )
    )
    assert rendered.text == "*not bold* &lt;!here&gt;"
    section, actions = rendered.blocks
    assert (
        section["text"]["type"] == "plain_text" and section["text"]["text"] == "*not bold* <!here>"
    )
    yes, share = actions["elements"]
    assert (yes["action_id"], yes["value"]) == ("tb.choice.0", "c:yes")
    assert (share["action_id"], share["url"]) == ("tb.link.1", "https://t.example/")
    assert "value" not in share


def test_long_texts_are_split_on_paragraphs_and_labels_are_cut() -> None:
    paragraph = "word " * 500  # 2,500 characters
    rendered = render(
        Outgoing(text=f"{paragraph}\n\n{paragraph}", choices=(Choice("a", "L" * 100),))
    )
    sections = [b for b in rendered.blocks if b["type"] == "section"]
    assert len(sections) == 2 and all(len(b["text"]["text"]) <= SECTION_MAX for b in sections)
    assert len(rendered.text) <= 3000
    assert len(rendered.blocks[-1]["elements"][0]["text"]["text"]) == 75
    assert split_text("x" * 7000) == ["x" * 3000, "x" * 3000, "x" * 1000]


def test_too_many_blocks_is_a_render_error() -> None:
    with pytest.raises(RenderError):
        render(Outgoing(text="\n\n".join(["y" * 2999] * (BLOCKS_MAX + 1))))


def test_many_choices_share_actions_blocks_of_25() -> None:
    choices = tuple(Choice(f"c:{i}", str(i)) for i in range(30))
    actions = [
        b for b in render(Outgoing(text="pick", choices=choices)).blocks if b["type"] == "actions"
    ]
    assert [len(a["elements"]) for a in actions] == [25, 5]


# -- parsing --------------------------------------------------------------------------------
def test_slack_markup_becomes_what_the_person_saw() -> None:
    assert plain_text("a &lt;b&gt; &amp; c") == "a <b> & c"
    assert plain_text("hi <@U123> and <@U9|bob>") == "hi @U123 and @bob"
    assert plain_text("<!channel> <!here> <!subteam^S1|@team>") == "@channel @here @team"
    assert plain_text("see <https://x.example|x.example> <#C1|general>") == "see x.example #general"


def dm(**fields: object) -> dict[str, object]:
    return {
        "type": "message",
        "channel": "D1",
        "channel_type": "im",
        "user": "U1",
        "ts": "5.1",
        **fields,
    }


def test_a_direct_message_becomes_text_with_the_person_s_hint() -> None:
    inbound = message_inbound(dm(text="Hello &lt;3"), "Ev1", AMINA)
    assert inbound is not None
    assert (inbound.kind, inbound.text, inbound.key, inbound.chat_id) == (
        InboundKind.TEXT,
        "Hello <3",
        "Ev1",
        "D1",
    )
    assert (inbound.locale_hint, inbound.display_name, inbound.message_id) == ("ar", "Amina", "5.1")


def test_commands_edits_and_files() -> None:
    command = message_inbound(dm(text="/start story"), "Ev2", AMINA)
    assert command is not None and (command.kind, command.command, command.args) == (
        InboundKind.COMMAND,
        "start",
        "story",
    )
    edited = message_inbound(
        dm(subtype="message_changed", message={"user": "U1", "text": "new", "ts": "4.0"}),
        "Ev3",
        AMINA,
    )
    assert edited is not None and (edited.kind, edited.text, edited.edit_of) == (
        InboundKind.EDIT,
        "new",
        "4.0",
    )
    files = [
        {"id": "F1", "mimetype": "image/png", "size": 100},
        {"id": "F2", "mimetype": "audio/webm", "duration_ms": 7000},
    ]
    media = message_inbound(dm(subtype="file_share", text="us", files=files), "Ev4", AMINA)
    assert media is not None and media.kind is InboundKind.MEDIA and media.caption == "us"
    assert [(m.kind, m.ref, m.duration) for m in media.media] == [
        (MediaKind.PHOTO, "F1", None),
        (MediaKind.VOICE, "F2", 7),
    ]


@pytest.mark.parametrize(
    "event",
    [
        dm(text="x", bot_id="B1"),
        dm(text="x", subtype="bot_message"),
        dm(text="x", subtype="message_deleted"),
        dm(text="x", channel_type="channel"),
        dm(text="x", user="U2"),
        dm(subtype="message_changed", message={"user": "U1", "bot_id": "B1", "text": "x"}),
    ],
)
def test_what_is_not_the_person_writing_is_ignored(event: dict[str, object]) -> None:
    assert message_inbound(event, "Ev9", AMINA) is None


def test_action_keys_tell_clicks_apart() -> None:
    body = {"user": {"id": "U1"}}
    click = {"action_id": "tb.choice.0", "value": "c:yes", "action_ts": "1.1"}
    assert action_key(body, click) == action_key(body, dict(click))
    assert action_key(body, click) != action_key(body, {**click, "action_ts": "1.2"})
    assert action_key(body, click) != action_key({"user": {"id": "U2"}}, click)
    assert action_key(body, click).startswith("act:") and len(action_key(body, click)) <= 128
