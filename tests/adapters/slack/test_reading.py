"""Readers on Slack: /stories and /facts (and the Home tab's buttons) answer in the DM,
and a story's card shows the photo a moderator published, by its public address."""

from __future__ import annotations

from typing import Any

from bot.adapters.slack import views
from tests.adapters.slack.conftest import SlackUser, Workspace
from tests.fakes.slack_api import Call, buttons_of, texts_of
from tests.web.helpers import item_row, publish, tell


async def published_story(workspace: Workspace, user: str = "amina") -> int:
    """A story told in chat and published; its id."""
    item_id = await tell(workspace.bot, user)
    await publish(workspace.bot, item_id)
    # The app's own outbox worker may be the one publishing it: wait for it.
    await workspace.sent.wait_for(lambda due: "publish" in due.payload)
    return (await item_row(workspace.bot, item_id)).story_id


def dm_messages(workspace: Workspace, user: SlackUser) -> list[Call]:
    return [
        c
        for c in workspace.api.calls("chat.postMessage", ok_only=True)
        if c.params["channel"] == user.channel
    ]


async def test_stories_command_shows_a_story_in_the_dm(workspace: Workspace) -> None:
    story_id = await published_story(workspace)
    user = workspace.user("U0READ")
    await user.command("/stories")
    assert "Thank you for welcoming us." in user.text and "Read 1 time" in user.text
    labels = [b["text"]["text"] for b in buttons_of(user.last[-1])]
    assert any("Another story" in label for label in labels)
    await user.tap("Share this story")
    assert f"s-{story_id}" in user.text


async def test_facts_command_shows_a_fact_in_the_dm(workspace: Workspace) -> None:
    user = workspace.user("U0FACT")
    await user.command("/facts")
    assert "Source:" in user.text
    await user.tap("Another fact")
    assert "Source:" in user.text


async def test_reading_commands_typed_in_a_channel_answer_in_the_dm(
    workspace: Workspace,
) -> None:
    await published_story(workspace)
    user = workspace.user("U0CHAN")
    for command, shows in (("/stories", "Thank you for welcoming us."), ("/facts", "Source:")):
        before = len(dm_messages(workspace, user))
        response = await workspace.post(
            workspace.make.command(user.user_id, command, channel="C0GEN")
        )
        assert response.status_code == 200
        assert response.text == "I have sent you a direct message."
        await workspace.adapter.drain()
        answers = dm_messages(workspace, user)[before:]
        assert answers and shows in "\n".join(texts_of(answers[-1]))
    assert all(c.params["channel"] != "C0GEN" for c in workspace.api.calls("chat.postMessage"))


async def test_home_tab_reads_stories_and_facts(workspace: Workspace) -> None:
    await published_story(workspace)
    user = workspace.user("U0HOME")
    await workspace.deliver(workspace.make.home_opened(user.user_id))
    home = await workspace.api.wait_for_call("views.publish")
    labels = {b["action_id"]: b["text"]["text"] for b in buttons_of(home)}
    assert labels[views.HOME_STORIES] == "📚 Read stories"
    assert labels[views.HOME_FACTS] == "📊 Learn the facts"
    assert "Take the pledge" in labels[views.HOME_PLEDGE]

    def home_button(action_id: str) -> dict[str, Any]:
        return next(b for b in buttons_of(home) if b["action_id"] == action_id)

    await user._deliver(workspace.make.home_button(user.user_id, home_button(views.HOME_STORIES)))
    assert "Thank you for welcoming us." in user.text
    await user._deliver(workspace.make.home_button(user.user_id, home_button(views.HOME_FACTS)))
    assert "Source:" in user.text
