"""The feeds carry the published files: RSS enclosures and JSON attachments, with
absolute URLs, their type and size; never a file a moderator did not choose."""

from __future__ import annotations

import httpx

from bot.app import Bot
from tests import media_samples as samples
from tests.web.helpers import parse_rss
from tests.web.test_wall_media import attach, path_of, published_story


async def test_rss_enclosures_and_json_attachments(bot: Bot, client: httpx.AsyncClient) -> None:
    _item, story_id = await published_story(bot)
    photo = await attach(bot, story_id, samples.jpeg_with_gps(width=2000, height=1000), alt="A bus")
    await attach(bot, story_id, samples.jpeg_with_gps(), publish=False, position=1)
    voice = await attach(bot, story_id, samples.ogg_opus_with_tags(), position=2)
    _other, bare_id = await published_story(bot, "omar")
    base = bot.settings.resolved_public_url

    full = await client.get(path_of(photo, "full"))
    recording = await client.get(path_of(voice))
    expected = [
        (f"{base}{path_of(photo, 'full')}", str(len(full.content)), "image/jpeg"),
        (f"{base}{path_of(voice)}", str(len(recording.content)), "audio/ogg"),
    ]

    rss = parse_rss((await client.get("/stories.rss")).content)
    items = {item.findtext("link"): item for item in rss.iter("item")}
    with_files = items[f"{base}/stories/{story_id}"]
    enclosures = [
        (e.get("url"), e.get("length"), e.get("type")) for e in with_files.iter("enclosure")
    ]
    assert enclosures == expected
    assert list(items[f"{base}/stories/{bare_id}"].iter("enclosure")) == []

    feed = {s["id"]: s for s in (await client.get("/stories.json")).json()["stories"]}
    assert feed[story_id]["image"] == f"{base}{path_of(photo, 'thumb')}"
    assert feed[story_id]["attachments"] == [
        {
            "url": expected[0][0],
            "mime_type": "image/jpeg",
            "size_in_bytes": len(full.content),
            "kind": "photo",
            "alt_text": "A bus",
            "thumbnail_url": f"{base}{path_of(photo, 'thumb')}",
        },
        {
            "url": expected[1][0],
            "mime_type": "audio/ogg",
            "size_in_bytes": len(recording.content),
            "kind": "voice",
            "alt_text": None,
        },
    ]
    assert feed[bare_id]["image"] is None and feed[bare_id]["attachments"] == []
    # Every URL a feed gives is served.
    for url, _length, _type in expected:
        assert (await client.get(url.removeprefix(base))).status_code == 200
