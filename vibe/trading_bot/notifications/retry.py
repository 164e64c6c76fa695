"""Backoff for transient delivery failures (5xx replies, network errors).

Capped exponential backoff with jitter: attempt ``n`` (1-based) waits
``min(max_delay, base * multiplier ** (n - 1))`` scaled by a random factor in
``[1 - jitter, 1]`` ("Exponential Backoff And Jitter", AWS Architecture Blog,
2015). The jitter spreads retries from several bots so they do not hit Discord
in lock step. Retrying itself never stops while the alert is pending: an alert
is not dropped because Discord was down, but the wait between tries is bounded.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from vibe.common.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait before retrying a failed delivery.

    Attributes:
        base_delay_seconds: wait before the first retry, seconds (> 0).
        multiplier: growth factor per further attempt (>= 1).
        max_delay_seconds: the longest wait, seconds (>= base).
        jitter: fraction of the wait randomised away, 0..1.
        degrade_after: consecutive failures after which the notifier reports degraded.

    Raises:
        InvalidInputError: a value outside the ranges above.
    """

    base_delay_seconds: float = 1.0
    multiplier: float = 2.0
    max_delay_seconds: float = 60.0
    jitter: float = 0.5
    degrade_after: int = 3

    def __post_init__(self) -> None:
        if not (math.isfinite(self.base_delay_seconds) and self.base_delay_seconds > 0):
            raise InvalidInputError(
                f"base_delay_seconds={self.base_delay_seconds!r}; expected seconds > 0"
            )
        if not (math.isfinite(self.multiplier) and self.multiplier >= 1):
            raise InvalidInputError(f"multiplier={self.multiplier!r}; expected >= 1")
        if not self.max_delay_seconds >= self.base_delay_seconds:
            raise InvalidInputError(
                f"max_delay_seconds={self.max_delay_seconds!r}; expected >= base_delay_seconds"
            )
        if not 0 <= self.jitter <= 1:
            raise InvalidInputError(f"jitter={self.jitter!r}; expected a fraction in [0, 1]")
        if self.degrade_after < 1:
            raise InvalidInputError(f"degrade_after={self.degrade_after!r}; expected >= 1")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        exponent = min(max(attempt, 1) - 1, 64)
        raw = min(self.max_delay_seconds, self.base_delay_seconds * self.multiplier**exponent)
        return raw * (1.0 - self.jitter * rng.random())
