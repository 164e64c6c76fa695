"""One symbol's recorded bars as columns; ``Bar`` objects are built a session at a time.

A replay or backtest holds its whole history in memory. As ``Bar`` objects, a year
of 1-minute bars is ~100,000 named tuples with a ``datetime`` and five numbers each
(about 30 MB); as columns it is five numpy arrays (under 5 MB). The feed keeps the
columns and builds the bars of a session when the session is traded (~390 objects
for a 1-minute session), so they are freed with it.

A process that runs many backtests on the same bars (an ``optimize`` worker) calls
:func:`share_columns`: equal bars read again get the same :class:`BarColumns`, which
keeps the ``Bar`` objects of each session it built, so later backtests reuse them
instead of building them again (``Bar`` is immutable; each caller gets its own list).
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import repeat

import numpy as np

from vibe.common.models import Bar
from vibe.trading_bot.data.bar_table import (
    MICROS_PER_DAY,
    MICROS_PER_SECOND,
    BarTable,
    ColumnArrays,
    epoch_microseconds,
    utc_from_microseconds,
)

__all__ = ["MICROS_PER_SECOND", "BarColumns", "epoch_microseconds", "share_columns"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Kept:
    """Columns kept for reuse once :func:`share_columns` is called (``limit`` 0: off).

    Attributes:
        limit: bar sets kept, >= 1 when on.
        max_bars: ``Bar`` objects kept over all kept columns; a session built beyond it
            is returned without being kept.
        bars: ``Bar`` objects kept now.
        columns: (symbol, interval, bars, first start, last start) -> columns, least
            recently read first.
    """

    def __init__(self) -> None:
        self.limit = 0
        self.max_bars = 0
        self.bars = 0
        self.columns: OrderedDict[tuple[str, int, int, int, int], BarColumns] = OrderedDict()


_KEPT = _Kept()
#: ``Bar`` objects a process keeps by default: ~300 bytes each, so ~150 MB; five
#: symbol-years of 1-minute bars.
DEFAULT_MAX_KEPT_BARS = 500_000


def share_columns(limit: int = 4, max_bars: int = DEFAULT_MAX_KEPT_BARS) -> None:
    """Reuse columns and their sessions' ``Bar`` objects across reads in this process.

    After this call, :meth:`BarColumns.of` returns the columns it made earlier for
    equal bars (same symbol, interval and every value; checked in full) and those
    columns keep each session's ``Bar`` list once built, up to ``max_bars`` bars in
    all. For a process that runs many backtests on the same bars (an ``optimize``
    worker: ~5 % of a trial's instructions were building bars). A kept bar costs
    ~300 bytes (~30 MB per symbol-year of 1-minute bars), so a single backtest never
    turns this on.

    Args:
        limit: how many distinct bar sets to keep (least recently read dropped first;
            a walk-forward reads one range per fold), >= 1.
        max_bars: most ``Bar`` objects kept at once, >= 0; sessions beyond it are built
            on every call, as without sharing.

    Raises:
        ValueError: ``limit`` < 1 or ``max_bars`` < 0.
    """
    if limit < 1:
        raise ValueError(f"limit={limit}: expected at least 1 bar set to keep")
    if max_bars < 0:
        raise ValueError(f"max_bars={max_bars}: expected 0 or more bars to keep")
    _KEPT.limit, _KEPT.max_bars = limit, max_bars


@dataclass(frozen=True, slots=True)
class BarColumns(BarTable):
    """One symbol's bars, oldest first: a :class:`BarTable` that builds ``Bar`` objects.

    The columns, their dtypes and units are the table's; the columns add the symbol
    and the bar length.

    Attributes:
        symbol: ticker.
        interval_seconds: bar length in seconds.
    """

    symbol: str
    interval_seconds: int
    _days: tuple[list[datetime], np.ndarray] = field(init=False, repr=False, compare=False)
    _times: tuple[list[timedelta], np.ndarray] = field(init=False, repr=False, compare=False)
    _sessions: dict[tuple[int, int | None], list[Bar]] | None = field(
        init=False, repr=False, compare=False, default=None
    )

    def __post_init__(self) -> None:
        # start = midnight of its day + time of day, from two small tables (a year of
        # 1-minute bars has ~250 days and 390 times of day): one C-level addition per
        # bar instead of a timedelta and a datetime built per bar
        days, day_of = np.unique(self.starts // MICROS_PER_DAY, return_inverse=True)
        times, time_of = np.unique(self.starts % MICROS_PER_DAY, return_inverse=True)
        midnights = [_EPOCH + timedelta(days=day) for day in days.tolist()]
        offsets = [timedelta(microseconds=us) for us in times.tolist()]
        object.__setattr__(self, "_days", (midnights, day_of))
        object.__setattr__(self, "_times", (offsets, time_of))

    @classmethod
    def of(cls, symbol: str, table: BarTable | None, interval_seconds: int) -> BarColumns:
        """The columns of a symbol's bars (a validated :class:`BarTable`); empty for ``None``."""
        table = BarTable.empty() if table is None else table
        if not _KEPT.limit or not len(table):
            return cls(*table.arrays, symbol, interval_seconds)
        return _shared(symbol, interval_seconds, table.arrays)

    def __len__(self) -> int:
        """Number of bars."""
        return len(self.starts)

    def index(self, when: datetime) -> int:
        """Position of the first bar starting at or after ``when`` (tz-aware)."""
        return int(np.searchsorted(self.starts, epoch_microseconds(when), side="left"))

    def start(self, position: int) -> datetime:
        """Start time (UTC) of the bar at ``position``."""
        return utc_from_microseconds(int(self.starts[position]))

    def bars(self, lo: int = 0, hi: int | None = None) -> list[Bar]:
        """The ``Bar`` objects of positions ``lo..hi-1`` (every bar by default).

        Each bar is made by ``tuple.__new__`` from a zipped row (no Python-level call
        per bar); start times are exact to the microsecond. Shared columns
        (:func:`share_columns`) build each ``(lo, hi)`` once and return a new list of
        the same ``Bar`` objects on every call.
        """
        sessions = self._sessions
        if sessions is None:
            return self._build(lo, hi)
        built = sessions.get((lo, hi))
        if built is not None:
            return list(built)
        built = self._build(lo, hi)
        if _KEPT.bars + len(built) <= _KEPT.max_bars:
            sessions[(lo, hi)] = built
            _KEPT.bars += len(built)
            return list(built)
        return built

    def _build(self, lo: int, hi: int | None) -> list[Bar]:
        window = slice(lo, hi)
        (midnights, day_of), (offsets, time_of) = self._days, self._times
        starts = map(
            operator.add,
            map(midnights.__getitem__, day_of[window].tolist()),
            map(offsets.__getitem__, time_of[window].tolist()),
        )
        rows = zip(
            repeat(self.symbol),
            starts,
            self.opens[window].tolist(),
            self.highs[window].tolist(),
            self.lows[window].tolist(),
            self.closes[window].tolist(),
            self.volumes[window].tolist(),
            repeat(self.interval_seconds),
        )
        return list(map(tuple.__new__, repeat(Bar), rows))


def _shared(symbol: str, interval_seconds: int, arrays: ColumnArrays) -> BarColumns:
    """The kept columns equal to ``arrays`` (every value compared), else new kept ones."""
    starts, kept = arrays[0], _KEPT.columns
    key = (symbol, interval_seconds, len(starts), int(starts[0]), int(starts[-1]))
    found = kept.pop(key, None)
    if found is not None:
        if all(map(np.array_equal, found.arrays, arrays)):
            kept[key] = found  # now the most recently read
            return found
        _drop(found)  # other bars under the same key: replaced
    columns = BarColumns(*arrays, symbol, interval_seconds)
    object.__setattr__(columns, "_sessions", {})
    kept[key] = columns
    while len(kept) > _KEPT.limit:
        _drop(kept.popitem(last=False)[1])
    return columns


def _drop(columns: BarColumns) -> None:
    """Stop counting the bars ``columns`` kept (they go with the columns)."""
    _KEPT.bars -= sum(map(len, (columns._sessions or {}).values()))
