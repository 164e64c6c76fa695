"""The bars the daemon traded and its equity marks, kept in memory for the dashboard.

Bars are not stored in SQLite (they come again from the data source), so the
dashboard's price charts and the ``bar`` events of ``/api/v1/events`` read them
from this tape. The session loop records every bar group once it is traded
(:meth:`BarTape.record_group`, on the event loop), with the account equity at
the group's close; handlers read on the same loop, so no lock is needed.

Each recorded bar gets a sequence number (1, 2, ...), unique for the life of
the process (:attr:`BarTape.run_id` tells processes apart), so an SSE client
resumes after the last bar it saw. The tape is bounded: at most
``max_bars_per_symbol`` bars per symbol and ``max_marks`` equity marks (the
oldest go first).

The opening range of a session is the high and low of its bars that start in
the first ``orb_minutes`` after the open (the ORB rule of
:class:`~vibe.common.strategies.orb.OrbParams`, ``ORB_MINUTES``).
"""

from __future__ import annotations

import itertools
import uuid
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from vibe.common.models import Bar

DEFAULT_MAX_BARS_PER_SYMBOL = 10_000
DEFAULT_MAX_MARKS = 20_000


@dataclass(frozen=True, slots=True)
class OpeningRange:
    """A session's opening range for one symbol.

    Attributes:
        start: the session open (tz-aware UTC).
        end: ``start + orb_minutes`` (tz-aware UTC).
        high: highest high of the range's bars, USD per share.
        low: lowest low of the range's bars, USD per share.
    """

    start: datetime
    end: datetime
    high: float
    low: float


@dataclass(frozen=True, slots=True)
class TapedBar:
    """One traded bar and its place on the tape.

    Attributes:
        seq: 1, 2, ... in recording order (per process).
        bar: the bar (``timestamp`` is its start, tz-aware UTC; prices USD per share).
        session_open: the open of the bar's session (tz-aware UTC).
        opening_range: its session's opening range as far as known when the bar was
            taped (``None`` while no bar of the range is taped).
    """

    seq: int
    bar: Bar
    session_open: datetime
    opening_range: OpeningRange | None = None


class BarTape:
    """Recent traded bars per symbol and equity marks (see module doc).

    Args:
        orb_minutes: opening range length, minutes (``ORB_MINUTES``), > 0.
        max_bars_per_symbol: bars kept per symbol.
        max_marks: equity marks kept.

    Raises:
        ValueError: a bound or ``orb_minutes`` below 1.
    """

    def __init__(
        self,
        orb_minutes: int,
        max_bars_per_symbol: int = DEFAULT_MAX_BARS_PER_SYMBOL,
        max_marks: int = DEFAULT_MAX_MARKS,
    ) -> None:
        for name, value in (
            ("orb_minutes", orb_minutes),
            ("max_bars_per_symbol", max_bars_per_symbol),
            ("max_marks", max_marks),
        ):
            if value < 1:
                raise ValueError(f"{name}={value!r}; expected an integer >= 1")
        self.run_id = uuid.uuid4().hex[:8]
        self._range = timedelta(minutes=orb_minutes)
        self._max_bars = max_bars_per_symbol
        self._bars: dict[str, deque[TapedBar]] = {}
        self._marks: deque[tuple[datetime, float]] = deque(maxlen=max_marks)
        self._session_open: datetime | None = None
        self._ranges: dict[str, OpeningRange | None] = {}
        self.last_seq = 0

    def begin_session(self, session_open: datetime) -> None:
        """Bars recorded from now on belong to the session opening at ``session_open``."""
        self._session_open = session_open

    def record_group(self, bars: Iterable[Bar], bar_end: datetime, equity_usd: float) -> None:
        """Record one traded bar group and the equity (USD) at its close ``bar_end``."""
        opened = self._session_open
        for bar in bars:
            self.last_seq += 1
            symbol_bars = self._bars.get(bar.symbol)
            if symbol_bars is None:
                symbol_bars = self._bars[bar.symbol] = deque(maxlen=self._max_bars)
            start = opened or bar.timestamp
            found = self._range_of(bar, start)
            symbol_bars.append(TapedBar(self.last_seq, bar, start, found))
        self._marks.append((bar_end, equity_usd))

    def _range_of(self, bar: Bar, start: datetime) -> OpeningRange | None:
        """The opening range of ``bar``'s session, updated with ``bar`` when it is in it."""
        known = self._ranges.get(bar.symbol)
        if known is not None and known.start != start:
            known = None
        if start <= bar.timestamp < start + self._range:
            high = bar.high if known is None else max(known.high, bar.high)
            low = bar.low if known is None else min(known.low, bar.low)
            known = OpeningRange(start, start + self._range, high, low)
        self._ranges[bar.symbol] = known
        return known

    @property
    def symbols(self) -> list[str]:
        """Symbols with bars on the tape, sorted."""
        return sorted(self._bars)

    def bars(self, symbol: str, since: datetime | None = None, limit: int = 500) -> list[TapedBar]:
        """The last ``limit`` bars of ``symbol`` starting at or after ``since``, oldest first."""
        taped = list(self._bars.get(symbol, ()))
        if since is not None:
            taped = taped[bisect_left(taped, since, key=lambda t: t.bar.timestamp) :]
        return taped[-limit:] if limit else []

    def after(self, seq: int) -> list[TapedBar]:
        """Every bar on the tape recorded after sequence number ``seq``, in order."""
        if seq >= self.last_seq:
            return []
        found: list[TapedBar] = []
        for bars in self._bars.values():  # in seq order: the new ones are at the right end
            found.extend(itertools.takewhile(lambda t: t.seq > seq, reversed(bars)))
        found.sort(key=lambda t: t.seq)
        return found

    @staticmethod
    def opening_ranges(taped: Iterable[TapedBar]) -> list[OpeningRange]:
        """The opening range of each session among ``taped`` (one symbol's bars), by start."""
        ranges = {t.opening_range.start: t.opening_range for t in taped if t.opening_range}
        return [ranges[start] for start in sorted(ranges)]

    def marks(self, since: datetime | None = None) -> list[tuple[datetime, float]]:
        """``(bar group close, equity USD)`` at or after ``since``, oldest first."""
        marks = list(self._marks)
        if since is not None:
            marks = marks[bisect_left(marks, since, key=lambda m: m[0]) :]
        return marks
