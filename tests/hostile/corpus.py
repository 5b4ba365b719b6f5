"""Hostile inputs, made deterministically, and what every answer to them must be.

Each generator takes a seeded :class:`random.Random`, so a run is repeatable and a
failure names the exact input. :class:`Verdicts` collects every answer: a 5xx, a
traceback, a file path, SQL or an exception's class name in an answer is a failure.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

SEED = 20261205
MIN_INPUTS = 200

# Pieces that break naive text handling: half emoji, NUL and other controls, bidi and
# zero-width marks, non-characters, combining marks, astral characters.
_PIECES = (
    "\ud83d",
    "\ude00",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\r",
    "\r\n",
    "\u0085",
    "\u2028",
    "\u202e",
    "\u200b",
    "\ufeff",
    "\uffff",
    "\ufffe",
    "e\u0301",
    "\U0001f600",
    "\U0001d54f",
    "مرحبا",
    "你好",
    "<b>",
    "&amp;",
    "'",
    '"',
    "\\",
    "%00",
    "%ED%A0%BD",
    "../",
    "{{7*7}}",
    "${x}",
    " ",
    "\t",
)
_FIXED_TEXTS = (
    "",
    " ",
    "\x00",
    "hi \ud83d",
    "\ude00\ud83d",
    "a\x00b",
    "We crossed\x00 the sea",
    "e\u0301" * 500,
    "\u202eevil",
    "<script>alert(1)</script>",
    "'; DROP TABLE story; --",
    "../../../../etc/passwd",
    "\r\n" * 50,
    "\U0001d54f" * 3000,
    "x" * 9000,
    "/start \x00",
    "/" + "a" * 40,
    "/privacy\x00",
    "/start pledge-" + "\ud83d" * 10,
    "١٢٣",
    "NaN",
    "null",
    "{}",
)


def hostile_texts(rng: random.Random, count: int) -> list[str]:
    """``count`` hostile strings: the fixed ones, then random mixes of the pieces."""
    out = list(_FIXED_TEXTS)
    while len(out) < count:
        out.append("".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 12))))
    return out[:count]


_FIXED_NUMBERS = (
    "",
    "0",
    "-1",
    "-99999999999999999999",
    "2147483647",
    "2147483648",
    str(2**63),
    str(2**64),
    str(2**70),
    "9" * 40,
    "9" * 4000,
    "1" * 5000,
    "1e9",
    "1.5",
    "-0",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "0x10",
    "0b11",
    "١٢٣",
    "²",
    " 12 ",
    "+5",
    "12abc",
    "%00",
    "\x00",
    "1\x00",
    "\ud83d",
    "[]",
    "null",
    "true",
)


def hostile_numbers(rng: random.Random, count: int) -> list[str]:
    """``count`` hostile query values where a number is expected."""
    out = list(_FIXED_NUMBERS)
    while len(out) < count:
        out.append(
            rng.choice(
                [
                    str(rng.randint(-(2**80), 2**80)),
                    str(rng.random() * 10 ** rng.randint(0, 30)),
                    "9" * rng.randint(10, 300),
                    "".join(rng.choice("0123456789e.-+") for _ in range(rng.randint(1, 20))),
                    rng.choice(_PIECES) + str(rng.randint(0, 99)),
                ]
            )
        )
    return out[:count]


def deep(levels: int, opening: bytes = b"[", closing: bytes = b"]") -> bytes:
    return opening * levels + closing * levels


def raw_json_bodies() -> list[bytes]:
    """Bodies that are not, or only barely, JSON."""
    return [
        b"",
        b"{",
        b"}",
        b"null",
        b"true",
        b"1",
        b'"text"',
        b"[]",
        b"[{}]",
        deep(100_000),
        deep(9_000),
        b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
        b'{"text": NaN}',
        b'{"text": Infinity}',
        b'{"text": -Infinity}',
        b'{"text": 1e999}',
        b'{"text": ' + b"9" * 5000 + b"}",
        b'{"text": "\xed\xa0\xbd"}',  # CESU-8 half emoji
        b'{"text": "\xed\xa0\xbd\xed\xb8\x80"}',  # CESU-8 emoji
        b'{"text": "\xc0\xaf"}',  # overlong "/"
        b'{"text": "\xe0\x80\xaf"}',  # overlong, three bytes
        b'{"text": "\xff\xfe"}',
        b"\xff\xfe{\x00}\x00",  # UTF-16 with BOM
        b'\xef\xbb\xbf{"text": "bom"}',
        b'{"text": "a", "text": "b"}',
        b'{"text": "\\ud83d"}',
        b'{"text": "\\udc00\\ud800"}',
        b'{"text": "\\u0000"}',
        b'{"text": "tab\tin\nstring"}',
        b'{"text": "unterminated',
        b'{"text": "x"} trailing',
        b"{'text': 'single quotes'}",
        b'{"text": "\\x41"}',
        b"\x00\x00\x00\x00",
        b"GET / HTTP/1.1\r\n\r\n",
    ]


def hostile_json_values(rng: random.Random, count: int) -> list[object]:
    """Values of every JSON type where one type is expected."""
    out: list[object] = [
        None,
        True,
        False,
        0,
        -1,
        2**31,
        2**70,
        -(2**70),
        1.5,
        1e308,
        [],
        {},
        [[[[[]]]]],
        {"text": {"text": "nested"}},
        list(range(1000)),
        {str(i): i for i in range(1000)},
        ["hi"],
    ]
    texts = hostile_texts(rng, max(count - len(out), 0))
    return (out + list(texts))[:count]


_MARKERS = (
    "Traceback",
    'File "',
    "/work/",
    "site-packages",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "sqlite3",
    "psycopg",
    "SELECT ",
    "INSERT INTO",
    "(Background on this error",
)
_EXCEPTION = re.compile(r"\b(?:[A-Z][a-z0-9]+)+(?:Error|Exception|Warning)\b")


@dataclass
class Verdicts:
    """Every hostile input's answer, and the failures among them."""

    count: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def check(
        self, response: httpx.Response, what: str, *, allowed: Iterable[int] | None = None
    ) -> None:
        self.count += 1
        status = response.status_code
        self.statuses[status] = self.statuses.get(status, 0) + 1
        problem = answer_problem(response)
        if problem is None and allowed is not None and status not in set(allowed):
            problem = f"status {status}"
        if problem is not None:
            self.failures.append(f"{what[:200]!r}: {problem}")

    def assert_clean(self, minimum: int = MIN_INPUTS) -> None:
        print(f"{self.count} hostile inputs, answers {dict(sorted(self.statuses.items()))}")
        assert self.failures == [], "\n".join(self.failures[:40])
        assert self.count >= minimum, f"only {self.count} hostile inputs"


