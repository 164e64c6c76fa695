"""The ``market_data`` health reporter: the worst state of the parts that feed it.

Several parts report on the market data: the data manager (connected, which
provider streams, closed), each streaming provider (Finnhub connected or
reconnecting), the feed watchdog (no bar for too long during the session) and
the warm-up history (symbols that have none). Each knows only its own part:
the stream connecting says nothing about a quiet feed or a failed warm-up.
Reported into one component state, the last writer would win, and the state
would flap between one part's HEALTHY and another's problem.

:class:`MarketDataHealth` keeps one state per part and reports the worst of
them to the component's reporter (``stopped`` > ``unhealthy`` > ``degraded`` >
``starting`` > ``healthy``), the reasons of every part in that state joined
with ``; ``. A part stays as it last reported until it reports again, so a
problem is cleared only by the part that raised it. Symbols without history are
the ``history`` part: DEGRADED, naming them, until a warm-up loads them all.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from vibe.trading_bot.core.health_reporter import HealthReporter, HealthState

#: Symbols named in a reason; the rest are counted.
_NAMED = 5
#: The part a plain :meth:`MarketDataHealth.set_state` reports for (the data manager).
DATA_LAYER = "data layer"
#: The part holding the symbols that lack warm-up history.
HISTORY = "history"
#: Worse states rank higher.
_RANK = {
    HealthState.HEALTHY: 0,
    HealthState.STARTING: 1,
    HealthState.DEGRADED: 2,
    HealthState.UNHEALTHY: 3,
    HealthState.STOPPED: 4,
}


class MarketDataHealth:
    """A :class:`HealthReporter` for ``market_data`` made of named parts (see module doc).

    Safe to call from worker threads.

    Args:
        inner: the component's reporter (from the health monitor).
    """

    def __init__(self, inner: HealthReporter) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._parts: dict[str, tuple[HealthState, str]] = {}
        self._missing: dict[str, str] = {}
        self._latest = ""  # the reason of the part that reported last

    @classmethod
    def wrap(cls, reporter: HealthReporter) -> MarketDataHealth:
        """``reporter`` itself when it already is one, else a new wrapper around it."""
        return reporter if isinstance(reporter, MarketDataHealth) else cls(reporter)

    def part(self, name: str) -> HealthReporter:
        """The reporter of part ``name`` (e.g. ``"finnhub"``, ``"feed"``)."""
        return _Part(self, name)

    @property
    def missing_history(self) -> dict[str, str]:
        """Symbol -> why its history could not be loaded (a copy; empty when none)."""
        with self._lock:
            return dict(self._missing)

    def set_missing_history(self, missing: Mapping[str, str]) -> None:
        """Replace the symbols lacking history (empty: none) and re-report the state."""
        with self._lock:
            self._missing = dict(missing)
            if missing:
                self._parts[HISTORY] = (HealthState.DEGRADED, describe_missing(missing))
            elif self._parts.pop(HISTORY, None) is None:
                return
        self._report()

    def set_state(self, state: HealthState, reason: str = "") -> None:
        """Report ``state`` for the data layer part."""
        self.set_part_state(DATA_LAYER, state, reason)

    def set_part_state(self, part: str, state: HealthState, reason: str = "") -> None:
        """Report ``state`` for ``part``; the component gets the worst of all parts."""
        with self._lock:
            self._parts[part] = (state, reason)
            self._latest = reason
        self._report()

    def record_error(self, message: str) -> None:
        """Count one error on the wrapped reporter."""
        self._inner.record_error(message)

    def _report(self) -> None:
        with self._lock:
            worst = max((state for state, _ in self._parts.values()), key=_RANK.__getitem__)
            if worst is HealthState.HEALTHY:
                reason = self._latest
            else:
                reason = "; ".join(r for s, r in self._parts.values() if s is worst and r)
            # reported under the lock: two threads cannot pass each other's reports
            self._inner.set_state(worst, reason)


@dataclass(frozen=True)
class _Part:
    """One part's side of a :class:`MarketDataHealth` (a :class:`HealthReporter`)."""

    owner: MarketDataHealth
    name: str

    def set_state(self, state: HealthState, reason: str = "") -> None:
        self.owner.set_part_state(self.name, state, reason)

    def record_error(self, message: str) -> None:
        self.owner.record_error(message)


def describe_missing(missing: Mapping[str, str]) -> str:
    """``no history for MSFT, NVDA (MSFT: <why>)``: the symbols (first five) and one reason."""
    symbols = sorted(missing)
    named = ", ".join(symbols[:_NAMED])
    more = f" and {len(symbols) - _NAMED} more" if len(symbols) > _NAMED else ""
    first = symbols[0]
    return f"no history for {named}{more} ({first}: {missing[first]})"
