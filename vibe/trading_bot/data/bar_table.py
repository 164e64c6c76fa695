"""A bar frame's content as numpy columns, for the paths that need no pandas.

A :class:`BarTable` holds what a bar frame (:mod:`~vibe.trading_bot.data.frames`)
holds: start times, four prices and a volume per bar, oldest first, start times
unique. The ``backtest`` command reads recorded CSV bars straight into a table
(:func:`~vibe.trading_bot.data.bar_csv.read_bar_table`), validates it
(:meth:`~vibe.trading_bot.data.validation.BarValidator.clean_table`) and feeds it
to the engine without importing pandas (~0.3-0.45 s of a ~1.5 s command on the
2-core machine). Frames and tables convert both ways exactly
(:meth:`BarTable.from_frame`, :meth:`BarTable.to_frame`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NS_PER_US = 1000
#: microseconds in a second and in a day (the unit of :func:`epoch_microseconds`)
MICROS_PER_SECOND = 1_000_000
MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND
#: a table's six columns in field order (:attr:`BarTable.arrays`)
ColumnArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def epoch_microseconds(when: datetime) -> int:
    """``when`` (tz-aware) as integer microseconds since 1970-01-01 UTC (exact)."""
    return (when - _EPOCH) // _MICROSECOND


def utc_from_microseconds(micros: int) -> datetime:
    """The UTC time ``micros`` microseconds after 1970-01-01 UTC (exact)."""
    return _EPOCH + timedelta(microseconds=micros)


@dataclass(frozen=True, slots=True)
class BarTable:
    """One symbol's bars as columns, oldest first (a bar frame without pandas).

    Tables share arrays (:meth:`take` with a slice, :meth:`between` and the replay
    provider's cached file return views): the arrays must not be modified.

    Attributes:
        starts: shape (n,) int64, bar start times in microseconds since the epoch (UTC),
            strictly ascending.
        opens, highs, lows, closes: shape (n,) float64, USD per share.
        volumes: shape (n,) int64, shares.
    """

    starts: np.ndarray
    opens: np.ndarray
    highs: np.ndarray
    lows: np.ndarray
    closes: np.ndarray
    volumes: np.ndarray

    @classmethod
    def empty(cls) -> BarTable:
        """A table with no bars."""
        prices = np.empty(0, dtype=np.float64)
        stamps = np.empty(0, dtype=np.int64)
        return cls(stamps, prices, prices, prices, prices, stamps)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> BarTable:
        """The columns of a bar frame (index sorted and unique, as ``normalize_bars`` leaves it)."""
        index = frame.index
        starts = np.asarray(index.as_unit("us").asi8, dtype=np.int64)  # type: ignore[attr-defined]
        opens, highs, lows, closes = (
            frame[name].to_numpy(dtype=np.float64) for name in ("open", "high", "low", "close")
        )
        volumes = frame["volume"].to_numpy().astype(np.int64, copy=False)
        return cls(starts, opens, highs, lows, closes, volumes)

    def to_frame(self) -> pd.DataFrame:
        """The bar frame of these bars (ns UTC index named ``timestamp``; see ``frames``)."""
        import pandas as pd

        index = pd.DatetimeIndex(
            (self.starts * _NS_PER_US).astype("datetime64[ns]"), name="timestamp"
        ).tz_localize("UTC")
        columns = {
            "open": self.opens,
            "high": self.highs,
            "low": self.lows,
            "close": self.closes,
            "volume": self.volumes,
        }
        return pd.DataFrame(columns, index=index)

    @property
    def arrays(self) -> ColumnArrays:
        """``(starts, opens, highs, lows, closes, volumes)``, the fields in order."""
        return (self.starts, self.opens, self.highs, self.lows, self.closes, self.volumes)

    def __len__(self) -> int:
        """Number of bars."""
        return len(self.starts)

    def take(self, rows: np.ndarray | slice) -> BarTable:
        """The bars at ``rows`` (a slice, a bool mask or ascending positions), as a table."""
        return BarTable(*(column[rows] for column in self.arrays))

    def between(self, start: datetime, end: datetime) -> BarTable:
        """Bars with ``start <= start time < end`` (tz-aware bounds)."""
        lo = int(np.searchsorted(self.starts, epoch_microseconds(start), side="left"))
        hi = int(np.searchsorted(self.starts, epoch_microseconds(end), side="left"))
        return self.take(slice(lo, hi))

    def in_windows(self, windows: Sequence[tuple[datetime, datetime]]) -> BarTable:
        """Bars whose start lies in one of ``windows`` (``open <= t < close``, tz-aware).

        ``windows``: non-overlapping, ascending (sessions).
        """
        if not len(self) or not windows:
            return self.take(slice(0, 0))
        opens = np.array([epoch_microseconds(window[0]) for window in windows], dtype=np.int64)
        closes = np.array([epoch_microseconds(window[1]) for window in windows], dtype=np.int64)
        where = np.searchsorted(opens, self.starts, side="right") - 1
        inside = (where >= 0) & (self.starts < closes[np.maximum(where, 0)])
        return self.take(inside)
