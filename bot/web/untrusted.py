"""Reading what a request carries without trusting it: a body capped on the stream, JSON
that cannot exhaust the parser, and numbers that fit the database.

``Content-Length`` is only a claim, and a chunked body has none: the cap is enforced on
the bytes as they arrive, so nobody makes the server hold more than ``limit`` bytes.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.types import Message

# Row ids are the databases' INTEGER: a larger number is no id of ours (and PostgreSQL
# refuses it as a query parameter).
ID_MAX = 2**31 - 1


class BodyTooLargeError(Exception):
    """The body is (or claims to be) larger than the endpoint takes."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, at most ``limit`` bytes.

    Raises:
        BodyTooLargeError: ``Content-Length`` says more than ``limit`` (or is not a
            number), or more than ``limit`` bytes arrived.
    """
    declared = request.headers.get("content-length")
    if declared is not None and not (
        declared.isascii() and declared.isdigit() and int(declared) <= limit
    ):
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def replayed(request: Request, body: bytes) -> Request:
    """A copy of ``request`` whose body is ``body`` (already read), for code that reads
    the body itself (slack-bolt's request handler)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def parse_json(body: bytes | str) -> Any:
    """Decoded JSON, or ValueError for anything that is not (invalid UTF-8, bad syntax,
    nesting deep enough to exhaust the parser's recursion, numbers too long to read)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def bounded_int(value: object, *, maximum: int = ID_MAX) -> int:
    """A number from a query, form or JSON field, clamped to ``0..maximum``; 0 when it is
    no whole number at all (absent, text, a float, too many digits)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return 0
    try:
        number = int(value)
    except ValueError:
        return 0
    return min(max(0, number), maximum)


def path_id(request: Request, name: str) -> int | None:
    """A row id from the path (routes take it as ``{name:str}``), or None unless it is a
    number a row can have: Starlette's ``int`` convertor raises on 5,000 digits."""
    value = request.path_params.get(name)
    if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10):
        return None
    number = int(value)
    return number if number <= ID_MAX else None
