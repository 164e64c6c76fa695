"""The ``market_data`` health reporter: stays DEGRADED while symbols lack history.

Several parts report the market data's state through one reporter (the data
manager, the Finnhub stream, Yahoo polling), and each says HEALTHY when *its*
part works: the stream connecting says nothing about the warm-up history that
failed before it. :class:`MarketDataHealth` wraps the component's reporter and
remembers which symbols have no history; while any do, every HEALTHY report is
passed on as DEGRADED, its reason followed by the symbols and why. Reports of
other states pass through unchanged, and clearing the gaps restores the last
state reported.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from vibe.trading_bot.core.health_reporter import HealthReporter, HealthState

#: Symbols named in a reason; the rest are counted.
_NAMED = 5


class MarketDataHealth:
    """A :class:`HealthReporter` for ``market_data`` that knows about missing history.

    Safe to call from worker threads.

    Args:
        inner: the component's reporter (from the health monitor).
    """

    def __init__(self, inner: HealthReporter) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._missing: dict[str, str] = {}
        self._last: tuple[HealthState, str] | None = None

    @classmethod
    def wrap(cls, reporter: HealthReporter) -> MarketDataHealth:
        """``reporter`` itself when it already is one, else a new wrapper around it."""
        return reporter if isinstance(reporter, MarketDataHealth) else cls(reporter)

    @property
    def missing_history(self) -> dict[str, str]:
        """Symbol -> why its history could not be loaded (a copy; empty when none)."""
        with self._lock:
            return dict(self._missing)

    def set_missing_history(self, missing: Mapping[str, str]) -> None:
        """Replace the symbols lacking history (empty: none) and re-report the state."""
        with self._lock:
            self._missing = dict(missing)
            last = self._last
        if last is not None or missing:
            state, reason = last or (HealthState.HEALTHY, "")
            self.set_state(state, reason)

    def set_state(self, state: HealthState, reason: str = "") -> None:
        """Report ``state``; HEALTHY becomes DEGRADED while symbols lack history."""
        with self._lock:
            self._last = (state, reason)
            missing = dict(self._missing)
        if state is HealthState.HEALTHY and missing:
            state = HealthState.DEGRADED
            reason = "; ".join(part for part in (reason, describe_missing(missing)) if part)
        self._inner.set_state(state, reason)

    def record_error(self, message: str) -> None:
        """Count one error on the wrapped reporter."""
        self._inner.record_error(message)


def describe_missing(missing: Mapping[str, str]) -> str:
    """``no history for MSFT, NVDA (MSFT: <why>)``: the symbols (first five) and one reason."""
    symbols = sorted(missing)
    named = ", ".join(symbols[:_NAMED])
    more = f" and {len(symbols) - _NAMED} more" if len(symbols) > _NAMED else ""
    first = symbols[0]
    return f"no history for {named}{more} ({first}: {missing[first]})"
