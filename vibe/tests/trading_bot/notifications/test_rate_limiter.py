from __future__ import annotations

import asyncio

import pytest

from vibe.common.clock import FakeTimer
from vibe.common.errors import InvalidInputError
from vibe.trading_bot.notifications.rate_limiter import TokenBucket


class SteppedTimer(FakeTimer):
    """sleep() waits until the test advances the timer past the wake-up time."""

    def __init__(self) -> None:
        super().__init__()
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self.sleepers.append((self.monotonic() + seconds, future))
        await future

    async def step(self, seconds: float) -> None:
        self.advance(seconds)
        for wake, future in list(self.sleepers):
            if wake <= self.monotonic() + 1e-9 and not future.done():
                future.set_result(None)
        for _ in range(5):
            await asyncio.sleep(0)


@pytest.mark.parametrize(
    ("capacity", "period", "margin"), [(0, 1.0, 0.0), (5, 0.0, 0.0), (5, float("inf"), 0.0)]
)
def test_bad_parameters_are_named(capacity, period, margin):
    with pytest.raises(InvalidInputError):
        TokenBucket(capacity, period, FakeTimer(), margin)


def test_negative_margin_is_refused():
    with pytest.raises(InvalidInputError, match="margin_seconds"):
        TokenBucket(5, 2.0, FakeTimer(), -0.1)


@pytest.mark.asyncio
async def test_burst_then_each_token_comes_back_a_period_after_it_was_spent():
    timer = FakeTimer()
    bucket = TokenBucket(5, 2.0, timer)
    assert [bucket.try_acquire() for _ in range(6)] == [True] * 5 + [False]
    assert bucket.wait_time() == pytest.approx(2.0)
    timer.advance(1.0)
    assert not bucket.try_acquire()  # a continuously refilled bucket would give 2.5 tokens here
    timer.advance(1.0)
    assert bucket.tokens == pytest.approx(5.0)
    timer.advance(10)
    assert bucket.tokens == pytest.approx(5.0)  # never more than capacity


@pytest.mark.asyncio
async def test_acquire_never_lets_more_than_capacity_into_any_window():
    timer = FakeTimer()
    bucket = TokenBucket(5, 2.0, timer, margin_seconds=0.1)
    sent: list[float] = []
    for _ in range(23):
        assert await bucket.acquire()
        sent.append(timer.monotonic())
    for i, at in enumerate(sent):
        assert sum(1 for other in sent[i:] if other < at + 2.0) <= 5
    # 5 at once, then 5 more every 2.1 s: the 21st to 23rd at 4 * 2.1 = 8.4 s
    assert timer.monotonic() == pytest.approx(8.4)


@pytest.mark.asyncio
async def test_timeout_returns_false_without_reserving():
    timer = FakeTimer()
    bucket = TokenBucket(2, 1.0, timer)
    assert bucket.try_acquire() and bucket.try_acquire()
    timer.advance(0.5)
    assert await bucket.acquire(timeout=0.1) is False
    assert timer.monotonic() == 0.5
    assert bucket.tokens == pytest.approx(0.0)
    assert await bucket.acquire(timeout=0.5) is True
    assert timer.monotonic() == pytest.approx(1.0)


@pytest.mark.asyncio
async def test_concurrent_waiters_are_served_in_arrival_order_and_cannot_be_jumped():
    timer = SteppedTimer()
    bucket = TokenBucket(1, 1.0, timer)
    assert bucket.try_acquire()
    served: list[int] = []

    async def waiter(n: int) -> None:
        await bucket.acquire()
        served.append(n)

    tasks = [asyncio.create_task(waiter(n)) for n in range(5)]
    await asyncio.sleep(0)
    for second in range(1, 6):
        assert not bucket.try_acquire()  # a newcomer cannot jump the queue
        await timer.step(1.0)
        assert served == list(range(second))
    await asyncio.gather(*tasks)


@pytest.mark.asyncio
async def test_cancelled_waiter_gives_its_token_back():
    timer = SteppedTimer()
    bucket = TokenBucket(1, 1.0, timer)
    assert bucket.try_acquire()
    task = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    assert bucket.tokens == pytest.approx(-1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert bucket.tokens == pytest.approx(0.0)
