"""Files that say too much, for the media tests: a photo with GPS, its author's name and
the camera, a PNG with text chunks, a WebP with EXIF, a voice note with tags, a video
with a location atom. Every one carries :data:`MARKER` (and GPS) in its metadata, so a
test can prove that nothing of it comes out anywhere."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, PngImagePlugin

MARKER = "Zq7AminaSecretMarker"
GPS_LATITUDE = (33.0, 30.0, 12.34)  # 33°30'12.34"
# EXIF tags: Artist, Model, Make, ImageDescription, Orientation, the GPS IFD.
ARTIST, MODEL, MAKE, DESCRIPTION, ORIENTATION, GPS_IFD = (
    0x013B,
    0x0110,
    0x010F,
    0x010E,
    0x0112,
    0x8825,
)


def exif_bytes(*, orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[ARTIST] = f"{MARKER} Artist"
    exif[MODEL] = f"{MARKER} Model"
    exif[MAKE] = "MarkerPhone"
    exif[DESCRIPTION] = f"{MARKER} at home"
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = GPS_LATITUDE
    gps[3] = "E"
    gps[4] = (36.0, 17.0, 0.0)
    return exif.tobytes()


def xmp_packet() -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="{MARKER}"/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()


def image(width: int = 64, height: int = 32) -> Image.Image:
    """Left half red, right half blue: an orientation is visible in the result."""
    out = Image.new("RGB", (width, height), (220, 20, 20))
    out.paste((20, 20, 220), (width // 2, 0, width, height))
    return out


def jpeg_with_gps(*, orientation: int = 1, width: int = 64, height: int = 32) -> bytes:
    buffer = io.BytesIO()
    image(width, height).save(
        buffer,
        "JPEG",
        exif=exif_bytes(orientation=orientation),
        comment=f"{MARKER} comment".encode(),
        xmp=xmp_packet(),
    )
    return buffer.getvalue()


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", f"{MARKER} Author")
    info.add_text("Comment", f"{MARKER} GPS 33.5034 36.2833", zip=True)
    info.add_itxt("XML:com.adobe.xmp", xmp_packet().decode())
    buffer = io.BytesIO()
    image().save(buffer, "PNG", pnginfo=info, exif=exif_bytes())
    return buffer.getvalue()


def webp_with_exif() -> bytes:
    buffer = io.BytesIO()
    image().save(buffer, "WEBP", exif=exif_bytes(), xmp=xmp_packet())
    return buffer.getvalue()


def heic_with_exif() -> bytes:
    import pillow_heif

    heif = pillow_heif.from_pillow(image())
    buffer = io.BytesIO()
    heif.save(buffer, format="HEIF", quality=80, exif=exif_bytes(), xmp=xmp_packet())
    return buffer.getvalue()


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A small PNG that declares a huge picture (its pixels would take gigabytes)."""
    row = b"\x00" + b"\x00" * width  # filter byte + one grey byte per pixel
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    whole = jpeg_with_gps(width=256, height=256)
    return whole[: len(whole) // 2]


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def mp4_with_location() -> bytes:
    """A (picture-less) MP4 whose movie header holds a QuickTime location, an author, an
    XMP ``uuid`` box and recording times; ``mdat`` holds the "pictures"."""
    location = f"+33.5034+036.2833/{MARKER}".encode()
    xyz = _box(b"\xa9xyz", struct.pack(">HH", len(location), 0x15C7) + location)
    author = _box(b"\xa9aut", f"{MARKER} camera".encode())
    mvhd = _box(
        b"mvhd", b"\x00\x00\x00\x00" + struct.pack(">II", 3_700_000_000, 3_700_000_001) + bytes(88)
    )
    tkhd = _box(
        b"tkhd", b"\x00\x00\x00\x07" + struct.pack(">II", 3_700_000_000, 3_700_000_001) + bytes(72)
    )
    trak = _box(b"trak", tkhd + _box(b"udta", _box(b"name", MARKER.encode())))
    moov = _box(b"moov", mvhd + trak + _box(b"udta", xyz + author))
    xmp = _box(b"uuid", bytes.fromhex("be7acfcb97a942e89c71999491e3afac") + xmp_packet())
    return (
        _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
        + moov
        + xmp
        + _box(b"mdat", b"PICTURES" * 64)
    )


def ogg_opus_with_tags() -> bytes:
    """An Ogg Opus stream (header and tags, one silent packet) whose tags name someone."""
    from mutagen.ogg import OggPage

    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    vendor = b"test encoder"
    comments = [f"ARTIST={MARKER}".encode(), b"LOCATION=33.5034,36.2833"]
    tags = (
        b"OpusTags"
        + struct.pack("<I", len(vendor))
        + vendor
        + struct.pack("<I", len(comments))
        + b"".join(struct.pack("<I", len(c)) + c for c in comments)
    )
    pages = []
    for sequence, packet in enumerate((head, tags, b"\xf8\xff\xfe")):
        page = OggPage()
        page.serial = 0x1234
        page.sequence = sequence
        page.first = sequence == 0
        page.last = sequence == 2
        page.position = 0 if sequence < 2 else 960
        page.packets = [packet]
        pages.append(page.write())
    return b"".join(pages)


def mp3_with_id3() -> bytes:
    """An ID3v2 tag naming someone, a few MPEG frames, and an ID3v1 tag."""
    from mutagen.id3 import COMM, ID3, TPE1

    frame = b"\xff\xfb\x90\x64" + bytes(413)  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz
    buffer = io.BytesIO(frame * 8)
    tags = ID3()
    tags.add(TPE1(encoding=3, text=[MARKER]))
    tags.add(COMM(encoding=3, lang="eng", desc="", text=["GPS 33.5034 36.2833"]))
    tags.save(buffer, v1=2)
    return buffer.getvalue()


def wav_with_info() -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    info = b"INFO" + b"IART" + struct.pack("<I", len(MARKER) + 1) + MARKER.encode() + b"\x00"
    if len(info) % 2:
        info += b"\x00"
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"LIST"
        + struct.pack("<I", len(info))
        + info
        + b"data"
        + struct.pack("<I", 800)
        + bytes(800)
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def leaks(data: bytes) -> bool:
    """Whether ``data`` still carries the marker or the GPS latitude."""
    return MARKER.encode() in data or b"33.5034" in data or b"MarkerPhone" in data
