"""An async request-rate limiter on the injected clock."""

from __future__ import annotations

import asyncio

from vibe.common.clock import Clock
from vibe.common.errors import InvalidInputError


class RateLimiter:
    """Spaces calls at least ``1 / rate_per_second`` seconds apart (e.g. ``YAHOO_RATE_LIMIT``).

    Args:
        rate_per_second: allowed requests per second (> 0).
        clock: the clock whose ``monotonic()`` and ``sleep()`` pace the calls.

    Raises:
        InvalidInputError: ``rate_per_second`` is not > 0.
    """

    def __init__(self, rate_per_second: float, clock: Clock) -> None:
        if not rate_per_second > 0:
            raise InvalidInputError(f"rate_per_second={rate_per_second!r}; expected > 0")
        self.interval_seconds = 1.0 / rate_per_second
        self._clock = clock
        self._next = float("-inf")
        self._lock = asyncio.Lock()
        self.waited_seconds = 0.0

    async def acquire(self) -> None:
        """Wait until the next request may go out, then reserve its slot."""
        async with self._lock:
            wait = self._next - self._clock.monotonic()
            if wait > 0:
                self.waited_seconds += wait
                await self._clock.sleep(wait)
            self._next = max(self._clock.monotonic(), self._next) + self.interval_seconds
