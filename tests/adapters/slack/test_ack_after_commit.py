"""Slack is told we have an event only once its effect and replies are committed.

Slack retries an event it got no 2xx for, and never retries a button press: so the
answer must come after the commit, or a crash right after it loses the event for good.
"""

from __future__ import annotations

from sqlalchemy import select

from storage.models import OutboxMessage, ProcessedEvent
from tests.adapters.slack.conftest import Workspace


async def committed(workspace: Workspace) -> tuple[set[str], list[OutboxMessage]]:
    async with workspace.bot.deps.db.transaction() as session:
        keys = set((await session.execute(select(ProcessedEvent.key))).scalars())
        rows = list((await session.execute(select(OutboxMessage))).scalars())
    return keys, rows


async def test_an_event_is_answered_only_after_its_effect_and_replies_are_stored(
    workspace: Workspace,
) -> None:
    workspace.api.add_user("U0ACK")
    event = workspace.make.event(workspace.make.dm_event("U0ACK", "/pledge"))
    response = await workspace.post(event)  # no waiting for the work: the answer itself
    assert response.status_code == 200
    keys, rows = await committed(workspace)
    assert len(keys) == 1  # the event's key, with its effect
    replies = [r for r in rows if r.dedupe_key.startswith("reply:slack:")]
    assert replies  # the replies are stored before Slack hears back
    await workspace.adapter.drain()
    _keys, rows = await committed(workspace)
    assert {r.status for r in rows if r.dedupe_key.startswith("reply:slack:")} == {"sent"}


async def test_a_button_is_acknowledged_only_after_its_effect(workspace: Workspace) -> None:
    person = workspace.user("U0TAP")
    await person.send("/pledge")
    call, button = person.button("I take the pledge")
    assert call.result is not None
    before, _rows = await committed(workspace)
    response = await workspace.post(
        workspace.make.button("U0TAP", button, message_ts=str(call.result["ts"]))
    )
    assert response.status_code == 200
    after, _rows = await committed(workspace)
    assert len(after - before) == 1  # committed when Slack got its answer
    await workspace.adapter.drain()
