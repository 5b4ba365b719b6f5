"""Rows that rarely change, kept a short while: read again after the TTL (another
process may have changed them), at once after this process forgets them."""

from __future__ import annotations

from storage.rarely import RarelyChanging


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_kept_value_is_read_again_after_its_time() -> None:
    clock, reads = Clock(), []

    async def read() -> int:
        reads.append(clock.now)
        return len(reads)

    kept = RarelyChanging(ttl=30, clock=clock)
    assert await kept.get("campaign", read) == 1
    clock.now += 29
    assert await kept.get("campaign", read) == 1  # kept
    clock.now += 1
    assert await kept.get("campaign", read) == 2  # read again
    kept.forget("campaign")
    assert await kept.get("campaign", read) == 3  # forgotten: read at once
    assert len(reads) == 3


async def test_only_values_worth_keeping_are_kept() -> None:
    answers = iter([False, False, True, False])

    async def read() -> bool:
        return next(answers)

    kept = RarelyChanging(ttl=30, clock=Clock())
    found = [await kept.get("published", read, keep=bool) for _ in range(4)]
    assert found == [False, False, True, True]  # a "yes" is kept, a "no" is asked again
