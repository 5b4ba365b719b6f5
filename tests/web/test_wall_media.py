"""Published files on the wall: only a moderator's chosen files of a published story,
photos as smaller copies without metadata, voice and video with ranges for the player."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image

from bot.app import Bot
from bot.web.media import media_path
from moderation import decisions
from moderation.actors import Moderator, Storyteller
from moderation.reasons import ReasonCode
from moderation.states import Role
from storage.media import MediaStore
from storage.models import Story, StoryMedia
from tests import media_samples as samples
from tests.web.helpers import item_row, publish, tell
from tests.web.test_wall_cards import meta

OWNER = "ab" * 12


async def attach(
    bot: Bot,
    story_id: int,
    data: bytes,
    *,
    publish: bool = True,
    alt: str | None = None,
    position: int = 0,
) -> StoryMedia:
    """Keep ``data`` in the media store as a file of the story (as intake does)."""
    stored = await bot.deps.media.ingest(data, owner=OWNER)
    row = StoryMedia(
        story_id=story_id,
        position=position,
        kind=stored.kind.value,
        platform="webchat",
        ref=f"local:{stored.name}",
        mime=stored.mime,
        size=stored.size,
        publish=publish,
        alt_text=alt,
    )
    async with bot.deps.db.transaction() as session:
        session.add(row)
        await session.flush()
        await session.refresh(row)
    return row


async def published_story(bot: Bot, user: str = "amina") -> tuple[int, int]:
    item_id = await tell(bot, user)
    await publish(bot, item_id)
    return item_id, (await item_row(bot, item_id)).story_id


def path_of(row: StoryMedia, size: str = "full") -> str:
    path = media_path(row, size)
    assert path is not None
    return path


async def test_a_photo_is_served_as_two_clean_sizes(bot: Bot, client: httpx.AsyncClient) -> None:
    _item, story_id = await published_story(bot)
    photo = await attach(
        bot, story_id, samples.jpeg_with_gps(width=2000, height=1000), alt="Amina's garden"
    )
    page = (await client.get("/stories")).text
    thumb, full = path_of(photo, "thumb"), path_of(photo, "full")
    assert (
        f'<a href="{full}"><img src="{thumb}" alt="Amina&#39;s garden" loading="lazy" '
        'decoding="async"></a>'
    ) in page
    story_page = (await client.get(f"/stories/{story_id}")).text
    base = bot.settings.resolved_public_url
    assert meta(story_page, "og:image") == f"{base}{thumb}"
    assert meta(story_page, "twitter:image") == f"{base}{thumb}"
    assert meta(story_page, "og:image:alt") == "Amina&#39;s garden"
    assert meta(story_page, "twitter:card") == "summary_large_image"
    assert f'srcset="{thumb} 480w, {full} 1600w"' in story_page

    for path, size in ((thumb, (480, 240)), (full, (1600, 800))):
        served = await client.get(path)
        assert served.status_code == 200, path
        assert served.headers["content-type"] == "image/jpeg"
        assert served.headers["cache-control"] == "public, max-age=60"
        assert not samples.leaks(served.content)
        with Image.open(io.BytesIO(served.content)) as image:
            assert image.size == size
            assert not image.getexif() and "exif" not in image.info
            assert "icc_profile" not in image.info and "comment" not in image.info
        again = await client.get(path, headers={"If-None-Match": served.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    # The copies are made once, kept as files of the storyteller (erased with them).
    name = photo.ref.removeprefix("local:")
    store: MediaStore = bot.deps.media
    copies = [store.derived_name(name, width) for width in (480, 1600)]
    assert all(c is not None and store.path(c) is not None for c in copies)
    assert await store.delete([name]) == 1
    assert all(store.path(c or "") is None for c in copies)


async def test_a_small_transparent_photo_is_not_enlarged(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    _item, story_id = await published_story(bot)
    photo = await attach(bot, story_id, samples.png_with_text())
    served = await client.get(path_of(photo, "full"))
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert not samples.leaks(served.content)
    with (
        Image.open(io.BytesIO(served.content)) as image,
        Image.open(io.BytesIO(samples.png_with_text())) as original,
    ):
        assert image.size == original.size and image.mode == "RGB"


async def test_voice_and_video_play_and_seek(bot: Bot, client: httpx.AsyncClient) -> None:
    _item, story_id = await published_story(bot)
    voice = await attach(bot, story_id, samples.ogg_opus_with_tags(), alt="A song")
    video = await attach(bot, story_id, samples.mp4_with_location(), position=1)
    page = (await client.get(f"/stories/{story_id}")).text
    assert f'<audio controls preload="none" src="{path_of(voice)}" aria-label="A song">' in page
    assert f'<video controls preload="none" src="{path_of(video)}" aria-label="Video">' in page

    for row, mime in ((voice, "audio/ogg"), (video, "video/mp4")):
        path = path_of(row)
        whole = await client.get(path)
        assert whole.status_code == 200 and whole.headers["content-type"] == mime
        assert whole.headers["accept-ranges"] == "bytes"
        assert not samples.leaks(whole.content)
        size = len(whole.content)
        part = await client.get(path, headers={"Range": "bytes=4-13"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 4-13/{size}"
        assert part.content == whole.content[4:14]
        tail = await client.get(path, headers={"Range": "bytes=-5"})
        assert tail.status_code == 206 and tail.content == whole.content[-5:]
        beyond = await client.get(path, headers={"Range": f"bytes={size}-"})
        assert beyond.status_code == 416
        assert beyond.headers["content-range"] == f"bytes */{size}"
        head = await client.head(path)
        assert head.status_code == 200 and head.headers["content-length"] == str(size)
        # A voice note or video has no sizes.
        assert (await client.get(path_of(row).replace(".", "-thumb.", 1))).status_code == 404


async def test_only_files_a_moderator_chose_are_shown_or_served(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    _item, story_id = await published_story(bot)
    hidden = await attach(bot, story_id, samples.jpeg_with_gps(), publish=False)
    page = (await client.get(f"/stories/{story_id}")).text
    assert "/stories/media/" not in page and meta(page, "og:image") is None
    for size in ("thumb", "full"):
        assert (await client.get(path_of(hidden, size))).status_code == 404
    name = hidden.ref.removeprefix("local:")
    assert bot.deps.media.path(bot.deps.media.derived_name(name, 480) or "") is None

    # A story waiting for review: not even its chosen files.
    waiting = await tell(bot, "omar")
    waiting_story = (await item_row(bot, waiting)).story_id
    chosen = await attach(bot, waiting_story, samples.jpeg_with_gps())
    assert (await client.get(path_of(chosen, "thumb"))).status_code == 404


async def test_names_that_are_not_ours_are_404(bot: Bot, client: httpx.AsyncClient) -> None:
    _item, story_id = await published_story(bot)
    photo = await attach(bot, story_id, samples.jpeg_with_gps())
    good = path_of(photo, "thumb")
    assert (await client.get(good)).status_code == 200
    media_id, signature = re.findall(r"/(\d+)-([0-9a-f]{16})-", good)[0]
    stored = photo.ref.removeprefix("local:")
    for name in (
        f"{media_id}-{'0' * 16}-thumb.jpg",  # the wrong hash
        f"{media_id}-{signature}.jpg",  # a photo without a size: the original is never served
        f"{media_id}-{signature}-thumb.png",
        f"{media_id}-{signature}-huge.jpg",
        f"{int(media_id) + 1}-{signature}-thumb.jpg",
        f"99999999999-{signature}-thumb.jpg",
        stored,
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        f"{media_id}-{signature}-thumb.jpg%00.png",
    ):
        answer = await client.get(f"/stories/media/{name}")
        assert answer.status_code == 404, name
    # The webchat's /media/ route never serves a published file to a stranger either.
    assert (await client.get(f"/media/{stored}")).status_code == 404


async def test_a_story_leaving_the_wall_takes_its_files_along(
    bot: Bot, client: httpx.AsyncClient
) -> None:
    removals = {
        "withdrawn": lambda s, item, teller: decisions.withdraw(
            s, item_id=item.id, storyteller=Storyteller(teller)
        ),
        "taken down": lambda s, item, teller: decisions.unpublish(
            s,
            item_id=item.id,
            version=item.version,
            moderator=Moderator(id="lea", role=Role.LEAD),
            reason=ReasonCode.PERSONAL_DATA,
        ),
        "erased": lambda s, item, teller: decisions.erase(s, item_id=item.id),
    }
    for number, (how, remove) in enumerate(removals.items()):
        item_id, story_id = await published_story(bot, f"teller-{number}")
        photo = await attach(bot, story_id, samples.jpeg_with_gps())
        voice = await attach(bot, story_id, samples.ogg_opus_with_tags(), position=1)
        paths = [path_of(photo, "thumb"), path_of(photo, "full"), path_of(voice)]
        for path in paths:
            assert (await client.get(path)).status_code == 200, (how, path)
        item = await item_row(bot, item_id)
        async with bot.deps.db.transaction() as session:
            story = await session.get(Story, story_id)
            assert story is not None
            await remove(session, item, story.participant_id)
        for path in paths:
            assert (await client.get(path)).status_code == 404, (how, path)
        assert "/stories/media/" not in (await client.get("/stories")).text
