"""Files a person sends on WhatsApp: ``GET /<media id>`` for the URL, then the file with the
bearer token, capped by size (as Graph reports it, and as it arrives); then cleaned into
the media store like every platform's."""

from __future__ import annotations

import pytest

from bot.adapters.whatsapp.media import WhatsAppFetcher
from bot.core.events import MediaKind, MediaRef
from bot.core.media import FetchFailed
from storage.media import MediaRefused, Refusal
from tests.adapters.whatsapp.conftest import Phone
from tests.media_samples import MARKER, jpeg_with_gps

WA_ID = "15550123456"


def fetcher(phone: Phone) -> WhatsAppFetcher:
    return WhatsAppFetcher(phone.adapter.client, phone.adapter.http, phone.api.base_url)


def photo(media_id: str) -> MediaRef:
    return MediaRef(MediaKind.PHOTO, media_id, "image/jpeg")


async def test_a_file_is_fetched_through_the_media_endpoint(phone: Phone) -> None:
    content = jpeg_with_gps()
    phone.api.add_media("4490709327384033", content)
    assert await fetcher(phone)(photo("4490709327384033"), 1024 * 1024) == content
    assert [c.endpoint for c in phone.api.all_calls] == ["media_url", "download"]


async def test_a_file_larger_than_the_cap_is_refused_before_the_download(phone: Phone) -> None:
    phone.api.add_media("1", b"x" * 5000)
    with pytest.raises(MediaRefused) as refused:
        await fetcher(phone)(photo("1"), 4999)
    assert refused.value.reason is Refusal.TOO_LARGE
    assert [c.endpoint for c in phone.api.all_calls] == ["media_url"]


async def test_a_file_larger_than_graph_said_is_cut_off_as_it_arrives(phone: Phone) -> None:
    phone.api.add_media("2", b"x" * 300_000, reported_size=None)
    with pytest.raises(MediaRefused) as refused:
        await fetcher(phone)(photo("2"), 100_000)
    assert refused.value.reason is Refusal.TOO_LARGE
    phone.api.add_media("3", b"x" * 300_000, reported_size=10)  # Graph understated it
    with pytest.raises(MediaRefused):
        await fetcher(phone)(photo("3"), 100_000)


async def test_graph_failures_are_retried_only_when_passing(phone: Phone) -> None:
    phone.api.fail("media_url", status=503)
    with pytest.raises(FetchFailed) as passing:
        await fetcher(phone)(photo("4"), 1000)
    assert passing.value.transient
    with pytest.raises(FetchFailed) as gone:  # an unknown media id: error 100
        await fetcher(phone)(photo("4"), 1000)
    assert not gone.value.transient


async def test_a_photo_arrives_cleaned_in_the_media_store(phone: Phone) -> None:
    phone.api.add_media("5", jpeg_with_gps())
    person = phone.person(WA_ID)
    await person.deliver(phone.hooks.media(WA_ID, "image", "5", "image/jpeg", caption="Home"))
    store = phone.bot.deps.media
    assert phone.bot.core.media is not None
    owner = phone.bot.core.media.owner("whatsapp", WA_ID)
    [name] = store.files_of(owner)
    kept = await store.read(name)
    assert kept is not None and MARKER.encode() not in kept  # EXIF / GPS gone


async def test_a_photo_over_the_limit_is_never_downloaded_nor_kept(phone: Phone) -> None:
    limit = phone.bot.settings.media_max_bytes
    phone.api.add_media("6", b"\xff\xd8" + b"x" * limit)
    person = phone.person(WA_ID)
    await person.deliver(phone.hooks.media(WA_ID, "image", "6", "image/jpeg"))
    assert "download" not in [c.endpoint for c in phone.api.all_calls]
    assert phone.bot.core.media is not None
    assert phone.bot.deps.media.files_of(phone.bot.core.media.owner("whatsapp", WA_ID)) == []


async def test_the_token_never_goes_in_clear_text_to_another_host(phone: Phone) -> None:
    phone.api.add_media("8", b"x")
    elsewhere = WhatsAppFetcher(phone.adapter.client, phone.adapter.http, "https://graph.example")
    with pytest.raises(FetchFailed) as refused:  # the fake's URL is http://127.0.0.1
        await elsewhere(photo("8"), 1000)
    assert not refused.value.transient
    assert "download" not in [c.endpoint for c in phone.api.all_calls]
