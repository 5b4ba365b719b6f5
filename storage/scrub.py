"""Making a file safe to keep: what a photo, a voice note or a video says besides itself.

Photos are decoded and encoded again with Pillow, so nothing of the original file
survives but its pixels: no EXIF (GPS, the camera, the owner's name, dates), no XMP,
IPTC, ICC profile or comments. The orientation is applied first, colours are converted
to sRGB, and a photo larger than :data:`MAX_SIDE` is scaled down. Voice notes and videos
keep their audio and pictures as recorded; what their containers say is removed where
it can be without re-encoding them (see :func:`scrub`). Pure functions of bytes: they
block, so callers run them in a thread.
"""

from __future__ import annotations

import enum
import io
import struct
from dataclasses import dataclass

import mutagen
import mutagen.id3
import pillow_heif
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError


class MediaKind(enum.StrEnum):
    PHOTO = "photo"
    VOICE = "voice"
    VIDEO = "video"
    DOCUMENT = "document"


class Refusal(enum.StrEnum):
    """Why a file was not kept (each has a kind message in ``bot.core.media``)."""

    TOO_LARGE = "too_large"
    UNSUPPORTED = "unsupported"  # not a photo, voice note or video we know
    DOCUMENT = "document"  # a PDF or other document: it cannot be cleaned safely
    DAMAGED = "damaged"  # truncated, or not what its first bytes say
    TOO_MANY_PIXELS = "too_many_pixels"  # a decompression bomb, or an absurd size


