"""An async request-rate limiter on a real :class:`~vibe.common.clock.Timer` (waiting time).

It paces requests to a remote API, so it waits in real seconds in every mode: a
``backtest`` on a simulated clock still sends at most ``YAHOO_RATE_LIMIT``
requests per real second, and waiting never moves the trading clock.
"""

from __future__ import annotations

import asyncio

from vibe.common.clock import Timer
from vibe.common.errors import InvalidInputError


class RateLimiter:
    """Spaces calls at least ``1 / rate_per_second`` seconds apart (e.g. ``YAHOO_RATE_LIMIT``).

    Args:
        rate_per_second: allowed requests per second (> 0).
        timer: waiting time whose ``monotonic()`` and ``sleep()`` pace the calls.

    Raises:
        InvalidInputError: ``rate_per_second`` is not > 0.
    """

    def __init__(self, rate_per_second: float, timer: Timer) -> None:
        if not rate_per_second > 0:
            raise InvalidInputError(f"rate_per_second={rate_per_second!r}; expected > 0")
        self.interval_seconds = 1.0 / rate_per_second
        self._timer = timer
        self._next = float("-inf")
        self._lock = asyncio.Lock()
        self.waited_seconds = 0.0  # total real seconds waited

    async def acquire(self) -> None:
        """Wait until the next request may go out, then reserve its slot."""
        async with self._lock:
            wait = self._next - self._timer.monotonic()
            if wait > 0:
                self.waited_seconds += wait
                await self._timer.sleep(wait)
            self._next = max(self._timer.monotonic(), self._next) + self.interval_seconds
