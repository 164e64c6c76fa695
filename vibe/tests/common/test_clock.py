"""The simulated clock moves only when told to; the live clock is UTC-aware."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from vibe.common.clock import Clock, LiveClock, SimulatedClock
from vibe.common.errors import InvalidInputError

T0 = datetime(2025, 7, 3, 13, 30, tzinfo=UTC)


def test_simulated_clock_advances_and_never_reverses():
    clock = SimulatedClock(T0)
    clock.advance(90)
    assert clock.now() == T0 + timedelta(seconds=90)
    assert clock.monotonic() == 90
    clock.advance_to(T0)
    assert clock.now() == T0 + timedelta(seconds=90)
    with pytest.raises(InvalidInputError):
        clock.advance(-1)
    with pytest.raises(InvalidInputError, match="naive"):
        SimulatedClock(datetime(2025, 1, 1))  # noqa: DTZ001


def test_simulated_sleep_is_instant():
    clock = SimulatedClock(T0)
    asyncio.run(clock.sleep(3600))
    assert clock.now() == T0 + timedelta(hours=1)


def test_live_clock_is_utc_and_a_clock():
    live = LiveClock()
    assert isinstance(live, Clock) and isinstance(SimulatedClock(T0), Clock)
    assert live.now().tzinfo is UTC
