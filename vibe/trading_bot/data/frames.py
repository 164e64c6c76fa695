"""The bar frame every provider returns, and conversions to and from :class:`Bar`.

A *bar frame* is a ``pandas.DataFrame`` with

* index: ``DatetimeIndex`` named ``timestamp``, tz-aware UTC, the bar **start** time,
  ascending and unique (daily bars: the session date at 00:00 America/New_York);
* columns ``open, high, low, close`` (``float64``, USD per share) and ``volume``
  (``int64``, shares).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, cast

import numpy as np

from vibe.common.errors import DataError, InvalidInputError
from vibe.common.models import Bar, require_aware

if TYPE_CHECKING:  # pandas is imported where a frame is built (not on the CSV backtest path)
    import pandas as pd

PRICE_COLUMNS = ("open", "high", "low", "close")
BAR_COLUMNS = (*PRICE_COLUMNS, "volume")

#: Supported timeframes and their length in seconds.
TIMEFRAME_SECONDS: dict[str, int] = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400}


def timeframe_seconds(timeframe: str) -> int:
    """Length of ``timeframe`` in seconds.

    Raises:
        InvalidInputError: ``timeframe`` is not one of 1m, 5m, 15m, 1h, 1d.
    """
    try:
        return TIMEFRAME_SECONDS[timeframe]
    except KeyError:
        raise InvalidInputError(
            f"timeframe={timeframe!r}; expected one of {sorted(TIMEFRAME_SECONDS)}"
        ) from None


def dt_index(frame: pd.DataFrame) -> pd.DatetimeIndex:
    """The ``DatetimeIndex`` of a bar frame (typed for mypy)."""
    return cast("pd.DatetimeIndex", frame.index)


def empty_bars() -> pd.DataFrame:
    """A bar frame with no rows (right index type and dtypes)."""
    import pandas as pd

    index = pd.DatetimeIndex([], tz="UTC", name="timestamp").as_unit("ns")
    frame = pd.DataFrame(
        {col: np.array([], dtype=np.float64) for col in PRICE_COLUMNS}, index=index
    )
    frame["volume"] = np.array([], dtype=np.int64)
    return frame


def normalize_bars(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Coerce ``frame`` to a bar frame: lower-case columns, UTC index, dtypes, sorted.

    Rows with a missing price are dropped (a null close is no bar); missing
    volume becomes 0. Duplicate timestamps keep the last row.

    Args:
        frame: columns open/high/low/close/volume in any case; a tz-aware DatetimeIndex.
        source: where the frame came from, for error messages.

    Raises:
        DataError: a column is missing or the index is not tz-aware datetimes.
    """
    import pandas as pd

    renamed = frame.rename(columns=str.lower)
    missing = [col for col in BAR_COLUMNS if col not in renamed.columns]
    if missing:
        raise DataError(f"{source}: missing columns {missing}; expected {list(BAR_COLUMNS)}")
    index = renamed.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise DataError(f"{source}: index must be tz-aware datetimes, got {type(index).__name__}")
    out = pd.DataFrame(
        {
            col: pd.to_numeric(renamed[col], errors="coerce").astype(np.float64)
            for col in PRICE_COLUMNS
        },
        index=index.tz_convert("UTC").as_unit("ns"),
    )
    priced = out.notna().all(axis=1).to_numpy()
    out = out[priced].copy()
    # by position, not by label: the index may hold duplicate timestamps here
    volume = pd.to_numeric(renamed["volume"], errors="coerce").to_numpy()[priced]
    out["volume"] = np.nan_to_num(volume.astype(np.float64), nan=0.0).astype(np.int64)
    out.index.name = "timestamp"
    out = out[~out.index.duplicated(keep="last")]
    return out.sort_index()


def frame_to_bars(symbol: str, frame: pd.DataFrame, interval_seconds: int) -> Iterator[Bar]:
    """Yield one :class:`Bar` per row of a bar frame, oldest first."""
    stamps = dt_index(frame).to_pydatetime()
    columns = [frame[col].to_numpy().tolist() for col in BAR_COLUMNS]
    for ts, o, h, lo, c, v in zip(stamps, *columns, strict=True):
        yield Bar(symbol, ts, o, h, lo, c, int(v), interval_seconds)


def bars_to_frame(bars: Iterable[Bar]) -> pd.DataFrame:
    """A bar frame from :class:`Bar` objects (one symbol), sorted by start time."""
    import pandas as pd

    rows = list(bars)
    if not rows:
        return empty_bars()
    index = pd.DatetimeIndex([b.timestamp for b in rows], name="timestamp").tz_convert("UTC")
    frame = pd.DataFrame(
        {
            "open": [b.open for b in rows],
            "high": [b.high for b in rows],
            "low": [b.low for b in rows],
            "close": [b.close for b in rows],
            "volume": np.array([b.volume for b in rows], dtype=np.int64),
        },
        index=index.as_unit("ns"),
    )
    return frame.sort_index()


def require_range(start: datetime, end: datetime) -> None:
    """Check a request range: both bounds tz-aware and ``start < end``.

    Raises:
        InvalidInputError: either bound is naive, or ``end <= start``.
    """
    require_aware("start", start)
    require_aware("end", end)
    if end <= start:
        raise InvalidInputError(
            f"end={end.isoformat()} is not after start={start.isoformat()}; expected start < end"
        )


def check_range(start: datetime, end: datetime) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Validate a request range (:func:`require_range`) and return it as UTC ``Timestamp``.

    Raises:
        InvalidInputError: either bound is naive, or ``end <= start``.
    """
    import pandas as pd

    require_range(start, end)
    return pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")


def slice_range(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Rows of a sorted bar frame with ``start <= timestamp < end``."""
    index = frame.index
    lo = index.searchsorted(start, side="left")
    hi = index.searchsorted(end, side="left")
    return frame.iloc[lo:hi]
