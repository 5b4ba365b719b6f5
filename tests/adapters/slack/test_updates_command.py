"""/updates on Slack: the slash command (with its on / off word) answers in the DM and
keeps the person's answer, like the command typed on the other platforms."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from storage.models import Participant
from tests.adapters.slack.conftest import Workspace


async def updates_of(workspace: Workspace, user_id: str) -> bool | None:
    async with workspace.bot.deps.db.transaction() as session:
        found = (
            await session.execute(
                select(col(Participant.updates)).where(
                    col(Participant.platform) == "slack", col(Participant.external_id) == user_id
                )
            )
        ).scalar_one()
    return found


async def test_updates_slash_command_on_off_and_the_setting(workspace: Workspace) -> None:
    user = workspace.user("U0UPDATES")
    await user.command("/updates", "on")
    assert "I will tell you when the pledge reaches its next milestone" in user.text
    assert await updates_of(workspace, "U0UPDATES") is True
    await user.command("/updates")
    assert "Milestone updates are on" in user.text
    await user.tap("Turn off updates")
    assert "Milestone updates are off" in user.text
    assert await updates_of(workspace, "U0UPDATES") is False
