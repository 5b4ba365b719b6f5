"""Slack surfaces beside messages: the App Home tab and the modals (Block Kit views).

Texts come in already translated; every text a person wrote is ``plain_text``. The story
modal renders the story form's questions (:func:`bot.handlers.story.story_form`) one
input block each, so a question's id is its block id and the key of its answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.adapters.normalise import normalise_optional
from bot.adapters.slack.rendering import plain, truncate
from bot.core.events import Choice
from bot.handlers.story_form import FieldKind, FormField

STORY_MODAL = "tb.story"  # callback ids of the modals
REASON_MODAL = "tb.mod.reason"
REDACT_MODAL = "tb.mod.redact"
HOME_PLEDGE = "tb.home.pledge"  # action ids of the Home tab's buttons
HOME_STORY = "tb.home.story"
HOME_STORIES = "tb.home.stories"
HOME_FACTS = "tb.home.facts"
# The Home tab's buttons that run a command in the person's DM, by action id.
HOME_COMMANDS = {HOME_PLEDGE: "pledge", HOME_STORIES: "stories", HOME_FACTS: "facts"}
SHARE_STORY_SHORTCUT = "share_story"  # the global shortcut's callback id (manifest)
ANSWER = "answer"  # the action id of every input element
TITLE_MAX = 24
LABEL_MAX = 2000
OPTION_MAX = 75
PLACEHOLDER_MAX = 150
INPUT_MAX = 3000  # Slack's limit for a plain-text input
METADATA_MAX = 3000


def home_view(
    *, welcome: str, total: str, pledge: str, story: str, stories: str, facts: str
) -> dict[str, Any]:
    """The App Home tab: the welcome, the live pledge count, and buttons to take the
    pledge, share a story, read stories and learn the facts."""
    return {
        "type": "home",
        "blocks": [
            {"type": "section", "text": plain(welcome)},
            {"type": "section", "text": plain(total)},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": HOME_PLEDGE,
                        "text": plain(pledge, OPTION_MAX),
                        "style": "primary",
                        "value": "pledge",
                    },
                    {
                        "type": "button",
                        "action_id": HOME_STORY,
                        "text": plain(story, OPTION_MAX),
                        "value": "story",
                    },
                    {
                        "type": "button",
                        "action_id": HOME_STORIES,
                        "text": plain(stories, OPTION_MAX),
                        "value": "stories",
                    },
                    {
                        "type": "button",
                        "action_id": HOME_FACTS,
                        "text": plain(facts, OPTION_MAX),
                        "value": "facts",
                    },
                ],
            },
        ],
    }


def _options(choices: Sequence[Choice]) -> list[dict[str, Any]]:
    return [{"text": plain(c.label, OPTION_MAX), "value": c.id} for c in choices]


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, LABEL_MAX),
        "element": {**element, "action_id": ANSWER},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, LABEL_MAX)
    return block


def _text_input(
    *, multiline: bool, max_length: int | None, placeholder: str | None = None
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": multiline}
    if max_length is not None:
        element["max_length"] = min(max_length, INPUT_MAX)
    if placeholder:
        element["placeholder"] = plain(placeholder, PLACEHOLDER_MAX)
    return element


def form_blocks(fields: Sequence[FormField]) -> list[dict[str, Any]]:
    """The story form's questions as input blocks (block id = question id)."""
    blocks: list[dict[str, Any]] = []
    for field in fields:
        if field.kind is FieldKind.CONSENT:
            # The terms are read as text; the box is ticked under the last paragraph.
            *terms, question = field.label.split("\n\n")
            if terms:
                blocks.append({"type": "section", "text": plain("\n\n".join(terms))})
            element = {"type": "checkboxes", "options": _options(field.choices)}
            blocks.append(_input(field.id, question, element, optional=field.optional))
        elif field.kind is FieldKind.CHOICE:
            element = {"type": "radio_buttons", "options": _options(field.choices)}
            blocks.append(_input(field.id, field.label, element, optional=field.optional))
        elif field.kind is FieldKind.COUNTRY:
            element = _text_input(multiline=False, max_length=100, placeholder=field.hint)
            blocks.append(_input(field.id, field.label, element, optional=field.optional))
        else:
            element = _text_input(
                multiline=field.kind is FieldKind.TEXT, max_length=field.max_length
            )
            blocks.append(
                _input(field.id, field.label, element, optional=field.optional, hint=field.hint)
            )
    return blocks


def modal(
    callback_id: str,
    *,
    title: str,
    submit: str,
    close: str,
    blocks: list[dict[str, Any]],
    metadata: Mapping[str, Any],
) -> dict[str, Any]:
    """A modal view; ``metadata`` comes back with its submission (ids only)."""
    private = json.dumps(dict(metadata), separators=(",", ":"))
    if len(private) > METADATA_MAX:
        raise ValueError("modal metadata too long")
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(truncate(title, TITLE_MAX), TITLE_MAX),
        "submit": plain(truncate(submit, TITLE_MAX), TITLE_MAX),
        "close": plain(truncate(close, TITLE_MAX), TITLE_MAX),
        "private_metadata": private,
        "blocks": blocks,
    }


def metadata(view: Mapping[str, Any]) -> dict[str, Any]:
    """A submitted modal's metadata (empty when missing or not ours)."""
    try:
        data = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def answers(view: Mapping[str, Any]) -> dict[str, str]:
    """A submitted modal's answers by block id: the chosen value or the typed text."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    out: dict[str, str] = {}
    if not isinstance(values, Mapping):
        return out
    for block_id, elements in values.items():
        element = elements.get(ANSWER) if isinstance(elements, Mapping) else None
        if isinstance(element, Mapping):
            out[str(block_id)] = _value(element)
    return out


def _value(element: Mapping[str, Any]) -> str:
    """One answer as text the person typed or chose, normalised (a form is as hostile
    as a message: half an emoji, a NUL)."""
    kind = element.get("type")
    value: object = element.get("value")
    if kind == "checkboxes":
        selected = element.get("selected_options")
        first = selected[0] if isinstance(selected, list) and selected else None
        value = first.get("value") if isinstance(first, Mapping) else None
    elif kind in ("radio_buttons", "static_select"):
        option = element.get("selected_option")
        value = option.get("value") if isinstance(option, Mapping) else None
    return normalise_optional(value) or ""


def select_block(block_id: str, label: str, choices: Sequence[Choice]) -> dict[str, Any]:
    """A required drop-down (a reason code)."""
    return _input(block_id, label, {"type": "static_select", "options": _options(choices)})


def text_block(block_id: str, label: str, initial: str) -> dict[str, Any]:
    """A required multi-line text, filled with ``initial`` (a story to redact)."""
    element = _text_input(multiline=True, max_length=INPUT_MAX)
    element["initial_value"] = initial
    return _input(block_id, label, element)
