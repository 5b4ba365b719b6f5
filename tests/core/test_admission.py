"""Admission control: a bound on the turns in flight, refused at once beyond it (the
platform tries again), never an unbounded queue; nothing refused is lost.

Each test fails without the bound (checked with ``Admission(0)``, no bound): the turn
beyond it is then queued instead of refused.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.app import Bot
from bot.core.admission import Admission, Busy
from tests.core.test_pipeline import HeldSender, echo_core, text


async def settle() -> None:
    """Let the tasks just started run up to where they wait (a lock, a place)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_turn_beyond_the_bound_is_refused_at_once_and_handled_when_sent_again(
    bot: Bot,
) -> None:
    core = echo_core(bot)
    core.admission = Admission(2)
    sender = HeldSender()
    async with core.ordered("memory:amina"):  # amina's two turns stay in flight
        first = asyncio.create_task(core.accept(text("amina", "one"), sender))
        second = asyncio.create_task(core.accept(text("amina", "two"), sender))
        await settle()
        assert core.admission.in_flight == 2
        with pytest.raises(Busy) as refused:
            await core.accept(text("bo", "hello"), sender)
        assert refused.value.retry_after > 0
    for handled in await asyncio.gather(first, second):
        await handled.delivered()
    # Nothing of the refused event was recorded: sent again, it is handled, once.
    again = await core.accept(text("bo", "hello"), sender)
    await again.delivered()
    assert sender.sent == [("amina", "re:one"), ("amina", "re:two"), ("bo", "re:hello")]
    assert core.admission.in_flight == 0 and core.admission.refused == 1


async def test_a_patient_source_waits_for_room_in_arrival_order(bot: Bot) -> None:
    core = echo_core(bot)
    core.admission = Admission(1)
    sender = HeldSender()
    async with core.ordered("memory:amina"):
        first = asyncio.create_task(core.accept(text("amina", "one"), sender))
        await settle()
        waiting = [
            asyncio.create_task(core.accept(text(user, "hi"), sender, patient=True))
            for user in ("bo", "chen")
        ]
        await settle()
        assert not any(task.done() for task in waiting)  # waiting, not refused
        assert core.admission.in_flight == 1
    for handled in await asyncio.gather(first, *waiting):
        await handled.delivered()
    assert sender.sent == [("amina", "re:one"), ("bo", "re:hi"), ("chen", "re:hi")]
    assert core.admission.in_flight == 0 and core.admission.refused == 0


async def test_a_patient_waiter_called_off_passes_its_place_on(bot: Bot) -> None:
    core = echo_core(bot)
    core.admission = Admission(1)
    sender = HeldSender()
    async with core.admission.admit():
        gone = asyncio.create_task(core.accept(text("bo", "hi"), sender, patient=True))
        kept = asyncio.create_task(core.accept(text("chen", "hi"), sender, patient=True))
        await settle()
        gone.cancel()
        await settle()
    handled = await kept
    await handled.delivered()
    assert gone.cancelled()
    assert sender.sent == [("chen", "re:hi")]
    assert core.admission.in_flight == 0
