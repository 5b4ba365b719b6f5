"""The moderators' Slack channel: a card per story, decided by a button or a modal,
refreshed in place (``chat.update``) after any decision from any surface."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from bot.adapters.slack import views
from bot.review.service import ActionRequest, ReviewAction
from moderation.actors import Moderator
from moderation.states import Role
from storage.models import ModerationItem, ModerationRefusal, Story, StoryRevision, StoryState
from tests.adapters.slack.conftest import MOD_CHANNEL, Workspace
from tests.adapters.slack.test_end_to_end import ANSWERS, open_story_modal, posted_to
from tests.fakes.slack_api import Call, buttons_of, texts_of


async def submit_story(workspace: Workspace, user_id: str = "U0AMINA", **answers: Any) -> Call:
    """A story told through the modal; returns its card in the moderators' channel."""
    workspace.user(user_id)
    view = await open_story_modal(workspace, user_id)
    await workspace.deliver(workspace.make.view_submission(user_id, view, {**ANSWERS, **answers}))
    card = await posted_to(workspace, MOD_CHANNEL)
    await workspace.sent.wait_for_card(MOD_CHANNEL)  # its ts is known: refreshes find it
    return card


def card_button(card: Call, label: str) -> dict[str, Any]:
    for button in buttons_of(card):
        if label.casefold() in button["text"]["text"].casefold():
            return button
    raise AssertionError(f"no button {label!r} on the card")


async def click(workspace: Workspace, user_id: str, card: Call, label: str) -> None:
    assert card.result is not None
    request = workspace.make.button(
        user_id, card_button(card, label), channel=MOD_CHANNEL, message_ts=str(card.result["ts"])
    )
    response = await workspace.deliver(request)
    assert response.status_code == 200 and response.text == ""


async def told(workspace: Workspace, user_id: str, n: int = 1) -> str:
    """The n-th answer only ``user_id`` saw in the channel (``chat.postEphemeral``)."""

    def answers() -> list[Call]:
        return [c for c in workspace.api.calls("chat.postEphemeral") if c.params["user"] == user_id]

    await workspace.api.wait_until(lambda: len(answers()) >= n)
    call = answers()[n - 1]
    assert call.params["channel"] == MOD_CHANNEL
    return "\n".join(texts_of(call)[1:])


async def card_update(workspace: Workspace, card: Call, shows: Callable[[str], bool]) -> Call:
    """The ``chat.update`` of ``card`` whose text satisfies ``shows``."""
    assert card.result is not None
    ts = card.result["ts"]

    def matching() -> list[Call]:
        return [
            c
            for c in workspace.api.calls("chat.update", ok_only=True)
            if c.params["channel"] == MOD_CHANNEL
            and c.params["ts"] == ts
            and shows("\n".join(texts_of(c)[1:]))
        ]

    await workspace.api.wait_until(lambda: bool(matching()))
    return matching()[0]


async def item_state(workspace: Workspace) -> str:
    async with workspace.bot.deps.db.transaction() as session:
        return str((await session.execute(select(ModerationItem))).scalar_one().state)


async def test_a_card_is_approved_from_the_channel(workspace: Workspace) -> None:
    card = await submit_story(workspace)
    labels = [b["text"]["text"] for b in buttons_of(card)]
    assert [label.split()[-1] for label in labels] == [
        "Claim",
        "Approve",
        "Reject",
        "Redact",
        "Escalate",
    ]
    await click(workspace, "U0ANA", card, "Claim")
    assert "You are reviewing story #1" in await told(workspace, "U0ANA")
    claimed = await card_update(workspace, card, lambda text: "Being reviewed by ana" in text)
    await click(workspace, "U0ANA", claimed, "Approve")  # the card as refreshed in place
    assert "approved and will be published" in await told(workspace, "U0ANA", 2)
    updated = await card_update(workspace, card, lambda text: "published" in text.split("\n")[0])
    assert "By ana at" in "\n".join(texts_of(updated))
    assert [b["text"]["text"].split()[-1] for b in buttons_of(updated)] == ["down"]
    assert await item_state(workspace) == StoryState.PUBLISHED


async def test_a_stale_card_is_answered_with_who_decided(workspace: Workspace) -> None:
    card = await submit_story(workspace)
    await click(workspace, "U0ANA", card, "Escalate")
    await told(workspace, "U0ANA")
    await click(workspace, "U0BEN", card, "Approve")  # the card as Ben still saw it
    assert "already handled by ana" in await told(workspace, "U0BEN")
    assert await item_state(workspace) == StoryState.SAFETY_REVIEW


async def test_only_moderators_decide(workspace: Workspace) -> None:
    card = await submit_story(workspace)
    workspace.user("U0EVE")
    await click(workspace, "U0EVE", card, "Approve")
    assert "Only moderators can do this." in await told(workspace, "U0EVE")
    await click(workspace, "U0EVE", card, "Reject")  # no modal for them either
    assert "Only moderators can do this." in await told(workspace, "U0EVE", 2)
    assert workspace.api.calls("views.open") == [workspace.api.calls("views.open")[0]]
    assert await item_state(workspace) == StoryState.PENDING_REVIEW
    async with workspace.bot.deps.db.transaction() as session:
        refusals = (await session.execute(select(ModerationRefusal))).scalars().all()
    assert [r.refusal for r in refusals] == ["unknown_moderator", "unknown_moderator"]


