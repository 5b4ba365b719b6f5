"""Slack media: a photo shared in the DM is fetched with the bot token (files.info, then
its private URL), kept cleaned, and the moderators' card links to it on the dashboard."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import StoryMedia
from tests import media_samples as samples
from tests.adapters.slack.conftest import MOD_CHANNEL, Workspace
from tests.adapters.slack.test_end_to_end import posted_to, start_anonymous_story
from tests.fakes.slack_api import buttons_of, texts_of


def shared(file_id: str, size: int) -> dict[str, object]:
    return {
        "subtype": "file_share",
        "files": [{"id": file_id, "mimetype": "image/jpeg", "size": size}],
    }


async def test_a_shared_photo_is_kept_cleaned_and_the_card_links_to_it(
    workspace: Workspace,
) -> None:
    user = workspace.user("U0AMINA")
    await start_anonymous_story(user)
    photo = samples.jpeg_with_gps()
    workspace.api.add_file("F0PHOTO", photo)
    await user.send("Our boat", **shared("F0PHOTO", len(photo)))
    assert "removed the location" in user.text and "characters so far" in user.text
    downloads = workspace.api.calls("file")
    assert [c.status for c in downloads] == [200]  # with the bot token
    await user.tap("I'm done")
    await user.tap("Skip")
    await user.tap("Submit my story")
    async with workspace.bot.deps.db.transaction() as session:
        media = (await session.execute(select(StoryMedia))).scalar_one()
    assert (media.platform, media.kind) == ("slack", "photo") and media.ref.startswith("local:")
    kept = await workspace.bot.deps.media.read(media.ref.removeprefix("local:"))
    assert kept is not None and not samples.leaks(kept)

    card = await posted_to(workspace, MOD_CHANNEL)
    links = [b for b in buttons_of(card) if "url" in b]
    assert len(links) == 1 and "files" in links[0]["text"]["text"]
    assert links[0]["url"].endswith(f"/moderation/items/{media.story_id}")


async def test_a_file_slack_will_not_give_is_explained_and_the_text_kept(
    workspace: Workspace,
) -> None:
    user = workspace.user("U0AMINA")
    await start_anonymous_story(user)
    await user.send("We crossed at night.", **shared("F0GONE", 1000))  # files.info: not found
    assert "could not receive your file" in user.text and "20 characters so far" in user.text
    assert workspace.api.calls("file") == []


async def test_a_download_slack_fails_once_is_tried_again_and_kept(
    workspace: Workspace,
) -> None:
    assert workspace.bot.core.media is not None
    workspace.bot.core.media.backoff = 0.0
    user = workspace.user("U0AMINA")
    await start_anonymous_story(user)
    photo = samples.jpeg_with_gps()
    workspace.api.add_file("F0PHOTO", photo)
    workspace.api.fail("files.info", status=500)  # Slack's server error, once
    await user.send("Our boat", **shared("F0PHOTO", len(photo)))
    assert "could not receive" not in user.text and "characters so far" in user.text
    assert [c.status for c in workspace.api.calls("files.info")] == [500, 200]
    assert [c.status for c in workspace.api.calls("file")] == [200]


async def test_a_file_that_never_arrives_is_noted_on_the_moderators_card(
    workspace: Workspace,
) -> None:
    assert workspace.bot.core.media is not None
    workspace.bot.core.media.backoff = 0.0
    user = workspace.user("U0AMINA")
    await start_anonymous_story(user)
    photo = samples.jpeg_with_gps()
    workspace.api.add_file("F0PHOTO", photo)
    workspace.api.fail("files.info", status=500, times=10)
    await user.send("We crossed at night.", **shared("F0PHOTO", len(photo)))
    assert "could not receive your file" in user.text and "20 characters so far" in user.text
    assert len(workspace.api.calls("files.info")) == 3
    await user.tap("I'm done")
    await user.tap("Skip")
    await user.tap("Submit my story")
    async with workspace.bot.deps.db.transaction() as session:
        assert (await session.execute(select(StoryMedia))).first() is None
    card = await posted_to(workspace, MOD_CHANNEL)
    text = " ".join(texts_of(card))
    assert "1 file could not be received; the storyteller was asked to send it again." in text
    assert not [b for b in buttons_of(card) if "url" in b]  # no file to open
