"""Live bars -> bar groups, as a replay sees them.

A replay processes every symbol's bar of one timestamp together, in symbol
order, then does the group's book-keeping once (cursor, health, metrics). Live
bars arrive one by one, in the order their trades came in. To make the same
decisions on the same bars (risk limits and sizing depend on what the other
symbols did in the same bar), :class:`BarGroups` holds live bars until their
group is complete and releases whole groups, oldest first, sorted by symbol.

A group (one bar start time) is complete when every symbol's bar of that time
has arrived, or when each missing symbol already sent a later bar (it had no
trade in that bar), or when :meth:`BarGroups.due` is called ``wait_seconds``
after the group's first bar arrived (a symbol that stays silent cannot hold the
others back). That wait is waiting on the outside world, so it is measured on
the real monotonic timer (seconds of :meth:`Timer.monotonic`), not on the
trading clock. A bar for a time already released is too late: it is counted in
``late_bars`` and dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from vibe.common.models import Bar


class BarGroups:
    """Collects live bars into complete bar groups (see module doc).

    Args:
        symbols: every symbol of the run.
        wait_seconds: how long after a group's first bar arrived :meth:`due` releases
            it incomplete (real seconds, >= 0).

    Attributes:
        late_bars: bars dropped because their group was already released.
    """

    def __init__(self, symbols: Sequence[str], wait_seconds: float) -> None:
        self._symbols = frozenset(symbols)
        self._wait = wait_seconds
        self._pending: dict[datetime, dict[str, Bar]] = {}
        self._arrived: dict[datetime, float] = {}
        self._latest: dict[str, datetime] = {}
        self._released: datetime | None = None
        self.late_bars = 0

    def add(self, bar: Bar, arrived: float) -> list[list[Bar]]:
        """Add one closed bar that arrived at ``arrived`` (monotonic seconds).

        Returns:
            The groups now complete, oldest first, each sorted by symbol.
        """
        if self._released is not None and bar.timestamp <= self._released:
            self.late_bars += 1
            return []
        self._pending.setdefault(bar.timestamp, {})[bar.symbol] = bar
        self._arrived.setdefault(bar.timestamp, arrived)
        latest = self._latest.get(bar.symbol)
        if latest is None or bar.timestamp > latest:
            self._latest[bar.symbol] = bar.timestamp
        return self._release(None)

    def due(self, now: float) -> list[list[Bar]]:
        """The groups complete at ``now`` (monotonic seconds), waited-out ones included."""
        return self._release(now)

    def flush(self) -> list[list[Bar]]:
        """Every pending group, complete or not, oldest first (end of the session)."""
        return self._release(None, everything=True)

    def _release(self, now: float | None, everything: bool = False) -> list[list[Bar]]:
        out: list[list[Bar]] = []
        while self._pending:
            start = min(self._pending)
            group = self._pending[start]
            if not (everything or self._complete(start, group, now)):
                break
            del self._pending[start]
            del self._arrived[start]
            self._released = start
            out.append([group[s] for s in sorted(group)])
        return out

    def _complete(self, start: datetime, group: dict[str, Bar], now: float | None) -> bool:
        missing = self._symbols.difference(group)
        if all(self._latest.get(s, start) > start for s in missing):
            return True
        return now is not None and now >= self._arrived[start] + self._wait
