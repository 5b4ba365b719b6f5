"""Readers on Slack: /stories and /facts (and the Home tab's buttons) answer in the DM,
and a story's card shows the photo a moderator published, by its public address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.adapters.slack import views
from bot.config import Settings
from bot.core.events import MediaKind, MediaRef, Outgoing
from bot.review.service import ActionRequest, ReviewAction
from moderation.actors import Moderator
from moderation.presentation import FileChoice
from moderation.states import Role
from storage.db import Database
from tests import media_samples as samples
from tests.adapters.slack.conftest import SlackUser, Workspace, open_workspace, slack_settings
from tests.fakes.slack_api import Call, FakeSlackApi, buttons_of, texts_of
from tests.web.helpers import item_row, publish, tell
from tests.web.test_wall_media import attach, path_of

PUBLIC = "https://together.example.org"


async def published_item(workspace: Workspace, user: str = "amina") -> tuple[int, int]:
    """A story told in chat and published: its moderation item's id and its id."""
    item_id = await tell(workspace.bot, user)
    await publish(workspace.bot, item_id)
    # The app's own outbox worker may be the one publishing it: wait for it.
    await workspace.sent.wait_for(lambda due: "publish" in due.payload)
    return item_id, (await item_row(workspace.bot, item_id)).story_id


async def published_story(workspace: Workspace, user: str = "amina") -> int:
    """A story told in chat and published; its id."""
    return (await published_item(workspace, user))[1]


def story_card(user: SlackUser) -> Call:
    """The story card among the last answers ``user`` got."""
    [card] = [c for c in user.last if "Thank you for welcoming us." in "\n".join(texts_of(c))]
    return card


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


# -- a story's published photo, by its public address -----------------------------------------
@pytest.fixture
async def public(moderated: Settings, db: Database, api: FakeSlackApi) -> AsyncIterator[Workspace]:
    """The workspace of a bot with a public address (``PUBLIC_URL``)."""
    settings = moderated.model_copy(update={"public_url": PUBLIC})
    async for ws in open_workspace(slack_settings(settings, api), db, api):
        yield ws


def images_of(call: Call) -> list[dict[str, Any]]:
    return [b for b in call.params.get("blocks") or [] if b["type"] == "image"]


async def test_a_story_card_shows_its_published_photo_by_its_public_address(
    public: Workspace,
) -> None:
    item_id, story_id = await published_item(public)
    hidden = await attach(
        public.bot, story_id, samples.jpeg_with_gps(width=40, height=40), publish=False
    )
    photo = await attach(
        public.bot,
        story_id,
        samples.jpeg_with_gps(width=800, height=400),
        alt="Amina's garden",
        position=1,
    )
    plain = await attach(
        public.bot, story_id, samples.jpeg_with_gps(width=60, height=60), position=2
    )
    voice = await attach(public.bot, story_id, samples.ogg_opus_with_tags(), position=3)
    user = public.user("U0LOOK")
    await user.command("/stories")
    card = story_card(user)
    assert images_of(card) == [
        {"type": "image", "image_url": PUBLIC + path_of(photo), "alt_text": "Amina's garden"},
        {"type": "image", "image_url": PUBLIC + path_of(plain), "alt_text": "Photo"},
    ]
    everything = str(card.params)
    assert path_of(hidden) not in everything and path_of(voice) not in everything
    # The voice note is on the story's page, one tap away.
    links = {b["text"]["text"]: b.get("url") for b in buttons_of(card)}
    assert links["🌐 Open the story's page"] == f"{PUBLIC}/stories/{story_id}"
    # The address is the wall's: it serves the photo, and nothing for the hidden one.
    assert (await public.http.get(path_of(photo))).status_code == 200
    assert (await public.http.get(path_of(hidden))).status_code == 404

    # The moderator hides the photo: the next card does not show it.
    item = await item_row(public.bot, item_id)
    outcome = await public.bot.review.act(
        Moderator(id="lea", role=Role.LEAD),
        ActionRequest(ReviewAction.MEDIA, item_id, item.version),
        file=FileChoice(photo.id or 0, publish=False, alt_text="Amina's garden"),
    )
    assert outcome.ok, outcome.message
    other = public.user("U0NEXT")  # (the first reader has seen the only story)
    await other.command("/stories")
    assert [i["image_url"] for i in images_of(story_card(other))] == [PUBLIC + path_of(plain)]


async def test_without_a_public_address_a_story_card_shows_no_photo(workspace: Workspace) -> None:
    assert not workspace.bot.settings.public_url
    story_id = await published_story(workspace)
    await attach(workspace.bot, story_id, samples.jpeg_with_gps(width=80, height=40), alt="A tree")
    user = workspace.user("U0NOURL")
    await user.command("/stories")
    card = story_card(user)
    assert images_of(card) == [] and "/stories/media/" not in str(card.params)


async def test_no_address_is_ever_made_for_a_file_nobody_may_see(public: Workspace) -> None:
    """Whatever a message carries (a person's own upload, a file the moderator did not
    publish, a published story's file once it is taken down), only what anyone may see
    now gets an address."""
    item_id, story_id = await published_item(public)
    hidden = await attach(
        public.bot, story_id, samples.jpeg_with_gps(width=40, height=40), publish=False
    )
    photo = await attach(
        public.bot, story_id, samples.jpeg_with_gps(width=80, height=40), alt="A tree"
    )
    stored = await public.bot.deps.media.ingest(
        samples.jpeg_with_gps(width=50, height=50), owner="cd" * 12
    )
    own = MediaRef(kind=MediaKind.PHOTO, ref=f"local:{stored.name}")
    message = Outgoing(
        text="a card",
        media=(*(MediaRef(kind=MediaKind.PHOTO, ref=r.ref) for r in (hidden, photo)), own),
    )
    images = public.adapter.sender.images
    assert images is not None
    assert [i.url for i in await images(message)] == [PUBLIC + path_of(photo)]
    item = await item_row(public.bot, item_id)
    outcome = await public.bot.review.act(
        Moderator(id="lea", role=Role.LEAD),
        ActionRequest(ReviewAction.UNPUBLISH, item_id, item.version, "other"),
    )
    assert outcome.ok, outcome.message
    assert await images(message) == ()
