"""Circuit breaker: stop new entries after too many consecutive execution errors.

An execution error is an exception from the order path (storage, lifecycle,
bad input) or a venue rejection of an order the risk manager had approved. Any
accepted order resets the count. Once ``max_consecutive_errors`` is reached the
breaker opens: new entries are refused, closes still go through, health is set
``degraded`` and it stays open until :meth:`CircuitBreaker.reset` (a person
decides). This follows freqtrade's and NautilusTrader's practice of halting on
repeated failures rather than retrying blindly.
"""

from __future__ import annotations

from vibe.common.errors import InvalidInputError
from vibe.trading_bot.core.health_reporter import HealthReporter, HealthState


class CircuitBreaker:
    """Counts consecutive execution errors and opens at a threshold.

    Args:
        max_consecutive_errors: errors in a row that open the breaker (>= 1).
        health: receives every error and the state change.

    Raises:
        InvalidInputError: ``max_consecutive_errors`` < 1.
    """

    def __init__(self, max_consecutive_errors: int, health: HealthReporter) -> None:
        if max_consecutive_errors < 1:
            raise InvalidInputError(
                f"max_consecutive_errors={max_consecutive_errors!r}; expected >= 1"
            )
        self.max_consecutive_errors = max_consecutive_errors
        self._health = health
        self.consecutive_errors = 0
        self.is_open = False

    def record_error(self, message: str) -> bool:
        """Count one error; returns True when this error opened the breaker."""
        self.consecutive_errors += 1
        self._health.record_error(message)
        if self.is_open or self.consecutive_errors < self.max_consecutive_errors:
            return False
        self.is_open = True
        self._health.set_state(
            HealthState.DEGRADED,
            f"circuit breaker open after {self.consecutive_errors} consecutive execution "
            "errors; new entries stopped, closes allowed",
        )
        return True

    def record_success(self) -> None:
        """An order went through: the consecutive count restarts at zero."""
        self.consecutive_errors = 0

    def reset(self) -> None:
        """Close the breaker (after a person has looked) and report ``healthy``."""
        self.consecutive_errors = 0
        if self.is_open:
            self.is_open = False
            self._health.set_state(HealthState.HEALTHY, "circuit breaker reset")
