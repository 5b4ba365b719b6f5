"""The whole bot through Slack: the real app, the fake Web API over real HTTP.

Direct messages run the pledge and story flows through the dialog engine; the Home tab
shows the live count; /pledge, /story and the shortcut; the story modal creates a story
through the chat flow's own checks and ``submit``; forged or stale requests are refused
with 401 before anything runs; a retried event and a repeated click have one effect.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from bot.adapters.slack import views
from bot.core.admission import Admission
from bot.handlers.pledge import total_text
from bot.i18n.formatting import format_count
from storage.db import Database
from storage.models import Participant, Pledge, ProcessedEvent, Story, StoryRevision, StoryState
from tests.adapters.slack.conftest import MOD_CHANNEL, SlackUser, Workspace
from tests.fakes.slack_api import Call, buttons_of, dm_channel, texts_of

STORY = "I left Aleppo in 2015 with my mother and two brothers.\n\nToday I study nursing in Osaka."


async def count(db: Database, model: Any) -> int:
    async with db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def take_pledge(user: SlackUser) -> None:
    await user.send("hello")
    assert "What would you like to do?" in user.text
    await user.tap("Take the pledge")
    assert "I stand #WithRefugees" in user.text
    await user.tap("I take the pledge")
    assert "Your pledge is counted" in user.text
    await user.send("Kenji")
    await user.send("Japan")
    assert "1 person has taken the pledge." in user.text


async def tell_story(user: SlackUser) -> None:
    await user.tap("Share your story") if user.seen else await user.send("/start story")
    await user.tap("My own migration story")
    assert "Do you agree" in user.text
    await user.tap("I agree")
    await user.tap("Yes, I am 18")
    await user.tap("first name")
    await user.send("Amina")
    assert "Which country do you come from" in user.text
    await user.send("Syria")
    await user.send("japan")
    assert "tell your story" in user.text
    await user.send(STORY.split("\n\n")[0])
    assert "characters so far" in user.text
    await user.send(STORY.split("\n\n")[1])
    await user.tap("I'm done")
    assert "one line" in user.text
    await user.send("Thank you for welcoming us.")
    assert "Here is your story" in user.text
    await user.tap("Submit my story")
    assert "Thank you for trusting us" in user.text


async def start_anonymous_story(user: SlackUser) -> None:
    """Through the questions to the story itself: anonymous, no countries."""
    await user.send("/start story")
    await user.tap("My own migration story")
    await user.tap("I agree")
    await user.tap("Yes, I am 18")
    await user.tap("Anonymous")
    await user.tap("Skip")
    await user.tap("Skip")


# -- direct messages ------------------------------------------------------------------------
async def test_pledge_in_a_direct_message(workspace: Workspace) -> None:
    user = workspace.user("U0KENJI")
    await take_pledge(user)
    async with workspace.bot.deps.db.transaction() as session:
        pledge = (await session.execute(select(Pledge))).scalar_one()
        participant = (await session.execute(select(Participant))).scalar_one()
    assert (pledge.display_name, pledge.country, pledge.state) == ("Kenji", "JP", "confirmed")
    assert (participant.platform, participant.external_id) == ("slack", "U0KENJI")
    assert participant.chat_id == dm_channel("U0KENJI")
    share = [b for c in user.last for b in buttons_of(c) if "url" in b]
    assert share and share[0]["url"].endswith("/?start=pledge")


async def test_story_in_a_direct_message(workspace: Workspace) -> None:
    user = workspace.user("U0AMINA")
    await tell_story(user)
    db = workspace.bot.deps.db
    async with db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
    assert (story.credit_name, story.origin_country, story.current_country) == ("Amina", "SY", "JP")
    assert story.state == StoryState.PENDING_REVIEW
    card = await posted_to(workspace, MOD_CHANNEL)
    assert "Story #1" in texts_of(card)[1]


async def posted_to(workspace: Workspace, channel: str, n: int = 1) -> Call:
    """The n-th message posted to ``channel``, once the outbox has sent it."""

    def posts() -> list[Call]:
        return [
            c
            for c in workspace.api.calls("chat.postMessage", ok_only=True)
            if c.params["channel"] == channel
        ]

    await workspace.api.wait_until(lambda: len(posts()) >= n)
    return posts()[n - 1]


async def test_an_edited_message_updates_the_story_draft(workspace: Workspace) -> None:
    user = workspace.user("U0EDIT")
    await start_anonymous_story(user)
    first = workspace.make.dm_event(user.user_id, "I came by sea.")
    await user._deliver(workspace.make.event(first))
    edit = {
        "type": "message",
        "subtype": "message_changed",
        "channel": user.channel,
        "channel_type": "im",
        "message": {
            "type": "message",
            "user": user.user_id,
            "text": "I came by land.",
            "ts": first["ts"],
        },
        "previous_message": {
            "type": "message",
            "user": user.user_id,
            "text": "I came by sea.",
            "ts": first["ts"],
        },
        "event_ts": workspace.make.next_ts(),
        "ts": workspace.make.next_ts(),
    }
    await user._deliver(workspace.make.event(edit))
    assert "updated that part of your story" in user.text
    await user.tap("I'm done")
    await user.tap("Skip")
    assert "I came by land." in user.text and "sea" not in user.text


async def test_the_app_s_own_messages_and_other_bots_are_ignored(workspace: Workspace) -> None:
    user = workspace.user("U0QUIET")
    own = workspace.make.dm_event("U0BOT", "echo", bot_id="B0BOT")
    other = workspace.make.dm_event(
        user.user_id, "from a bot", bot_id="B0OTHER", subtype="bot_message"
    )
    for event in (own, other):
        response = await workspace.deliver(workspace.make.event(event))
        assert response.status_code == 200
    assert workspace.api.calls("chat.postMessage") == []
    assert await count(workspace.bot.deps.db, Participant) == 0


# -- the App Home tab -----------------------------------------------------------------------
async def test_home_tab_shows_the_live_count_in_the_person_s_language(
    workspace: Workspace,
) -> None:
    await take_pledge(workspace.user("U0KENJI"))
    response = await workspace.deliver(workspace.make.home_opened("U0KENJI"))
    assert response.status_code == 200
    home = await workspace.api.wait_for_call("views.publish")
    assert home.params["user_id"] == "U0KENJI"
    assert "1 person has taken the pledge." in texts_of_view(home)
    # Someone whose Slack speaks Arabic: Arabic words and Arabic-Indic digits.
    workspace.user("U0LAYLA", locale="ar")
    await workspace.deliver(workspace.make.home_opened("U0LAYLA"))
    arabic = await workspace.api.wait_for_call("views.publish", 2)
    translator = workspace.bot.deps.translator
    with translator.use("ar") as active:
        expected = total_text(1, active)
    assert format_count(1, "ar") == "١" and expected in texts_of_view(arabic)
    # The messages tab also sends app_home_opened: nothing to publish there.
    await workspace.deliver(workspace.make.home_opened("U0KENJI", tab="messages"))
    assert len(workspace.api.calls("views.publish")) == 2


async def test_home_tab_pledge_button_opens_the_pledge_in_the_dm(workspace: Workspace) -> None:
    user = workspace.user("U0HOME")
    await workspace.deliver(workspace.make.home_opened(user.user_id))
    home = await workspace.api.wait_for_call("views.publish")
    pledge = next(b for b in buttons_of(home) if b["action_id"] == views.HOME_PLEDGE)
    await user._deliver(workspace.make.home_button(user.user_id, pledge))
    assert "I stand #WithRefugees" in user.text
    assert workspace.api.calls("conversations.open")[0].params["users"] == user.user_id
    story = next(b for b in buttons_of(home) if b["action_id"] == views.HOME_STORY)
    await workspace.deliver(workspace.make.home_button(user.user_id, story))
    modal = await workspace.api.wait_for_call("views.open")
    assert modal.params["view"]["callback_id"] == views.STORY_MODAL


def texts_of_view(call: Call) -> str:
    return "\n".join(
        str(block["text"]["text"]) for block in call.params["view"]["blocks"] if "text" in block
    )


# -- slash commands and the shortcut ---------------------------------------------------------
async def test_pledge_command_continues_in_the_dm(workspace: Workspace) -> None:
    user = workspace.user("U0CMD")
    in_dm = await workspace.post(workspace.make.command(user.user_id, "/pledge"))
    assert in_dm.status_code == 200 and in_dm.text == ""
    await workspace.adapter.drain()
    prompt = [
        c for c in workspace.api.calls("chat.postMessage") if c.params["channel"] == user.channel
    ]
    assert prompt and "I stand #WithRefugees" in texts_of(prompt[-1])[1]
    # Typed in a channel: the answer there says where to look; the pledge is in the DM.
    in_channel = await workspace.post(
        workspace.make.command(user.user_id, "/pledge", channel="C0GEN")
    )
    assert in_channel.status_code == 200 and "direct message" in in_channel.text
    await workspace.adapter.drain()
    assert all(c.params["channel"] != "C0GEN" for c in workspace.api.calls("chat.postMessage"))


async def test_story_command_and_shortcut_open_the_story_modal(workspace: Workspace) -> None:
    workspace.user("U0MODAL", locale="ja-JP")
    await workspace.deliver(workspace.make.command("U0MODAL", "/story"))
    modal = await workspace.api.wait_for_call("views.open")
    view = modal.params["view"]
    assert view["type"] == "modal" and view["callback_id"] == views.STORY_MODAL
    assert views.metadata(view) == {"locale": "ja"}
    ids = [b.get("block_id") for b in view["blocks"] if b["type"] == "input"]
    assert ids == [
        "kind",
        "consent",
        "is_adult",
        "guardian",
        "credit_mode",
        "credit_name",
        "origin",
        "residence",
        "text",
        "community_message",
    ]
    assert all(len(view[k]["text"]) <= 24 for k in ("title", "submit", "close"))
    await workspace.deliver(workspace.make.shortcut("U0MODAL", views.SHARE_STORY_SHORTCUT))
    again = await workspace.api.wait_for_call("views.open", 2)
    assert again.params["view"]["callback_id"] == views.STORY_MODAL


# -- the story modal -------------------------------------------------------------------------
ANSWERS: dict[str, Any] = {
    "consent": {"selected": "c:yes"},
    "is_adult": {"selected": "c:yes"},
    "credit_mode": {"selected": "c:first_name"},
    "credit_name": "Amina",
    "origin": "Syria",
    "residence": "japan",
    "text": STORY,
    "community_message": "Thank you for welcoming us.",
}


async def open_story_modal(workspace: Workspace, user_id: str) -> dict[str, Any]:
    await workspace.deliver(workspace.make.command(user_id, "/story"))
    call = await workspace.api.wait_for_call("views.open", len(workspace.api.calls("views.open")))
    assert call.result is not None
    return dict(call.result["view"])


async def test_a_submitted_story_modal_creates_a_story_for_review(workspace: Workspace) -> None:
    user = workspace.user("U0FORM")
    view = await open_story_modal(workspace, user.user_id)
    response = await workspace.post(workspace.make.view_submission(user.user_id, view, ANSWERS))
    assert response.status_code == 200 and response.text == ""  # the modal closes
    await workspace.adapter.drain()
    db = workspace.bot.deps.db
    async with db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
        revision = (await session.execute(select(StoryRevision))).scalar_one()
        participant = (await session.execute(select(Participant))).scalar_one()
    assert story.state == StoryState.PENDING_REVIEW
    assert (story.credit_mode, story.credit_name) == ("first_name", "Amina")
    assert (story.origin_country, story.current_country) == ("SY", "JP")
    assert story.community_message == "Thank you for welcoming us."
    assert revision.text == STORY and story.consent_version == participant.consent_version
    assert participant.consent_at is not None
    thanks = await posted_to(workspace, user.channel)
    assert "Thank you for trusting us" in texts_of(thanks)[1]
    card = await posted_to(workspace, MOD_CHANNEL)
    assert "Story #1" in texts_of(card)[1]


async def test_a_story_modal_with_problems_shows_them_and_stores_nothing(
    workspace: Workspace,
) -> None:
    user = workspace.user("U0FORM")
    view = await open_story_modal(workspace, user.user_id)
    wrong = {**ANSWERS, "credit_name": "", "origin": "Atlantis", "residence": "Congo"}
    response = await workspace.post(workspace.make.view_submission(user.user_id, view, wrong))
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"credit_name", "origin", "residence"}
    assert "Please type your name." in answer["errors"]["credit_name"]
    assert "Which country do you mean?" in answer["errors"]["residence"]
    await workspace.adapter.drain()
    assert await count(workspace.bot.deps.db, Story) == 0
    assert await count(workspace.bot.deps.db, ProcessedEvent) == 0


async def test_a_storyteller_under_18_is_told_who_can_share_it(workspace: Workspace) -> None:
    user = workspace.user("U0YOUNG")
    view = await open_story_modal(workspace, user.user_id)
    young = {**ANSWERS, "is_adult": {"selected": "c:no"}}
    response = await workspace.post(workspace.make.view_submission(user.user_id, view, young))
    errors = response.json()["errors"]
    assert "a parent, guardian or teacher needs to share it" in errors["is_adult"]
    await workspace.adapter.drain()
    assert await count(workspace.bot.deps.db, Story) == 0


async def test_a_childs_story_from_the_modal_is_never_named(workspace: Workspace) -> None:
    user = workspace.user("U0TEACHER")
    view = await open_story_modal(workspace, user.user_id)
    child = {
        **ANSWERS,
        "is_adult": {"selected": "c:child"},
        "credit_mode": {"selected": "c:full_name"},
        "credit_name": "Amina Haddad",
    }
    response = await workspace.post(workspace.make.view_submission(user.user_id, view, child))
    assert "guardian" in response.json()["errors"]  # not without the adult's confirmation
    confirmed = {**child, "guardian": {"selected": "c:yes"}}
    await workspace.deliver(workspace.make.view_submission(user.user_id, view, confirmed))
    async with workspace.bot.deps.db.transaction() as session:
        story = (await session.execute(select(Story))).scalar_one()
    assert (story.credit_mode, story.credit_name, story.is_adult) == ("anonymous", None, False)
    assert story.guardian_consent_at is not None
    assert story.state == StoryState.SAFETY_REVIEW


async def test_a_story_being_told_in_the_dm_survives_a_modal_story(workspace: Workspace) -> None:
    user = workspace.user("U0BOTH")
    await user.send("/start story")
    await user.tap("My own migration story")
    await user.tap("I agree")
    view = await open_story_modal(workspace, user.user_id)
    await workspace.deliver(workspace.make.view_submission(user.user_id, view, ANSWERS))
    await user.tap("Yes, I am 18")  # the chat flow goes on where it was
    assert "how should we credit you" in user.text


# -- verification and redelivery -------------------------------------------------------------
async def test_bad_signature_and_stale_timestamp_are_refused_before_anything_runs(
    workspace: Workspace,
) -> None:
    workspace.user("U0EVE")
    make = workspace.make
    body, headers = make.event(make.dm_event("U0EVE", "hello"))
    forged = {**headers, "x-slack-signature": "v0=" + "0" * 64}
    tampered = body.replace(b"hello", b"hullo")
    stale_body, stale = make.event(
        make.dm_event("U0EVE", "hello"), timestamp=int(time.time()) - 301
    )
    unsigned = {"content-type": headers["content-type"]}
    for request in ((body, forged), (tampered, headers), (stale_body, stale), (body, unsigned)):
        response = await workspace.post(request)
        assert response.status_code == 401
    command, command_headers = make.command("U0EVE", "/pledge")
    bad = {**command_headers, "x-slack-signature": make.sign(command, 1)}
    assert (await workspace.post((command, bad))).status_code == 401
    await workspace.adapter.drain()
    assert [c.method for c in workspace.api.all_calls] == ["auth.test"]  # at start only
    assert await count(workspace.bot.deps.db, ProcessedEvent) == 0
    assert workspace.adapter.processed == 0


async def test_a_retried_event_has_one_effect(workspace: Workspace) -> None:
    user = workspace.user("U0RETRY")
    await user.send("/pledge")
    await user.tap("I take the pledge")
    event = workspace.make.dm_event(user.user_id, "Kenji")
    first = await user._deliver(workspace.make.event(event, event_id="Ev0RETRY"))
    assert first
    retried = await user._deliver(workspace.make.event(event, event_id="Ev0RETRY", retry=1))
    assert retried == []  # acknowledged, and nothing said twice
    async with workspace.bot.deps.db.transaction() as session:
        pledge = (await session.execute(select(Pledge))).scalar_one()
    assert pledge.display_name == "Kenji"


async def test_a_repeated_click_has_one_effect(workspace: Workspace) -> None:
    user = workspace.user("U0TWICE")
    await user.send("/pledge")
    _call, button = user.button("I take the pledge")
    payload = workspace.make.button_payload(user.user_id, button, message_ts="1.0")
    once = await user._deliver(workspace.make._interactive(payload))
    twice = await user._deliver(workspace.make._interactive(payload))
    assert once and twice == []
    assert await count(workspace.bot.deps.db, Pledge) == 1


# -- user text is text ----------------------------------------------------------------------
async def test_mentions_in_a_story_never_ping_anyone(workspace: Workspace) -> None:
    user = workspace.user("U0PING")
    view = await open_story_modal(workspace, user.user_id)
    text = "Hello <!channel> and <@U0ANA> & friends"
    await workspace.deliver(
        workspace.make.view_submission(user.user_id, view, {**ANSWERS, "text": text})
    )
    card = await posted_to(workspace, MOD_CHANNEL)
    assert_never_pings(card)
    # (Screening marks the handle as a link: ⟦@U0ANA⟧[link].)
    assert "Hello &lt;!channel&gt; and &lt;⟦@U0ANA⟧[link]&gt; &amp; friends" in card.params["text"]
    shown = "\n".join(texts_of(card)[1:])
    assert "Hello <!channel> and <⟦@U0ANA⟧[link]> & friends" in shown  # as written, plain_text
    # In the chat: what the person typed comes back as text too.
    await start_anonymous_story(user)
    # Slack escapes what a person types and writes their @channel as a mention.
    await user.send("I typed &lt;!here&gt; and said <!channel> to <@U0ANA|ana>")
    await user.tap("I'm done")
    await user.tap("Skip")
    preview = user.last[-1]
    assert_never_pings(preview)
    assert "I typed <!here> and said @channel to @ana" in "\n".join(texts_of(preview)[1:])
    assert "I typed &lt;!here&gt; and said @channel to @ana" in preview.params["text"]


def assert_never_pings(call: Call) -> None:
    """Slack reads mentions only in mrkdwn: the fallback text is escaped, blocks are plain."""
    fallback = str(call.params["text"])
    assert "<" not in fallback and ">" not in fallback
    for block in call.params["blocks"]:
        if "text" in block:
            assert block["text"]["type"] == "plain_text"


async def test_an_event_beyond_the_bound_is_left_for_slack_to_send_again(
    workspace: Workspace,
) -> None:
    """Too many turns in flight (admission control): the event is not acknowledged, so
    Slack sends it again; the retry is handled, once."""
    user = workspace.user("U0BUSY")
    workspace.bot.core.admission = Admission(1)
    event = workspace.make.dm_event(user.user_id, "/pledge")
    async with workspace.bot.core.admission.admit():  # the one place is taken
        refused = await workspace.post(workspace.make.event(event, event_id="Ev0BUSY"))
    assert refused.status_code >= 500
    assert workspace.api.calls("chat.postMessage") == []
    answered = await user._deliver(workspace.make.event(event, event_id="Ev0BUSY", retry=1))
    assert answered  # the pledge, on Slack's retry
    again = await user._deliver(workspace.make.event(event, event_id="Ev0BUSY", retry=2))
    assert again == []  # and only once
