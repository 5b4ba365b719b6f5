"""The web chat's upload endpoint against the hostile corpus; afterwards the same session
still sends a photo with a caption."""

from __future__ import annotations

import io
import random

import httpx
from PIL import Image

from bot.app import create_app
from bot.config import Settings
from storage.db import Database
from tests.adapters.test_webchat import Browser
from tests.conftest import make_bot
from tests.hostile.corpus import SEED, Verdicts, chunked, hostile_json_values, hostile_texts

BASE = "http://127.0.0.1:8080"
LIMIT = 64 * 1024  # a small media limit keeps the oversized cases cheap


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def multipart(boundary: bytes, parts: list[tuple[bytes, bytes]]) -> bytes:
    """A multipart body from ``(part headers, content)`` pairs."""
    out = b""
    for headers, content in parts:
        out += b"--" + boundary + b"\r\n" + headers + b"\r\n\r\n" + content + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


def file_part(name: bytes = b"file", filename: bytes = b"a.png", content: bytes = b"") -> tuple:
    headers = (
        b'Content-Disposition: form-data; name="' + name + b'"; filename="' + filename + b'"\r\n'
        b"Content-Type: image/png"
    )
    return headers, content


def field_part(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    return b'Content-Disposition: form-data; name="' + name + b'"', value


async def test_uploads_refuse_hostile_input_and_keep_working(
    settings: Settings, db: Database
) -> None:
    rng = random.Random(SEED)
    bot = await make_bot(settings.model_copy(update={"media_max_bytes": LIMIT}), db)
    verdicts = Verdicts()
    image = png()
    transport = httpx.ASGITransport(app=create_app(bot, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        browser = Browser(client)
        await browser.open()
        csrf = browser.csrf.encode()

        async def post(
            body: object, content_type: bytes, extra: dict[bytes, bytes] | None = None
        ) -> httpx.Response:
            headers = {b"x-csrf-token": csrf, b"content-type": content_type, **(extra or {})}
            return await client.post(
                "/api/chat/upload",
                content=body,  # type: ignore[arg-type]
                headers=headers,
            )

        form = b"multipart/form-data; boundary=XyZ"
        # Not multipart at all, or multipart that is broken.
        for body, kind in [
            (b"", b""),
            (b"file=abc", b"application/x-www-form-urlencoded"),
            (b'{"file": "x"}', b"application/json"),
            (b"garbage", form),
            (b"--XyZ\r\n", form),
            (b"--XyZ--\r\n", form),
            (multipart(b"XyZ", [file_part(content=image)]), b"multipart/form-data"),
            (multipart(b"XyZ", [file_part(content=image)]), b"multipart/form-data; boundary="),
            (multipart(b"Other", [file_part(content=image)]), form),
            (multipart(b"XyZ", [(b"No-Disposition: x", image)]), form),
            (multipart(b"XyZ", [field_part(b"file", b"just text")]), form),
            (multipart(b"XyZ", [file_part(content=b"")]), form),
            (multipart(b"XyZ", [file_part(content=b"not a picture at all")]), form),
            (multipart(b"XyZ", [file_part(content=image[:20])]), form),
            (multipart(b"XyZ", [file_part(content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)]), form),
            (multipart(b"XyZ", [file_part(content=b"\xff\xd8\xff" + b"\x00" * 64)]), form),
            (multipart(b"XyZ", [file_part(content=b"GIF89a" + b"\xff" * 64)]), form),
            (multipart(b"XyZ", [file_part(content=image), file_part(content=image)]), form),
            (multipart(b"XyZ", [field_part(str(i).encode(), b"x") for i in range(50)]), form),
            (multipart(b"XyZ", [file_part(content=b"x" * (LIMIT + 10))]), form),
            (
                multipart(
                    b"XyZ", [file_part(content=image), field_part(b"caption", b"x" * LIMIT * 3)]
                ),
                form,
            ),
        ]:
            verdicts.check(await post(body, kind), f"body {body[:50]!r} as {kind!r}")
        # Too large: declared, lied about, and chunked without any length.
        big = multipart(b"XyZ", [file_part(content=b"\x89PNG" + b"x" * LIMIT * 4)])
        verdicts.check(await post(big, form), "oversized", allowed=[413])
        verdicts.check(await post(chunked(big), form), "oversized chunked", allowed=[413])
        lying = {b"content-length": b"9" * 25}
        verdicts.check(await post(image, form, lying), "content-length lie")
        huge_url_encoded = chunked(b"caption=" + b"x" * LIMIT * 4)
        answer = await post(huge_url_encoded, b"application/x-www-form-urlencoded")
        verdicts.check(answer, "url-encoded chunked", allowed=[400])
        # Odd file names and part headers.
        for name in hostile_texts(rng, 60):
            filename = name.encode("utf-8", "surrogatepass").replace(b'"', b"'")
            body = multipart(b"XyZ", [file_part(filename=filename, content=b"not media")])
            verdicts.check(await post(body, form), f"filename={name!r}")
        # Captions, client ids and ``after`` of every kind, with a real photo.
        values = hostile_json_values(rng, 140)
        for n, value in enumerate(values):
            text = (value if isinstance(value, str) else repr(value)).encode(
                "utf-8", "surrogatepass"
            )
            field = (b"caption", b"client_id", b"after")[n % 3]
            body = multipart(
                b"XyZ",
                [
                    file_part(content=image),
                    field_part(field, text),
                    field_part(b"client_id", f"up-{n}".encode())
                    if field != b"client_id"
                    else field_part(b"x", b"y"),
                ],
            )
            verdicts.check(await post(body, form), f"{field.decode()}={value!r}")
        # No session, a forged token.
        for token in (b"", b"0" * 64, "\u00e9".encode() * 32):
            body = multipart(b"XyZ", [file_part(content=image)])
            answer = await client.post(
                "/api/chat/upload",
                content=body,
                headers={b"x-csrf-token": token, b"content-type": form},
            )
            verdicts.check(answer, f"csrf={token!r}", allowed=[403])

        # Normal use afterwards: the same session sends a photo with a caption.
        body = multipart(
            b"XyZ",
            [
                file_part(content=image),
                field_part(b"caption", b"Our boat"),
                field_part(b"client_id", b"after-corpus"),
            ],
        )
        answer = await post(body, form)
        assert answer.status_code == 200, answer.text
        mine = [m for m in answer.json()["messages"] if m["from"] == "user"]
        assert mine and mine[-1]["media"] and mine[-1]["text"] == "Our boat"
    verdicts.assert_clean()
