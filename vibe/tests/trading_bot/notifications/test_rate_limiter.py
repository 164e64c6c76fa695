from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.errors import InvalidInputError
from vibe.trading_bot.notifications.rate_limiter import TokenBucket

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)


class SteppedClock(SimulatedClock):
    """sleep() waits until the test advances the clock past the wake-up time."""

    def __init__(self) -> None:
        super().__init__(T0)
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


@pytest.mark.parametrize(("capacity", "period"), [(0, 1.0), (5, 0.0), (5, float("inf"))])
def test_bad_parameters_are_named(capacity, period):
    with pytest.raises(InvalidInputError):
        TokenBucket(capacity, period, SimulatedClock(T0))


@pytest.mark.asyncio
async def test_burst_then_refill_at_capacity_per_period():
    clock = SimulatedClock(T0)
    bucket = TokenBucket(5, 2.0, clock)
    assert [bucket.try_acquire() for _ in range(6)] == [True] * 5 + [False]
    assert bucket.wait_time() == pytest.approx(0.4)
    clock.advance(0.4)
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    clock.advance(10)
    assert bucket.tokens == pytest.approx(5.0)  # never more than capacity


@pytest.mark.asyncio
async def test_acquire_waits_on_the_injected_clock_and_keeps_the_rate():
    clock = SimulatedClock(T0)
    bucket = TokenBucket(5, 2.0, clock)
    for _ in range(25):
        assert await bucket.acquire()
    # 5 at once, then one every 0.4 s: the 25th token is at 20 * 0.4 = 8 s
    assert clock.monotonic() == pytest.approx(8.0)


@pytest.mark.asyncio
async def test_timeout_returns_false_without_reserving():
    clock = SimulatedClock(T0)
    bucket = TokenBucket(2, 1.0, clock)
    assert bucket.try_acquire() and bucket.try_acquire()
    assert await bucket.acquire(timeout=0.1) is False
    assert clock.monotonic() == 0.0
    assert bucket.tokens == pytest.approx(0.0)
    assert await bucket.acquire(timeout=0.5) is True
    assert clock.monotonic() == pytest.approx(0.5)


@pytest.mark.asyncio
async def test_concurrent_waiters_are_served_in_arrival_order_and_cannot_be_jumped():
    clock = SteppedClock()
    bucket = TokenBucket(1, 1.0, clock)
    assert bucket.try_acquire()
    served: list[int] = []

    async def waiter(n: int) -> None:
        await bucket.acquire()
        served.append(n)

    tasks = [asyncio.create_task(waiter(n)) for n in range(5)]
    await asyncio.sleep(0)
    for second in range(1, 6):
        assert not bucket.try_acquire()  # a newcomer cannot jump the queue
        await clock.step(1.0)
        assert served == list(range(second))
    await asyncio.gather(*tasks)


@pytest.mark.asyncio
async def test_cancelled_waiter_gives_its_token_back():
    clock = SteppedClock()
    bucket = TokenBucket(1, 1.0, clock)
    assert bucket.try_acquire()
    task = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    assert bucket.tokens == pytest.approx(-1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert bucket.tokens == pytest.approx(0.0)
