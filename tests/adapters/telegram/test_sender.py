"""The sender against the fake's faults, and the limits it keeps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.adapters.telegram.limits import SendLimiter, TelegramLimits, TokenBucket
from bot.adapters.telegram.sender import TelegramSender
from bot.core.delivery import (
    DeliveryError,
    PermanentError,
    RetryAfter,
    TransientError,
    Unreachable,
)
from bot.core.events import Outgoing
from tests.adapters.telegram.conftest import UNLIMITED
from tests.fakes.telegram_api import FakeTelegramApi, texts_sent


@pytest.fixture
async def bot(api: FakeTelegramApi) -> AsyncIterator[Bot]:
    request = HTTPXRequest(read_timeout=0.3, connect_timeout=1.0, write_timeout=1.0)
    async with Bot(api.token, base_url=api.base_url, request=request) as bot:
        yield bot


@pytest.fixture
def sender(bot: Bot) -> TelegramSender:
    return TelegramSender(bot, SendLimiter(UNLIMITED))


@pytest.mark.parametrize(
    ("status", "description", "expected"),
    [
        (429, "", RetryAfter),
        (403, "Forbidden: bot was blocked by the user", Unreachable),
        (403, "Forbidden: user is deactivated", Unreachable),
        (500, "Internal Server Error", TransientError),
        (502, "Bad Gateway", TransientError),
        (400, "Bad Request: chat not found", PermanentError),
    ],
)
async def test_bot_api_errors_become_delivery_errors(
    api: FakeTelegramApi,
    sender: TelegramSender,
    status: int,
    description: str,
    expected: type[DeliveryError],
) -> None:
    api.fail(
        "sendMessage", status, retry_after=7 if status == 429 else None, description=description
    )
    with pytest.raises(expected) as caught:
        await sender.send("42", Outgoing("hello"))
    if isinstance(caught.value, RetryAfter):
        assert caught.value.seconds == 7
    assert await sender.send("42", Outgoing("hello")) is not None  # the fault was one call
    assert texts_sent(api) == ["hello"]


async def test_a_slow_answer_is_a_timeout_and_transient(
    api: FakeTelegramApi, sender: TelegramSender
) -> None:
    api.delay("sendMessage", 3.0)
    with pytest.raises(TransientError):
        await sender.send("42", Outgoing("hello"))


@pytest.mark.parametrize("failing_part", [0, 1, 2])
async def test_a_retry_after_a_failure_mid_message_sends_only_the_rest(
    api: FakeTelegramApi, sender: TelegramSender, failing_part: int
) -> None:
    message = Outgoing("\n\n".join(f"Part {i} " + "x" * 4000 for i in range(3)))
    api.fail("sendMessage", 429, retry_after=1, after=failing_part)
    with pytest.raises(RetryAfter):
        await sender.send("42", message)
    assert await sender.send("42", message) is not None
    assert [text.split(" ")[1] for text in texts_sent(api)] == ["0", "1", "2"]
    assert len(api.calls("sendMessage")) == 4  # three parts, one refused attempt


async def test_limiter_regression_a_limiter_with_no_chats_yet_is_used(bot: Bot) -> None:
    """``limiter or SendLimiter()`` replaced an empty (falsy, ``len() == 0``) limiter."""
    limiter = SendLimiter(UNLIMITED)
    assert len(limiter) == 0
    assert TelegramSender(bot, limiter).limiter is limiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_the_burst_then_spaces_by_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1.0, capacity=3, clock=clock)
    assert [bucket.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, 1.0, 2.0]
    clock.now += 2.0  # the two reservations are now covered, nothing saved up
    assert bucket.reserve() == 1.0
    clock.now += 60
    assert bucket.idle()


def test_private_chats_one_a_second_groups_twenty_a_minute_each_on_its_own() -> None:
    clock = Clock()
    limiter = SendLimiter(TelegramLimits(), clock=clock)
    person, other, group = limiter._bucket("42"), limiter._bucket("43"), limiter._bucket("-1001")
    assert [person.reserve() for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]
    assert other.reserve() == 0.0  # another chat is not held back
    assert [group.reserve() for _ in range(3)] == [0.0, 3.0, 6.0]  # 60 s / 20
    assert limiter._bucket("@channel").rate == pytest.approx(20 / 60)


def test_quiet_chats_are_forgotten() -> None:
    clock = Clock()
    limiter = SendLimiter(TelegramLimits(), clock=clock)
    limiter.PRUNE_ABOVE = 2
    for chat in ("1", "2"):
        limiter._bucket(chat).reserve()
    clock.now += 10
    limiter._bucket("3")
    assert len(limiter) == 1


class RecordingLimiter(SendLimiter):
    """Notes, as each message takes its turn, how long it must wait and how many messages
    the fake Bot API had received by then."""

    def __init__(self, limits: TelegramLimits, clock: Clock, api: FakeTelegramApi) -> None:
        super().__init__(limits, clock=clock)
        self.api = api
        self.turns: list[tuple[float, int]] = []

    async def acquire(self, chat_id: str) -> None:
        self.turns.append((self.wait_before(chat_id), len(self.api.calls("sendMessage"))))
        await super().acquire(chat_id)


async def test_each_message_to_a_chat_waits_for_a_token_of_its_own(
    api: FakeTelegramApi, bot: Bot
) -> None:
    """Sent over real HTTP with the clock standing still: every message reserves its own
    token before it goes, so each waits 1/20 s more than the one before (no wall time is
    measured: a loaded machine cannot make this fail)."""
    fast = TelegramLimits(
        overall_per_second=1000, overall_burst=1000, private_per_second=20, private_burst=1
    )
    limiter = RecordingLimiter(fast, Clock(), api)
    sender = TelegramSender(bot, limiter)
    for i in range(4):
        await sender.send("42", Outgoing(f"m{i}"))
    assert [wait for wait, _sent in limiter.turns] == pytest.approx([0.0, 0.05, 0.10, 0.15])
    assert [sent for _wait, sent in limiter.turns] == [0, 1, 2, 3]  # one message per token
    assert texts_sent(api) == ["m0", "m1", "m2", "m3"]
    assert limiter.wait_before("42") == pytest.approx(0.20)  # the next would wait its turn
    assert limiter.wait_before("43") == 0.0  # another chat is not held back