async def test_reject_asks_for_a_reason_in_a_modal(workspace: Workspace) -> None:
    card = await submit_story(workspace)
    await click(workspace, "U0ANA", card, "Reject")
    opened = await workspace.api.wait_for_call("views.open", 2)
    assert opened.result is not None
    view = dict(opened.result["view"])
    assert view["callback_id"] == views.REASON_MODAL
    select_block = view["blocks"][0]
    assert "Why is story #1 rejected?" in select_block["label"]["text"]
    assert "off_topic" in [o["value"] for o in select_block["element"]["options"]]
    response = await workspace.deliver(
        workspace.make.view_submission("U0ANA", view, {"reason": {"selected": "off_topic"}})
    )
    assert response.status_code == 200
    assert "is rejected" in await told(workspace, "U0ANA")
    await card_update(workspace, card, lambda text: "rejected" in text.split("\n")[0])
    assert await item_state(workspace) == StoryState.REJECTED


async def test_redact_edits_the_text_in_a_modal(workspace: Workspace) -> None:
    card = await submit_story(workspace, text="I am Amina Haddad and I came from Aleppo.")
    await click(workspace, "U0ANA", card, "Redact")
    opened = await workspace.api.wait_for_call("views.open", 2)
    assert opened.result is not None
    view = dict(opened.result["view"])
    assert view["callback_id"] == views.REDACT_MODAL
    assert (
        view["blocks"][0]["element"]["initial_value"] == "I am Amina Haddad and I came from Aleppo."
    )
    await workspace.deliver(
        workspace.make.view_submission(
            "U0ANA", view, {"text": "I am Amina and I came from Aleppo."}
        )
    )
    assert "redacted version of story #1 is saved" in await told(workspace, "U0ANA")
    updated = await card_update(workspace, card, lambda text: "redacted revision 2" in text)
    assert "Haddad" not in "\n".join(texts_of(updated))
    async with workspace.bot.deps.db.transaction() as session:
        texts = (await session.execute(select(col(StoryRevision.text)))).scalars().all()
    assert sorted(texts) == [
        "I am Amina Haddad and I came from Aleppo.",
        "I am Amina and I came from Aleppo.",
    ]


async def test_escalate_sends_the_story_to_the_safety_team(workspace: Workspace) -> None:
    card = await submit_story(workspace)
    assert card.result is not None
    await click(workspace, "U0ANA", card, "Escalate")
    assert "sent to the safety team" in await told(workspace, "U0ANA")
    # Need-to-know: the card leaves the moderators' channel; a placeholder takes its place.
    placeholder = await posted_to(workspace, MOD_CHANNEL, 2)
    assert "awaits the safety team" in "\n".join(texts_of(placeholder))
    assert "Aleppo" not in "\n".join(texts_of(placeholder)) and buttons_of(placeholder) == []
    ts = card.result["ts"]
    await workspace.api.wait_until(
        lambda: [c.params["ts"] for c in workspace.api.calls("chat.delete")] == [ts]
    )
    assert await item_state(workspace) == StoryState.SAFETY_REVIEW


async def test_a_decision_on_another_surface_refreshes_the_slack_card(
    workspace: Workspace,
) -> None:
    card = await submit_story(workspace)
    async with workspace.bot.deps.db.transaction() as session:
        item = (await session.execute(select(ModerationItem))).scalar_one()
    assert item.id is not None
    lead = Moderator(id="lee", role=Role.LEAD, identity_keys=frozenset())
    # What the dashboard does: the same facade, from the web.
    outcome = await workspace.bot.review.act(
        lead, ActionRequest(ReviewAction.REJECT, item.id, item.version, "spam")
    )
    assert outcome.ok
    updated = await card_update(workspace, card, lambda text: "rejected" in text.split("\n")[0])
    assert "By lee at" in "\n".join(texts_of(updated)) and buttons_of(updated) == []


async def test_forged_and_repeated_clicks(workspace: Workspace) -> None:
    card = await submit_story(workspace)
    assert card.result is not None
    forged = {"action_id": "tb.choice.1", "value": "mod:approve:1", "text": {"text": "x"}}
    await workspace.deliver(workspace.make.button("U0ANA", forged, channel=MOD_CHANNEL))
    assert "no longer valid" in await told(workspace, "U0ANA")
    payload = workspace.make.button_payload(
        "U0ANA",
        card_button(card, "Claim"),
        channel=MOD_CHANNEL,
        message_ts=str(card.result["ts"]),
    )
    for _ in range(2):
        await workspace.deliver(workspace.make._interactive(payload))
    await told(workspace, "U0ANA", 2)
    assert len(workspace.api.calls("chat.postEphemeral")) == 2  # the repeat did nothing
    async with workspace.bot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
    assert story.state == StoryState.PENDING_REVIEW


async def test_a_published_story_is_taken_down_with_a_reason(workspace: Workspace) -> None:
    card = await submit_story(workspace)
    await click(workspace, "U0SOL", card, "Approve")
    published = await card_update(workspace, card, lambda text: "published" in text.split("\n")[0])
    await click(workspace, "U0SOL", published, "Take down")
    opened = await workspace.api.wait_for_call("views.open", 2)
    assert opened.result is not None
    view = dict(opened.result["view"])
    assert "Why is story #1 taken down?" in view["blocks"][0]["label"]["text"]
    await workspace.deliver(
        workspace.make.view_submission("U0SOL", view, {"reason": {"selected": "unsafe"}})
    )
    assert "taken down" in await told(workspace, "U0SOL", 2)
    await card_update(workspace, card, lambda text: "taken down" in text.split("\n")[0])
    assert await item_state(workspace) == StoryState.UNPUBLISHED
