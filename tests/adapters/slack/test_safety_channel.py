"""Crisis stories on a need-to-know basis, on Slack: the safety team's channel gets their
cards, the moderators' channel at most a placeholder; a click by anyone without the role
is answered to them alone and changes nothing in the channel; the story form holds the
limits and cannot be typed as a command (issue [6])."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.review.service import ActionRequest, ReviewAction
from moderation.reasons import ReasonCode
from storage.db import Database
from storage.models import ModerationItem, Story, StoryState
from tests.adapters.slack.conftest import MOD_CHANNEL, Workspace, open_workspace, slack_settings
from tests.adapters.slack.test_end_to_end import ANSWERS, open_story_modal
from tests.fakes.slack_api import Call, FakeSlackApi, buttons_of, texts_of

SAFETY_CHANNEL = "C0SAFE"
CRISIS = "They took my passport and I work without pay in a house I cannot leave."
SECRETS = ("passport", "without pay", "Amina", "Syria", "Japan")
# Methods that show, change or remove something in a channel, or open a modal.
VISIBLE = ("chat.postMessage", "chat.update", "chat.delete", "views.open")


@pytest.fixture
async def with_safety(
    moderated: Settings, db: Database, api: FakeSlackApi
) -> AsyncIterator[Workspace]:
    settings = slack_settings(moderated, api, slack_safety_channel=SAFETY_CHANNEL)
    async for ws in open_workspace(settings, db, api):
        yield ws


async def tell(
    workspace: Workspace, text: str, user_id: str = "U0AMINA", card_in: str | None = None
) -> int:
    """A story through the modal; returns its item id once its card is out in ``card_in``
    (the safety channel when there is one, else the moderators')."""
    workspace.user(user_id)
    view = await open_story_modal(workspace, user_id)
    response = await workspace.deliver(
        workspace.make.view_submission(user_id, view, {**ANSWERS, "text": text})
    )
    assert response.status_code == 200 and response.text == ""
    default = SAFETY_CHANNEL if workspace.bot.settings.slack_safety_channel else MOD_CHANNEL
    await workspace.sent.wait_for_card(card_in or default)
    async with workspace.bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalars().all()[-1]
    assert item.id is not None
    return item.id


def shown_in(workspace: Workspace, channel: str) -> list[Call]:
    return [
        c
        for method in VISIBLE
        for c in workspace.api.calls(method)
        if c.params.get("channel") == channel
    ]


def told(workspace: Workspace, user_id: str) -> list[Call]:
    return [c for c in workspace.api.calls("chat.postEphemeral") if c.params["user"] == user_id]


async def click(workspace: Workspace, user_id: str, data: str, channel: str) -> str:
    """A click on a card button carrying ``data``; returns what only that person saw."""
    before = len(told(workspace, user_id))
    button = {"action_id": "tb.choice.1", "value": data, "text": {"text": "x"}}
    response = await workspace.deliver(workspace.make.button(user_id, button, channel=channel))
    assert response.status_code == 200
    await workspace.api.wait_until(lambda: len(told(workspace, user_id)) > before)
    answer = told(workspace, user_id)[-1]
    assert answer.params["channel"] == channel
    return "\n".join(texts_of(answer))


def every_button(item_id: int, version: int) -> list[str]:
    data = [ActionRequest(action, item_id, version).choice_id() for action in ReviewAction]
    for action in (ReviewAction.REJECT, ReviewAction.UNPUBLISH):
        data += [ActionRequest(action, item_id, version, c.value).choice_id() for c in ReasonCode]
    return data


async def version_of(workspace: Workspace, item_id: int) -> int:
    async with workspace.bot.deps.db.transaction() as session:
        item = await session.get(ModerationItem, item_id)
    assert item is not None
    return item.version


async def test_a_crisis_story_goes_to_the_safety_channel_only(with_safety: Workspace) -> None:
    await tell(with_safety, CRISIS)
    assert shown_in(with_safety, MOD_CHANNEL) == []
    [card] = shown_in(with_safety, SAFETY_CHANNEL)
    assert card.method == "chat.postMessage"
    assert "passport" in "\n".join(texts_of(card))
    assert any("Approve" in b["text"]["text"] for b in buttons_of(card))


async def test_without_a_safety_channel_the_moderators_see_a_placeholder_only(
    workspace: Workspace,
) -> None:
    await tell(workspace, CRISIS)
    [placeholder] = shown_in(workspace, MOD_CHANNEL)
    text = "\n".join(texts_of(placeholder))
    assert "awaits the safety team" in text
    assert not any(secret in text for secret in SECRETS)
    assert buttons_of(placeholder) == []


async def test_a_stranger_clicking_any_button_changes_nothing_in_either_channel(
    with_safety: Workspace,
) -> None:
    ws = with_safety
    crisis = await tell(ws, CRISIS, "U0OMAR")
    plain = await tell(ws, ANSWERS["text"], "U0AMINA", card_in=MOD_CHANNEL)
    ws.user("U0EVE")
    modals = len(ws.api.calls("views.open"))
    before = {c: len(shown_in(ws, c)) for c in (MOD_CHANNEL, SAFETY_CHANNEL)}
    for channel, item_id in ((MOD_CHANNEL, plain), (SAFETY_CHANNEL, crisis)):
        for data in every_button(item_id, await version_of(ws, item_id)):
            assert "Only moderators can do this." in await click(ws, "U0EVE", data, channel), data
    assert {c: len(shown_in(ws, c)) for c in (MOD_CHANNEL, SAFETY_CHANNEL)} == before
    assert len(ws.api.calls("views.open")) == modals  # no reason or redaction modal
    async with ws.bot.deps.db.transaction() as session:
        states = {i.id: i.state for i in (await session.execute(select(ModerationItem))).scalars()}
    assert states == {crisis: StoryState.SAFETY_REVIEW, plain: StoryState.PENDING_REVIEW}


async def test_a_plain_moderator_is_refused_in_the_safety_channel(with_safety: Workspace) -> None:
    ws = with_safety
    crisis = await tell(ws, CRISIS, "U0OMAR")
    modals = len(ws.api.calls("views.open"))
    before = len(shown_in(ws, SAFETY_CHANNEL))
    for data in every_button(crisis, await version_of(ws, crisis)):
        answer = await click(ws, "U0ANA", data, SAFETY_CHANNEL)
        assert "Your role does not allow this action on this story." in answer, data
    # Nor from the moderators' channel: Redact would open the text in a modal.
    redact = ActionRequest(ReviewAction.REDACT, crisis, await version_of(ws, crisis))
    answer = await click(ws, "U0ANA", redact.choice_id(), MOD_CHANNEL)
    assert "Your role does not allow" in answer and "passport" not in answer
    assert len(ws.api.calls("views.open")) == modals
    assert len(shown_in(ws, SAFETY_CHANNEL)) == before

    # The safety moderator may: the redaction modal opens with the text.
    button = {"action_id": "tb.choice.1", "value": redact.choice_id(), "text": {"text": "x"}}
    await ws.deliver(ws.make.button("U0SOL", button, channel=SAFETY_CHANNEL))
    opened = await ws.api.wait_for_call("views.open", modals + 1)
    assert opened.result is not None and "passport" in json.dumps(opened.result["view"])


async def test_a_form_past_the_limit_is_refused_and_stores_nothing(workspace: Workspace) -> None:
    workspace.user("U0LONG")
    view = await open_story_modal(workspace, "U0LONG")
    response = await workspace.deliver(
        workspace.make.view_submission("U0LONG", view, {**ANSWERS, "text": "x" * 7000})
    )
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert "1,000 characters longer than the limit of 6,000 characters" in answer["errors"]["text"]
    async with workspace.bot.deps.db.transaction() as session:
        assert (await session.execute(select(Story))).first() is None


async def test_the_story_form_typed_in_a_dm_is_an_unknown_command(workspace: Workspace) -> None:
    user = workspace.user("U0MALLORY")
    answers = {"consent": "c:yes", "is_adult": "c:yes", "credit_mode": "c:anonymous"}
    await user.send("/storyform " + json.dumps({**answers, "text": "All at once."}))
    assert "don't know that command" in user.text
    async with workspace.bot.deps.db.transaction() as session:
        assert (await session.execute(select(Story))).first() is None
