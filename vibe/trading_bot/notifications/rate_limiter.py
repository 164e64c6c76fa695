"""An async sliding-window token bucket on a real :class:`~vibe.common.clock.Timer`.

At most ``capacity`` tokens are spent in any ``period_seconds`` window: each
token comes back ``period_seconds`` (plus a small safety margin) after it was
spent. That is the strict reading of Discord's webhook limit (5 requests per
2 s, discord/discord-api-docs#6753); a continuously refilled bucket would let
up to ``2 * capacity`` requests into one window.

A caller that finds no token *reserves* the next one to come back and sleeps
until then; reservations are served in arrival order and
:meth:`TokenBucket.try_acquire` cannot jump them (it needs a token that is
free now and not promised to a waiter).

The bucket paces requests to the outside world, so it waits on a
:class:`~vibe.common.clock.Timer` (waiting time), never on the trading clock:
a replay at ``--speed max`` still sends at most 5 requests per 2 real seconds.
Unit tests pass a :class:`~vibe.common.clock.FakeTimer`.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

from vibe.common.clock import Timer
from vibe.common.errors import InvalidInputError


class TokenBucket:
    """``capacity`` tokens per sliding window of ``period_seconds``.

    Args:
        capacity: tokens (requests) per window, >= 1.
        period_seconds: window length, seconds, > 0.
        timer: waiting time (``monotonic()`` and ``sleep()``).
        margin_seconds: extra seconds before a spent token comes back (>= 0), to absorb
            scheduling and network jitter between the caller and the server.

    Raises:
        InvalidInputError: ``capacity`` < 1, ``period_seconds`` not a finite number > 0,
            or ``margin_seconds`` negative.
    """

    def __init__(
        self, capacity: int, period_seconds: float, timer: Timer, margin_seconds: float = 0.0
    ) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise InvalidInputError(f"capacity={capacity!r}; expected a whole number >= 1")
        if not math.isfinite(period_seconds) or period_seconds <= 0:
            raise InvalidInputError(f"period_seconds={period_seconds!r}; expected seconds > 0")
        if not math.isfinite(margin_seconds) or margin_seconds < 0:
            raise InvalidInputError(f"margin_seconds={margin_seconds!r}; expected seconds >= 0")
        self.capacity = capacity
        self.period_seconds = float(period_seconds)
        self._timer = timer
        self._hold = self.period_seconds + margin_seconds  # seconds a spent token stays out
        self._returns: deque[float] = deque()  # when each spent or promised token comes back

    def _expire(self) -> float:
        now = self._timer.monotonic()
        while self._returns and self._returns[0] <= now:
            self._returns.popleft()
        return now

    @property
    def tokens(self) -> float:
        """Tokens free now; negative while callers hold reservations."""
        self._expire()
        return float(self.capacity - len(self._returns))

    def try_acquire(self) -> bool:
        """Take a token if one is free now (never waits, never jumps queued waiters)."""
        now = self._expire()
        if len(self._returns) < self.capacity:
            self._returns.append(now + self._hold)
            return True
        return False

    def _turn(self, now: float) -> float:
        """When a caller arriving at ``now`` gets its token (monotonic seconds)."""
        waiting = len(self._returns) - self.capacity
        return now if waiting < 0 else max(now, self._returns[waiting])

    def wait_time(self) -> float:
        """Seconds until a caller arriving now would get its token (0.0 when one is free)."""
        now = self._expire()
        return self._turn(now) - now

    async def acquire(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 - timer time
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
        now = self._expire()
        turn = self._turn(now)
        wait = turn - now
        if timeout is not None and wait > timeout:
            return False
        mine = turn + self._hold
        self._returns.append(mine)
        try:
            await (self._timer.sleep(wait) if wait > 0 else asyncio.sleep(0))
        except asyncio.CancelledError:
            if mine in self._returns:
                self._returns.remove(mine)
            raise
        return True
