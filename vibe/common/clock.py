"""The two kinds of time: trading time (:class:`Clock`) and waiting time (:class:`Timer`).

**Trading time** is what the market sees: bar times, order, fill and record
timestamps, session logic, alert timestamps. It comes only from the injected
:class:`Clock`: :class:`LiveClock` (the wall clock, the single reader of
``datetime.now()`` in the code base) in ``run``, :class:`SimulatedClock` in
``run --replay``, ``backtest`` and tests, moved only by the replayed bars.
A trading clock only tells the time: it has no ``sleep``, so nothing can wait
on it, and waiting can never move it.

**Waiting time** is what the outside world sees: rate limits, back-off,
``Retry-After``, timeouts, uptime, heartbeat intervals. It always uses a real
monotonic :class:`Timer` (:class:`MonotonicTimer`, seconds of
``time.monotonic()``), in every mode: a replay at ``--speed max`` runs bars as
fast as it can but still waits 2 s for Discord when Discord says so, and a
retry never moves the trading clock. :class:`FakeTimer` lets a unit test run
waits instantly; it is never used by the daemon.

A component receives the one or two it needs through its constructor and
never mixes them: a ``Clock`` for stamping, a ``Timer`` for waiting.

**Decision time.** A decision on a closed bar (the orders it sends, their
events, records and alerts) happens at the bar's close, in every mode: the bar
processor wraps each bar in :func:`decision_time` with the bar's end, and
:class:`LiveClock` answers that time inside it instead of the wall clock (which
is already some milliseconds to seconds past the close when the bar arrives).
A :class:`SimulatedClock` is at the bar's close anyway. Without this, a live
market order would be stamped after the next bar's start and fill one bar
later than the same order in a replay. The pin is a context variable: it holds
for the code inside the ``with`` block on this thread (or task) only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from vibe.common.errors import InvalidInputError
from vibe.common.models import require_aware


@runtime_checkable
class Clock(Protocol):
    """Trading time: what the market sees (bar, order, fill, record and alert times)."""

    def now(self) -> datetime:
        """Current trading time, tz-aware UTC."""
        ...


@runtime_checkable
class Timer(Protocol):
    """Waiting time: real seconds spent waiting on the outside world (never trading time)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for durations, rate limits, uptime)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a negative value waits 0 s but still yields to the event loop)."""
        ...


_DECISION_TIME: ContextVar[datetime | None] = ContextVar("vibe_decision_time", default=None)


def pin_decision_time(at: datetime | None) -> Token[datetime | None]:
    """Pin the decision time to ``at`` (tz-aware UTC; ``None`` unpins); returns a reset token.

    The hot-path form of :func:`decision_time`: pass the token to
    :func:`unpin_decision_time` in a ``finally`` block.
    """
    return _DECISION_TIME.set(at)


def unpin_decision_time(token: Token[datetime | None]) -> None:
    """Undo the :func:`pin_decision_time` call that returned ``token``."""
    _DECISION_TIME.reset(token)


@contextmanager
def decision_time(at: datetime) -> Iterator[None]:
    """Inside the block, trading time on a :class:`LiveClock` is ``at`` (a bar's close, UTC).

    See the module doc (decision time). Only this thread or task sees the pin.
    """
    token = _DECISION_TIME.set(at)
    try:
        yield
    finally:
        _DECISION_TIME.reset(token)


class LiveClock:
    """Trading time on the wall clock (UTC): the only wall-clock reader.

    Inside :func:`decision_time` it answers the pinned time (the close of the
    bar being decided on) instead.
    """

    def now(self) -> datetime:
        """Current wall-clock time (or the pinned decision time), tz-aware UTC."""
        pinned = _DECISION_TIME.get()
        return pinned if pinned is not None else datetime.now(UTC)


class MonotonicTimer:
    """The real waiting time of the process: ``time.monotonic()`` and ``asyncio.sleep``.

    The daemon uses it in every mode (live, replay, backtest).
    """

    def monotonic(self) -> float:
        """``time.monotonic()`` in seconds."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep(max(0, seconds))``."""
        await asyncio.sleep(max(0.0, seconds))


class FakeTimer:
    """A timer for unit tests: ``sleep`` returns at once and moves :meth:`monotonic` forward.

    Args:
        start: the initial :meth:`monotonic` reading, seconds.
        wall: a :class:`SimulatedClock` standing for the wall clock of a live run, moved
            forward by every wait (a live-only component, e.g. Yahoo polling, waits for
            a bar to close); ``None`` leaves trading time alone, as in a replay.

    Attributes:
        slept: every requested wait, in seconds, in call order.
    """

    def __init__(self, start: float = 0.0, wall: SimulatedClock | None = None) -> None:
        self._now = float(start)
        self._wall = wall
        self.slept: list[float] = []

    def monotonic(self) -> float:
        """Fake seconds: ``start`` plus every wait and :meth:`advance` so far."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the fake time forward by ``seconds`` (>= 0).

        Raises:
            InvalidInputError: ``seconds`` is negative.
        """
        if seconds < 0:
            raise InvalidInputError(f"seconds={seconds!r}; expected >= 0")
        self._now += seconds
        if self._wall is not None:
            self._wall.advance(seconds)

    async def sleep(self, seconds: float) -> None:
        """Record the wait, advance by ``max(0, seconds)`` and yield to the event loop once."""
        self.slept.append(seconds)
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)


class SimulatedClock:
    """Trading time that moves only when told to (by replayed bars or by tests).

    It has no ``sleep``: nothing waits on trading time (see the module doc).

    Args:
        start: initial time, tz-aware (stored as UTC).

    Raises:
        InvalidInputError: ``start`` is naive.
    """

    def __init__(self, start: datetime) -> None:
        self._now = require_aware("start", start).astimezone(UTC)

    def now(self) -> datetime:
        """The simulated time, tz-aware UTC."""
        return self._now

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
