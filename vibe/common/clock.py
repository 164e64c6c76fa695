"""Clocks: the only way any component learns the time.

``LiveClock`` is the single reader of the wall clock in the code base;
``SimulatedClock`` is advanced explicitly (by replayed bars or by tests), so a
backtest and a live day run the same code. Both return tz-aware UTC datetimes
and monotonic seconds. Following NautilusTrader's ``LiveClock``/``TestClock``
split, a component receives one clock in its constructor and never mixes them.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from vibe.common.errors import InvalidInputError
from vibe.common.models import require_aware


@runtime_checkable
class Clock(Protocol):
    """What components need from a clock."""

    def now(self) -> datetime:
        """Current time, tz-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for durations and rate limits)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class LiveClock:
    """The wall clock (UTC) and the process's monotonic clock."""

    def now(self) -> datetime:
        """Current wall-clock time, tz-aware UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """``time.monotonic()`` in seconds."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep(seconds)``."""
        await asyncio.sleep(max(0.0, seconds))


class SimulatedClock:
    """A clock that moves only when told to.

    ``sleep`` does not wait in real time: it advances the clock by ``seconds``
    and yields to the event loop once, so code written for the live clock runs
    unchanged and instantly under simulation.

    Args:
        start: initial time, tz-aware (stored as UTC).

    Raises:
        InvalidInputError: ``start`` is naive.
    """

    def __init__(self, start: datetime) -> None:
        self._now = require_aware("start", start).astimezone(UTC)
        self._origin = self._now

    def now(self) -> datetime:
        """The simulated time, tz-aware UTC."""
        return self._now

    def monotonic(self) -> float:
        """Simulated seconds elapsed since ``start``."""
        return (self._now - self._origin).total_seconds()

    def advance_to(self, when: datetime) -> None:
        """Move the clock to ``when``; a time earlier than now is ignored (time never reverses).

        Raises:
            InvalidInputError: ``when`` is naive.
        """
        if when.tzinfo is not UTC:  # the per-bar call passes UTC already: skip the conversion
            when = require_aware("when", when).astimezone(UTC)
        if when > self._now:
            self._now = when

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (>= 0).

        Raises:
            InvalidInputError: ``seconds`` is negative.
        """
        if seconds < 0:
            raise InvalidInputError(f"seconds={seconds!r}; expected >= 0")
        self._now = self._now + timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` and yield to the event loop once."""
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
