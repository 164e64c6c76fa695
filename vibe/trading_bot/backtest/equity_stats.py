"""Figures read from an equity curve: the max drawdown's dates and the best/worst day.

Both count the initial capital as the first point, at the start of the first bar
(before anything was traded), exactly as :func:`~.metrics.max_drawdown_pct` does, so
the drawdown found here is the one the metrics report.

* **Max drawdown period** (the largest peak-to-trough fall, % of the peak):
  ``peak`` is the last point at the high-water mark before the trough (where the
  fall starts), ``trough`` the lowest point (the first one if equal), ``recovery``
  the first later point back at or above the peak's equity (``None``: still under
  water at the end). The same reading as quantstats' ``drawdown_details``
  (start, valley, end), on bar closes instead of days.
* **Best and worst day**: the day's change of equity, USD and % of the previous
  day's closing equity (the initial capital for the first day), days being New York
  session dates; the best and worst by %. Equity is marked to market, so open
  positions count (quantstats' ``best``/``worst`` on daily returns).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from vibe.trading_bot.data.bar_table import MICROS_PER_DAY, MICROS_PER_SECOND
from vibe.trading_bot.utils.timefmt import NEW_YORK

_EPOCH_DAY = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class DrawdownPeriod:
    """The max drawdown's dates (tz-aware UTC) and equity (USD).

    Attributes:
        depth_pct: peak-to-trough fall, % of the peak (> 0).
        peak_time: last time at the high-water mark before the trough.
        peak_equity: equity at the peak, USD.
        trough_time: time of the lowest point.
        trough_equity: equity at the trough, USD.
        recovery_time: first time back at or above ``peak_equity``; ``None`` if never.
    """

    depth_pct: float
    peak_time: datetime
    peak_equity: float
    trough_time: datetime
    trough_equity: float
    recovery_time: datetime | None


@dataclass(frozen=True, slots=True)
class DayChange:
    """One session's change of equity.

    Attributes:
        day: the New York session date.
        pnl: change of equity over the day, USD (after fees, open positions marked).
        return_pct: ``pnl`` as % of the previous day's closing equity.
    """

    day: date
    pnl: float
    return_pct: float


def max_drawdown_period(
    times: Sequence[datetime], equity: np.ndarray, initial_capital: float, start: datetime
) -> DrawdownPeriod | None:
    """The period of the largest drawdown, or ``None`` when equity never fell below a peak.

    Args:
        times: tz-aware time of each equity point (bar closes), ascending.
        equity: shape (n,) float64, equity in USD at ``times``.
        initial_capital: equity before the first bar, USD (the first peak).
        start: time of the initial-capital point (the first bar's start).
    """
    values = np.concatenate(([initial_capital], np.asarray(equity, dtype=float)))
    peaks = np.maximum.accumulate(values)
    falls = (peaks - values) / peaks
    trough = int(np.argmax(falls))
    if not falls[trough] > 0:
        return None

    def when(point: int) -> datetime:  # point 0 is the initial capital
        return start if point == 0 else times[point - 1]

    peak_value = peaks[trough]
    peak = int(np.flatnonzero(values[: trough + 1] == peak_value)[-1])
    after = np.flatnonzero(values[trough + 1 :] >= peak_value)
    return DrawdownPeriod(
        depth_pct=float(falls[trough] * 100.0),
        peak_time=when(peak),
        peak_equity=float(peak_value),
        trough_time=when(trough),
        trough_equity=float(values[trough]),
        recovery_time=when(trough + 1 + int(after[0])) if after.size else None,
    )


def day_changes(micros: np.ndarray, equity: np.ndarray, initial_capital: float) -> list[DayChange]:
    """Every session's change of equity (USD and %), oldest first (see module doc).

    Args:
        micros: shape (n,) int64, UTC epoch microseconds of each equity point (bar
            closes, :attr:`~.curve_columns.CurveColumns.micros`), ascending.
        equity: shape (n,) float64, equity in USD at those times.
        initial_capital: equity before the first point, USD.
    """
    if not len(micros):
        return []
    values = np.asarray(equity, dtype=float)
    day_numbers = new_york_day_numbers(np.asarray(micros, dtype=np.int64))
    closing, days = _last_of_each_day(values, day_numbers)
    previous = np.concatenate(([initial_capital], closing[:-1]))
    previous[np.isnan(previous)] = initial_capital
    pnl = closing - previous
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = pnl / previous * 100.0
    return [
        DayChange(day, p, r) for day, p, r in zip(days, pnl.tolist(), pct.tolist(), strict=True)
    ]


def _last_of_each_day(values: np.ndarray, day_numbers: np.ndarray) -> tuple[np.ndarray, list[date]]:
    """Each day's last equity that is not NaN (NaN if none) and the days, in date order.

    ``day_numbers``: New York day of each point (days since 1970-01-01), ascending as
    the points are in time order.
    """
    ends = np.append(np.flatnonzero(np.diff(day_numbers)), len(values) - 1)
    starts = np.concatenate(([0], ends[:-1] + 1))
    positions = np.where(np.isnan(values), -1, np.arange(len(values)))
    last_valid = np.maximum.accumulate(positions)[ends]
    closing = np.where(last_valid >= starts, values[np.maximum(last_valid, 0)], np.nan)
    days = [_EPOCH_DAY + timedelta(days=number) for number in day_numbers[ends].tolist()]
    return closing, days


def best_and_worst_day(changes: Sequence[DayChange]) -> tuple[DayChange | None, DayChange | None]:
    """The day with the highest and the lowest ``return_pct`` (first one on ties)."""
    if not changes:
        return None, None
    best = max(changes, key=lambda change: change.return_pct)
    worst = min(changes, key=lambda change: change.return_pct)
    return best, worst


_US_PER_HOUR = 3600 * MICROS_PER_SECOND


def new_york_day_numbers(micros: np.ndarray) -> np.ndarray:
    """Shape (n,) int64: the New York date of each instant, as days since 1970-01-01.

    Args:
        micros: shape (n,) int64, UTC epoch microseconds.

    The UTC offset is looked up once per distinct UTC hour (``zoneinfo``): New York
    changes offset only at 2:00 local time, which is 06:00 or 07:00 UTC, a whole UTC
    hour, so one offset holds for each whole UTC hour (IANA tz database,
    America/New_York).
    """
    hours, which = np.unique(micros // _US_PER_HOUR, return_inverse=True)
    offsets = np.array([_offset_us(hour) for hour in hours.tolist()], dtype=np.int64)
    days: np.ndarray = (micros + offsets[which]) // MICROS_PER_DAY
    return days


def _offset_us(hour: int) -> int:
    offset = datetime.fromtimestamp(hour * 3600, NEW_YORK).utcoffset() or timedelta(0)
    return offset // timedelta(microseconds=1)
