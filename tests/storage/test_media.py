"""The media store: files are cleaned on arrival, kept per person, private, and erasable."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from mutagen.oggopus import OggOpus
from PIL import Image

from storage.media import MediaKind, MediaRefused, MediaStore, Refusal
from storage.scrub import MAX_SIDE
from tests import media_samples as samples

OWNER = MediaStore.owner_of("a1" * 32)
OTHER = MediaStore.owner_of("b2" * 32)


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


def _opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


@pytest.mark.parametrize(
    ("make", "mime"),
    [
        (samples.jpeg_with_gps, "image/jpeg"),
        (samples.png_with_text, "image/png"),
        (samples.webp_with_exif, "image/webp"),
        (samples.heic_with_exif, "image/jpeg"),
    ],
    ids=["jpeg", "png", "webp", "heic"],
)
async def test_a_photo_is_kept_without_any_metadata(store: MediaStore, make, mime) -> None:
    original = make()
    assert samples.leaks(original)  # the sample does carry a name and a location
    stored = await store.ingest(original, owner=OWNER)
    data = await store.read(stored.name)
    assert data is not None
    assert (stored.kind, stored.mime, stored.size) == (MediaKind.PHOTO, mime, len(data))
    assert not samples.leaks(data)
    kept = _opened(data)
    assert dict(kept.getexif()) == {}
    assert not {"exif", "xmp", "icc_profile", "comment", "Author", "Comment"} & set(kept.info)
    assert kept.size == (64, 32)
    # Nothing on disk but the cleaned file: the original was never written.
    on_disk = [p.read_bytes() for p in store.root.iterdir()]
    assert on_disk == [data]


async def test_the_orientation_is_applied_before_the_exif_goes(store: MediaStore) -> None:
    # Orientation 6: the camera was turned; viewers rotate the picture 90° clockwise.
    stored = await store.ingest(samples.jpeg_with_gps(orientation=6), owner=OWNER)
    kept = _opened(await store.read(stored.name) or b"")
    assert kept.size == (32, 64)
    assert dict(kept.getexif()) == {}
    red, blue = kept.convert("RGB").getpixel((16, 4)), kept.convert("RGB").getpixel((16, 60))
    assert red[0] > 150 > red[2] and blue[2] > 150 > blue[0]


async def test_a_huge_photo_is_scaled_down(store: MediaStore) -> None:
    buffer = io.BytesIO()
    samples.image(MAX_SIDE * 2, 100).save(buffer, "PNG")
    stored = await store.ingest(buffer.getvalue(), owner=OWNER)
    assert _opened(await store.read(stored.name) or b"").size == (MAX_SIDE, 50)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (samples.png_bomb(20000, 20000), Refusal.TOO_MANY_PIXELS),  # Pillow's own limit
        (samples.png_bomb(10000, 6000), Refusal.TOO_MANY_PIXELS),  # ours, before decoding
        (samples.truncated_jpeg(), Refusal.DAMAGED),
        (b"\xff\xd8\xff\xe0" + b"garbage" * 50, Refusal.DAMAGED),
        (b"%PDF-1.7\n" + b"0" * 100, Refusal.DOCUMENT),
        (b"MZ\x90\x00 an executable", Refusal.UNSUPPORTED),
    ],
    ids=["bomb", "over-our-limit", "truncated", "garbage-jpeg", "pdf", "unknown"],
)
async def test_what_cannot_be_kept_safely_is_refused_and_nothing_stays(
    store: MediaStore, data: bytes, reason: Refusal
) -> None:
    with pytest.raises(MediaRefused) as refused:
        await store.ingest(data, owner=OWNER)
    assert refused.value.reason is reason
    assert store.files_of(OWNER) == []
    assert not store.root.exists() or list(store.root.iterdir()) == []


async def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media", max_bytes=100)
    with pytest.raises(MediaRefused) as refused:
        await store.ingest(samples.jpeg_with_gps(), owner=OWNER)
    assert refused.value.reason is Refusal.TOO_LARGE


async def test_video_and_voice_containers_lose_their_tags_but_keep_their_content(
    store: MediaStore,
) -> None:
    video = await store.ingest(samples.mp4_with_location(), owner=OWNER)
    data = await store.read(video.name) or b""
    assert (video.kind, video.mime) == (MediaKind.VIDEO, "video/mp4")
    assert not samples.leaks(data) and b"\xa9xyz" not in data
    assert len(data) == len(samples.mp4_with_location())  # no offset moved
    assert b"PICTURES" * 64 in data
    assert (3_700_000_000).to_bytes(4, "big") not in data  # recording times zeroed

    voice = await store.ingest(samples.ogg_opus_with_tags(), owner=OWNER)
    data = await store.read(voice.name) or b""
    assert (voice.kind, voice.mime) == (MediaKind.VOICE, "audio/ogg")
    assert not samples.leaks(data)
    assert list(OggOpus(io.BytesIO(data)).tags) == []

    for make, mime in ((samples.mp3_with_id3, "audio/mpeg"), (samples.wav_with_info, "audio/wav")):
        voice = await store.ingest(make(), owner=OWNER)
        data = await store.read(voice.name) or b""
        assert voice.mime == mime and not samples.leaks(data) and len(data) > 800


async def test_files_are_private_to_the_service_account(store: MediaStore) -> None:
    stored = await store.ingest(samples.jpeg_with_gps(), owner=OWNER)
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    assert stat.S_IMODE((store.root / stored.name).stat().st_mode) == 0o600


async def test_an_existing_directory_is_tightened(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir(mode=0o755)
    (tmp_path / "media").chmod(0o755)
    store = MediaStore(tmp_path / "media")
    await store.ingest(samples.png_with_text(), owner=OWNER)
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700


async def test_erase_owner_removes_every_file_of_one_person_only(store: MediaStore) -> None:
    mine = [
        await store.ingest(make(), owner=OWNER)
        for make in (samples.jpeg_with_gps, samples.mp4_with_location, samples.ogg_opus_with_tags)
    ]
    theirs = await store.ingest(samples.png_with_text(), owner=OTHER)
    assert store.files_of(OWNER) == sorted(m.name for m in mine)
    assert await store.erase_owner(OWNER) == 3
    assert store.files_of(OWNER) == []
    assert all(store.path(m.name) is None for m in mine)
    assert store.files_of(OTHER) == [theirs.name]
    assert await store.read(theirs.name) is not None
    assert await store.erase_owner(OWNER) == 0


async def test_delete_removes_the_named_files_and_nothing_outside_the_store(
    store: MediaStore, tmp_path: Path
) -> None:
    kept = await store.ingest(samples.png_with_text(), owner=OWNER)
    gone = await store.ingest(samples.jpeg_with_gps(), owner=OWNER)
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"not the store's")
    assert await store.delete([gone.name, "../outside.jpg", str(outside), gone.name]) == 1
    assert store.files_of(OWNER) == [kept.name]
    assert outside.exists()
    assert await store.delete([gone.name]) == 0


async def test_the_same_platform_file_gets_the_same_name(store: MediaStore) -> None:
    first = await store.ingest(samples.jpeg_with_gps(), owner=OWNER, key="telegram:AgAD1")
    again = await store.ingest(samples.jpeg_with_gps(), owner=OWNER, key="telegram:AgAD1")
    other = await store.ingest(samples.jpeg_with_gps(), owner=OWNER, key="telegram:AgAD2")
    assert first.name == again.name != other.name
    assert store.find(OWNER, "telegram:AgAD1") == first
    assert store.find(OTHER, "telegram:AgAD1") is None
    assert len(store.files_of(OWNER)) == 2


@pytest.mark.parametrize(
    "name",
    [
        "../secrets.json",
        "..",
        "",
        "x" * 24 + "-" + "0" * 32 + ".jpg",
        OWNER + "-abc.jpg",
        "/etc/passwd",
    ],
)
async def test_names_the_store_never_makes_lead_nowhere(store: MediaStore, name: str) -> None:
    await store.ingest(samples.jpeg_with_gps(), owner=OWNER)
    assert store.path(name) is None
    assert await store.read(name) is None
    assert store.owner_of_name(name) is None


def test_owners_are_a_fixed_prefix_of_the_identity_key() -> None:
    assert MediaStore.owner_of("A1" * 32) == "a1" * 12
    assert MediaStore.owner_of("not hex at all") != MediaStore.owner_of("not hex at al1")
    assert len(MediaStore.owner_of("not hex at all")) == 24
