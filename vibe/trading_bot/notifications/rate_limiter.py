"""An async token bucket on the injected clock, fair to concurrent waiters.

The bucket holds at most ``capacity`` tokens and refills continuously at
``capacity / period_seconds`` tokens per second (Discord webhooks: 5 requests
per 2 s, discord/discord-api-docs#6753). A caller that finds no token
*reserves* the next one by letting the balance go negative and sleeps until
it has been refilled; a negative balance is therefore a FIFO queue of
reservations, and :meth:`TokenBucket.try_acquire` cannot jump it (it needs a
whole free token). Sleeping goes through the injected :class:`Clock`, so
tests on a :class:`~vibe.common.clock.SimulatedClock` never wait in real time.
"""

from __future__ import annotations

import asyncio
import math

from vibe.common.clock import Clock
from vibe.common.errors import InvalidInputError


class TokenBucket:
    """``capacity`` tokens refilled evenly over ``period_seconds``.

    Args:
        capacity: bucket size in tokens (requests), >= 1.
        period_seconds: seconds to refill an empty bucket completely, > 0.
        clock: time source; only ``monotonic()`` and ``sleep()`` are used.

    Raises:
        InvalidInputError: ``capacity`` < 1 or ``period_seconds`` not a finite number > 0.
    """

    def __init__(self, capacity: int, period_seconds: float, clock: Clock) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise InvalidInputError(f"capacity={capacity!r}; expected a whole number >= 1")
        if not math.isfinite(period_seconds) or period_seconds <= 0:
            raise InvalidInputError(f"period_seconds={period_seconds!r}; expected seconds > 0")
        self.capacity = capacity
        self.period_seconds = float(period_seconds)
        self._clock = clock
        self._interval = self.period_seconds / capacity  # seconds per token
        self._tokens = float(capacity)
        self._updated = clock.monotonic()

    @property
    def tokens(self) -> float:
        """Tokens available now; negative while callers hold reservations."""
        self._refill()
        return self._tokens

    def _refill(self) -> None:
        now = self._clock.monotonic()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(float(self.capacity), self._tokens + elapsed / self._interval)
        self._updated = now

    def try_acquire(self) -> bool:
        """Take a token if one is free now (never waits, never jumps queued waiters)."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def wait_time(self) -> float:
        """Seconds until a caller arriving now would get its token (0.0 when one is free)."""
        self._refill()
        return max(0.0, (1.0 - self._tokens) * self._interval)

    async def acquire(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 - clock time
        """Take a token, waiting for it in arrival order.

        Args:
            timeout: the longest wait accepted, in seconds; ``None`` waits as long as needed.
                A caller whose turn would come later than ``timeout`` returns at once
                without reserving anything.

        Returns:
            True once the token is held; False when it would take longer than ``timeout``.

        Raises:
            asyncio.CancelledError: cancelled while waiting; the reserved token is given back.
        """
        wait = self.wait_time()
        if timeout is not None and wait > timeout:
            return False
        self._tokens -= 1.0
        try:
            await (self._clock.sleep(wait) if wait > 0 else asyncio.sleep(0))
        except asyncio.CancelledError:
            self._tokens += 1.0
            raise
        return True