def answer_problem(response: httpx.Response) -> str | None:
    """Why an answer to a hostile input is not a clear one, or None."""
    if response.status_code >= 500:
        return f"status {response.status_code}"
    text = response.content.decode("utf-8", "replace")
    for marker in _MARKERS:
        if marker in text:
            return f"answer shows {marker!r}"
    found = _EXCEPTION.search(text)
    if found is not None:
        return f"answer names {found.group(0)!r}"
    return None


def json_body(value: object) -> bytes:
    """``value`` as a browser's JSON.stringify sends it (escapes, so any string goes)."""
    return json.dumps(value).encode()


async def chunked(body: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    """A body sent in chunks, with no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def pick(rng: random.Random, items: list[str], count: int) -> Iterator[str]:
    """``count`` items, all of ``items`` first, then random repeats."""
    yield from items[:count]
    for _ in range(count - len(items)):
        yield rng.choice(items)


def url(path: str, **params: str) -> str:
    """``path`` with ``params`` percent-encoded byte for byte (a lone surrogate as the
    CESU-8 bytes a broken client sends; httpx would refuse to encode it)."""
    if not params:
        return path
    query = "&".join(
        f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
        for k, v in params.items()
    )
    return f"{path}?{query}"


def mutated(payload: dict[str, Any], path: tuple[str, ...], value: object) -> dict[str, Any]:
    """A copy of ``payload`` with the field at ``path`` set to ``value``."""
    out = copy.deepcopy(payload)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out