class MediaRefused(Exception):
    """The file is not kept; ``reason`` says why (never its content)."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


# Photos above this many pixels are refused before their pixels are decoded (a 48 MP
# phone camera makes 8000 x 6000); well under Pillow's own bomb limit, so Pillow never
# has to warn about one we keep.
MAX_PIXELS = 50_000_000
# The longest side kept: enough for any screen, and within Telegram's sendPhoto limits.
MAX_SIDE = 4096
JPEG_QUALITY = 90

_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_M4A_BRANDS = frozenset({b"M4A ", b"M4B "})


@dataclass(frozen=True, slots=True)
class Sniffed:
    kind: MediaKind
    mime: str


def sniff(head: bytes) -> Sniffed | None:
    """The kind and MIME type of a file from its first bytes (32 are enough), or None.

    The type is decided by the content, never by a file name or a header.
    """
    if head[:3] == b"\xff\xd8\xff":
        return Sniffed(MediaKind.PHOTO, "image/jpeg")
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return Sniffed(MediaKind.PHOTO, "image/png")
    if head[:4] == b"GIF8":
        return Sniffed(MediaKind.PHOTO, "image/gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(MediaKind.PHOTO, "image/webp")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed(MediaKind.VOICE, "audio/wav")
    if head[:4] == b"OggS":
        return Sniffed(MediaKind.VOICE, "audio/ogg")
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return Sniffed(MediaKind.VOICE, "audio/mpeg")
    if head[:4] == b"\x1aE\xdf\xa3":
        return Sniffed(MediaKind.VIDEO, "video/webm")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return Sniffed(MediaKind.PHOTO, "image/heic")
        if brand in _AVIF_BRANDS:
            return Sniffed(MediaKind.PHOTO, "image/avif")
        if brand in _M4A_BRANDS:
            return Sniffed(MediaKind.VOICE, "audio/mp4")
        if brand == b"qt  ":
            return Sniffed(MediaKind.VIDEO, "video/quicktime")
        return Sniffed(MediaKind.VIDEO, "video/mp4")
    if head[:5] == b"%PDF-":
        return Sniffed(MediaKind.DOCUMENT, "application/pdf")
    return None


@dataclass(frozen=True, slots=True)
class Clean:
    """A file made safe to keep: its bytes, what it is, and its usual extension."""

    data: bytes
    kind: MediaKind
    mime: str
    extension: str


EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/mp4": "m4a",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}


def scrub(data: bytes) -> Clean:
    """``data`` without what it says about where, when, with what and by whom it was made.

    Raises:
        MediaRefused: not a photo, voice note or video, a document, a damaged file or a
            decompression bomb.
    """
    sniffed = sniff(data[:32])
    if sniffed is None:
        raise MediaRefused(Refusal.UNSUPPORTED)
    if sniffed.kind is MediaKind.DOCUMENT:
        raise MediaRefused(Refusal.DOCUMENT)
    if sniffed.kind is MediaKind.PHOTO:
        cleaned, mime = reencode_image(data, sniffed.mime)
    elif sniffed.mime in ("video/mp4", "video/quicktime", "audio/mp4"):
        cleaned, mime = scrub_iso_media(data), sniffed.mime
    elif sniffed.mime == "audio/ogg":
        cleaned, mime = scrub_ogg(data), sniffed.mime
    elif sniffed.mime == "audio/mpeg":
        cleaned, mime = scrub_mp3(data), sniffed.mime
    elif sniffed.mime == "audio/wav":
        cleaned, mime = scrub_wav(data), sniffed.mime
    else:  # video/webm: kept as recorded (see the README's privacy section)
        cleaned, mime = data, sniffed.mime
    return Clean(cleaned, sniffed.kind, mime, EXTENSIONS[mime])


# -- photos ----------------------------------------------------------------------------------
_PILLOW_FORMATS = {
    "image/jpeg": ("JPEG",),
    "image/png": ("PNG",),
    "image/gif": ("GIF",),
    "image/webp": ("WEBP",),
    "image/avif": ("AVIF",),
}
# What each kind of photo is kept as: GIF (its first frame), HEIF and AVIF become
# formats every platform shows.
_OUTPUT = {
    "image/jpeg": "image/jpeg",
    "image/png": "image/png",
    "image/webp": "image/webp",
    "image/gif": "image/png",
    "image/heic": "image/jpeg",
    "image/avif": "image/jpeg",
}


def reencode_image(data: bytes, mime: str) -> tuple[bytes, str]:
    """The photo's pixels, orientation applied, encoded anew without any metadata.

    Animated GIFs and WebPs keep their first frame only.

    Raises:
        MediaRefused: too many pixels, or Pillow cannot read it completely.
    """
    try:
        image = _open_heif(data) if mime == "image/heic" else _open(data, mime)
        with image:
            image.seek(0)
            image.load()
            upright = ImageOps.exif_transpose(image)
        pixels = _plain_pixels(upright)
    except MediaRefused:
        raise
    except Image.DecompressionBombError:
        raise MediaRefused(Refusal.TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error):
        # OSError covers "image file is truncated" and decoder errors.
        raise MediaRefused(Refusal.DAMAGED) from None
    out_mime = _OUTPUT[mime]
    if out_mime == "image/jpeg" and pixels.mode != "RGB":
        pixels = _flatten(pixels)
    buffer = io.BytesIO()
    if out_mime == "image/jpeg":
        pixels.save(buffer, "JPEG", quality=JPEG_QUALITY)
    elif out_mime == "image/webp":
        pixels.save(buffer, "WEBP", quality=JPEG_QUALITY)
    else:
        pixels.save(buffer, "PNG")
    return buffer.getvalue(), out_mime


def _open(data: bytes, mime: str) -> Image.Image:
    formats = _PILLOW_FORMATS.get(mime)
    if formats is None:
        raise MediaRefused(Refusal.UNSUPPORTED)
    try:
        image = Image.open(io.BytesIO(data), formats=formats)
    except UnidentifiedImageError:
        if mime == "image/avif":  # a Pillow built without AVIF
            raise MediaRefused(Refusal.UNSUPPORTED) from None
        raise
    # Checked before a single pixel is decoded; Pillow's own check (on open) refuses
    # only far larger images.
    if image.width * image.height > MAX_PIXELS:
        image.close()
        raise MediaRefused(Refusal.TOO_MANY_PIXELS)
    return image


def _open_heif(data: bytes) -> Image.Image:
    """A HEIC/HEIF photo (iPhones) through pillow-heif, without registering a plugin."""
    try:
        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
    except (ValueError, RuntimeError, OSError, SyntaxError):
        raise MediaRefused(Refusal.DAMAGED) from None
    width, height = heif.size
    if width * height > MAX_PIXELS:
        raise MediaRefused(Refusal.TOO_MANY_PIXELS)
    try:
        return heif.to_pillow()
    except (ValueError, RuntimeError):
        raise MediaRefused(Refusal.DAMAGED) from None


def _plain_pixels(image: Image.Image) -> Image.Image:
    """Only the pixels: sRGB colours, within :data:`MAX_SIDE`, and an empty ``info``."""
    if image.mode in ("P", "PA"):
        has_alpha = image.mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    icc = image.info.get("icc_profile")
    if icc:
        image = _to_srgb(image, icc)
    if max(image.size) > MAX_SIDE:
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # Savers read comments and ICC profiles from ``info``: a fresh copy with nothing in it.
    clean = image.copy()
    clean.info = {}
    return clean


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """The photo's colours in sRGB, so dropping its profile does not change how it looks."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # an unusable profile: the pixels as they are
    return converted if converted is not None else image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparent parts on white."""
    if "A" not in image.mode:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


# -- MP4, MOV, M4A (ISO base media) --------------------------------------------------------
# Boxes that hold what a recording says about itself: user data (``udta``: the QuickTime
# location ``©xyz``, iTunes-style tags, the camera make and model), metadata (``meta``:
# QuickTime ``mdta`` keys such as com.apple.quicktime.location.ISO6709) and ``uuid`` boxes
# (XMP). They are overwritten in place by ``free`` boxes of the same size, so no offset in
# the file moves and the audio and pictures are untouched.
_META_BOXES = frozenset({b"udta", b"meta", b"uuid", b"XMP_"})
_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"edts"})
# Headers whose creation and modification times (when it was recorded) are zeroed.
_TIMED_HEADERS = frozenset({b"mvhd", b"tkhd", b"mdhd"})


def scrub_iso_media(data: bytes) -> bytes:
    """An MP4/MOV/M4A file with its metadata boxes blanked and its timestamps zeroed.

    Raises:
        MediaRefused: the box structure is broken.
    """
    out = bytearray(data)
    try:
        _walk_boxes(out, 0, len(out), top=True)
    except (IndexError, struct.error, ValueError):
        raise MediaRefused(Refusal.DAMAGED) from None
    return bytes(out)


def _walk_boxes(buf: bytearray, start: int, end: int, *, top: bool) -> None:
    position = start
    while position + 8 <= end:
        size, kind = struct.unpack_from(">I4s", buf, position)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", buf, position + 8)
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            raise ValueError("box outside its parent")
        body = position + header
        if kind in _META_BOXES:
            buf[position + 4 : position + 8] = b"free"
            buf[body : position + size] = bytes(position + size - body)
        elif kind in _CONTAINERS:
            _walk_boxes(buf, body, position + size, top=False)
        elif kind in _TIMED_HEADERS and position + size >= body + 20:
            width = 8 if buf[body] == 1 else 4
            buf[body + 4 : body + 4 + 2 * width] = bytes(2 * width)
        position += size
    if top and position != end and end - position >= 8:
        raise ValueError("trailing bytes")


# -- Ogg (Opus, Vorbis), MP3, WAV ----------------------------------------------------------
def scrub_ogg(data: bytes) -> bytes:
    """An Ogg Opus or Vorbis file with an empty comment header (title, artist, tags).

    Raises:
        MediaRefused: mutagen cannot read it.
    """
    buffer = io.BytesIO(data)
    try:
        audio = mutagen.File(buffer)
        if audio is None:
            raise MediaRefused(Refusal.UNSUPPORTED)
        if audio.tags is not None:
            audio.tags.clear()
            buffer.seek(0)
            audio.save(buffer)
    except mutagen.MutagenError:
        raise MediaRefused(Refusal.DAMAGED) from None
    return buffer.getvalue()


def scrub_mp3(data: bytes) -> bytes:
    """An MP3 without its ID3 tags (v2 at the start, v1 at the end), which can hold names,
    comments and a cover picture with its own EXIF."""
    buffer = io.BytesIO(data)
    try:
        mutagen.id3.delete(buffer, delete_v1=True, delete_v2=True)
    except mutagen.MutagenError:
        raise MediaRefused(Refusal.DAMAGED) from None
    buffer.truncate()
    return buffer.getvalue()


_WAV_KEEP = frozenset({b"fmt ", b"data", b"fact"})


def scrub_wav(data: bytes) -> bytes:
    """A WAV file rebuilt with its sound only: ``LIST``/``INFO``, ``bext`` (the recorder),
    ``id3 `` and every other chunk are left out.

    Raises:
        MediaRefused: the chunk structure is broken.
    """
    chunks: list[bytes] = []
    position = 12
    try:
        while position + 8 <= len(data):
            kind, size = struct.unpack_from("<4sI", data, position)
            end = position + 8 + size
            if end > len(data):
                raise MediaRefused(Refusal.DAMAGED)
            if kind in _WAV_KEEP:
                chunks.append(data[position:end] + (b"\x00" if size % 2 else b""))
            position = end + size % 2
    except struct.error:
        raise MediaRefused(Refusal.DAMAGED) from None
    if not any(chunk[:4] == b"data" for chunk in chunks):
        raise MediaRefused(Refusal.DAMAGED)
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body
