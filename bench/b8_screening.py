"""B8 screening a long story against the twenty-one languages' lists.

Every story is read by every list (people mix languages). A list's phrases expand their
alternatives ("(i am|i'm) (in danger|not safe)" is four phrases); the larger lists expand
to tens of thousands. They are compiled into one pattern whose phrases share their common
beginnings (``moderation.screening._trie``); the yardstick is the same phrases as a flat
alternation, longest first, as they were compiled before. Measured: seconds to screen a
story of the ten first languages' ordinary stories, three times over (about 15,000
characters), and seconds to compile the lists (once a process), interleaved rounds.
"""

from __future__ import annotations

import importlib.util
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from unittest import mock

import moderation.screening as screening
from bench.common import Context, Result, median_rounds_many

STORIES = Path(__file__).resolve().parent.parent / "tests" / "moderation" / "test_screening.py"
TIMEOUT = inspect.signature(screening.Screener).parameters["timeout"].default


def flat(phrases: Iterable[tuple[str, ...]]) -> str:
    """The yardstick: every phrase its own alternative, longest first."""
    return "|".join(dict.fromkeys("".join(tokens) for tokens in phrases))


def story() -> str:
    spec = importlib.util.spec_from_file_location("screening_cases", STORIES)
    assert spec is not None and spec.loader is not None
    cases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cases)
    return " ".join(cases.ORDINARY_STORIES.values()) * 3


def measuring(text: str, join: Callable[[Iterable[tuple[str, ...]]], str], screens: int):  # type: ignore[no-untyped-def]
    async def measure() -> dict[str, float]:
        screening._compile_lexicon.cache_clear()
        with mock.patch.object(screening, "_trie", join):
            started = time.perf_counter()
            screener = screening.Screener(timeout=600.0)
            compiled = time.perf_counter() - started
        screening._compile_lexicon.cache_clear()
        started = time.perf_counter()
        for _ in range(screens):
            result = await screener.screen(text, locale="en")
            assert not result.held
        return {"screen s": (time.perf_counter() - started) / screens, "compile s": compiled}

    return measure


async def measure(ctx: Context) -> list[Result]:
    text = story()
    screens = 1 if ctx.quick else 5
    measures: dict[str, Callable[[], Awaitable[dict[str, float]]]] = {
        "shared": measuring(text, screening._trie, screens),
        "flat": measuring(text, flat, screens),
    }
    medians = await median_rounds_many(ctx.rounds, measures)
    shared, flat_ = medians["shared"], medians["flat"]
    lists = len(screening.SUPPORTED_LOCALES)
    return [
        Result(
            bench="B8",
            name=f"screening a story of {len(text):,} characters against {lists} lists",
            database=None,
            values={
                "shared s/story": shared["screen s"],
                "flat s/story": flat_["screen s"],
                "shared compile s": shared["compile s"],
                "flat compile s": flat_["compile s"],
            },
            ratio=flat_["screen s"] / shared["screen s"],
            ratio_of="flat s/story ÷ shared s/story",
            note=(
                f"median of {ctx.rounds} rounds of {screens} screenings; the screening "
                f"timeout that holds a story is {TIMEOUT:g} s; "
                "lists compile once a process"
            ),
        )
    ]
