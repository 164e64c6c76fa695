"""Trading time (clocks) and waiting time (timers) are two separate things."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from vibe.common.clock import Clock, FakeTimer, LiveClock, MonotonicTimer, SimulatedClock, Timer
from vibe.common.errors import InvalidInputError

T0 = datetime(2025, 7, 3, 13, 30, tzinfo=UTC)


def test_simulated_clock_advances_and_never_reverses():
    clock = SimulatedClock(T0)
    clock.advance(90)
    assert clock.now() == T0 + timedelta(seconds=90)
    clock.advance_to(T0)
    assert clock.now() == T0 + timedelta(seconds=90)
    with pytest.raises(InvalidInputError):
        clock.advance(-1)
    with pytest.raises(InvalidInputError, match="naive"):
        SimulatedClock(datetime(2025, 1, 1))  # noqa: DTZ001


def test_a_trading_clock_cannot_be_waited_on():
    for clock in (LiveClock(), SimulatedClock(T0)):
        assert isinstance(clock, Clock)
        assert not isinstance(clock, Timer)  # no sleep(): nothing waits on trading time


def test_monotonic_timer_waits_in_real_time_whatever_the_trading_clock():
    timer = MonotonicTimer()
    assert isinstance(timer, Timer) and not isinstance(timer, Clock)
    started = time.monotonic()
    asyncio.run(timer.sleep(0.05))
    asyncio.run(timer.sleep(-1))  # a negative wait is no wait
    assert 0.05 <= time.monotonic() - started < 1.0
    assert timer.monotonic() >= started + 0.05


def test_fake_timer_is_instant_and_leaves_trading_time_alone_unless_told():
    clock = SimulatedClock(T0)
    timer = FakeTimer(10.0)
    asyncio.run(timer.sleep(3600))
    assert (timer.monotonic(), timer.slept, clock.now()) == (3610.0, [3600], T0)
    with pytest.raises(InvalidInputError):
        timer.advance(-1)
    wall = FakeTimer(wall=clock)  # stands for the wall clock of a live run
    asyncio.run(wall.sleep(60))
    assert clock.now() == T0 + timedelta(minutes=1)


def test_live_clock_is_utc_and_a_clock():
    live = LiveClock()
    assert isinstance(live, Clock) and isinstance(SimulatedClock(T0), Clock)
    assert live.now().tzinfo is UTC


def test_decision_time_pins_the_live_clock_inside_the_block_only():
    import threading

    from vibe.common.clock import LiveClock, decision_time

    clock = LiveClock()
    close = datetime(2025, 11, 17, 14, 52, tzinfo=UTC)
    seen: list[datetime] = []
    with decision_time(close):
        assert clock.now() == close
        worker = threading.Thread(target=lambda: seen.append(clock.now()))
        worker.start()
        worker.join()
    assert seen[0] != close  # another thread reads the wall clock
    assert clock.now() > close + timedelta(days=300)
