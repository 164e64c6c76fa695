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
from datetime import date, datetime

import numpy as np
import pandas as pd

from vibe.trading_bot.utils.timefmt import NEW_YORK


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
    when = [start, *times]
    peaks = np.maximum.accumulate(values)
    falls = (peaks - values) / peaks
    trough = int(np.argmax(falls))
    if not falls[trough] > 0:
        return None
    peak_value = peaks[trough]
    peak = int(np.flatnonzero(values[: trough + 1] == peak_value)[-1])
    after = np.flatnonzero(values[trough + 1 :] >= peak_value)
    recovery = when[trough + 1 + int(after[0])] if after.size else None
    return DrawdownPeriod(
        depth_pct=float(falls[trough] * 100.0),
        peak_time=when[peak],
        peak_equity=float(peak_value),
        trough_time=when[trough],
        trough_equity=float(values[trough]),
        recovery_time=recovery,
    )


def day_changes(
    times: Sequence[datetime], equity: np.ndarray, initial_capital: float
) -> list[DayChange]:
    """Every session's change of equity (USD and %), oldest first (see module doc)."""
    if not times:
        return []
    index = pd.DatetimeIndex(list(times)).tz_convert(NEW_YORK)
    values = pd.Series(np.asarray(equity, dtype=float), index=index)
    closing = values.groupby(index.normalize()).last()  # New York midnight of each day
    previous = closing.shift(1).fillna(initial_capital)
    pnl = closing - previous
    pct = pnl / previous * 100.0
    days = pd.DatetimeIndex(closing.index).date
    return [
        DayChange(day, float(p), float(r))
        for day, p, r in zip(days, pnl.to_numpy(), pct.to_numpy(), strict=True)
    ]


def best_and_worst_day(changes: Sequence[DayChange]) -> tuple[DayChange | None, DayChange | None]:
    """The day with the highest and the lowest ``return_pct`` (first one on ties)."""
    if not changes:
        return None, None
    best = max(changes, key=lambda change: change.return_pct)
    worst = min(changes, key=lambda change: change.return_pct)
    return best, worst
