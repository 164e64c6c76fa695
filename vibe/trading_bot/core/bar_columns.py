"""One symbol's recorded bars as columns; ``Bar`` objects are built a session at a time.

A replay or backtest holds its whole history in memory. As ``Bar`` objects, a year
of 1-minute bars is ~100,000 named tuples with a ``datetime`` and five numbers each
(about 30 MB); as columns it is five numpy arrays (under 5 MB). The feed keeps the
columns and builds the bars of a session when the session is traded (~390 objects
for a 1-minute session), so they are freed with it.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import TYPE_CHECKING

import numpy as np

from vibe.common.models import Bar
from vibe.trading_bot.data.frames import BAR_COLUMNS, dt_index

if TYPE_CHECKING:
    import pandas as pd

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DAY_US = 86_400_000_000


def epoch_microseconds(when: datetime) -> int:
    """``when`` (tz-aware) as integer microseconds since 1970-01-01 UTC (exact)."""
    return (when - _EPOCH) // _MICROSECOND


@dataclass(frozen=True, slots=True)
class BarColumns:
    """The bars of one symbol, oldest first, as columns.

    Attributes:
        symbol: ticker.
        interval_seconds: bar length in seconds.
        starts: bar start times, int64 microseconds since the epoch (UTC), ascending.
        opens, highs, lows, closes: float64 prices, USD per share.
        volumes: int64 shares (a float column is truncated toward zero, as ``int()``).
    """

    symbol: str
    interval_seconds: int
    starts: np.ndarray
    opens: np.ndarray
    highs: np.ndarray
    lows: np.ndarray
    closes: np.ndarray
    volumes: np.ndarray
    _days: tuple[list[datetime], np.ndarray] = field(init=False, repr=False, compare=False)
    _times: tuple[list[timedelta], np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # start = midnight of its day + time of day, from two small tables (a year of
        # 1-minute bars has ~250 days and 390 times of day): one C-level addition per
        # bar instead of a timedelta and a datetime built per bar
        days, day_of = np.unique(self.starts // _DAY_US, return_inverse=True)
        times, time_of = np.unique(self.starts % _DAY_US, return_inverse=True)
        midnights = [_EPOCH + timedelta(days=day) for day in days.tolist()]
        offsets = [timedelta(microseconds=us) for us in times.tolist()]
        object.__setattr__(self, "_days", (midnights, day_of))
        object.__setattr__(self, "_times", (offsets, time_of))

    @classmethod
    def of(cls, symbol: str, frame: pd.DataFrame | None, interval_seconds: int) -> BarColumns:
        """The columns of a bar frame (``normalize_bars`` layout); empty for ``None``."""
        if frame is None:
            empty = np.empty(0)
            return cls(symbol, interval_seconds, empty.astype(np.int64), empty, empty, empty,
                       empty, empty.astype(np.int64))  # fmt: skip
        opens, highs, lows, closes = (
            frame[name].to_numpy(dtype=np.float64) for name in BAR_COLUMNS[:4]
        )
        volumes = frame[BAR_COLUMNS[4]].to_numpy().astype(np.int64, copy=False)
        starts = dt_index(frame).as_unit("us").asi8
        return cls(symbol, interval_seconds, starts, opens, highs, lows, closes, volumes)

    def __len__(self) -> int:
        """Number of bars."""
        return len(self.starts)

    def index(self, when: datetime) -> int:
        """Position of the first bar starting at or after ``when`` (tz-aware)."""
        return int(np.searchsorted(self.starts, epoch_microseconds(when), side="left"))

    def start(self, position: int) -> datetime:
        """Start time (UTC) of the bar at ``position``."""
        return _EPOCH + timedelta(microseconds=int(self.starts[position]))

    def bars(self, lo: int = 0, hi: int | None = None) -> list[Bar]:
        """The ``Bar`` objects of positions ``lo..hi-1`` (every bar by default).

        Each bar is made by ``tuple.__new__`` from a zipped row (no Python-level call
        per bar); start times are exact to the microsecond.
        """
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
