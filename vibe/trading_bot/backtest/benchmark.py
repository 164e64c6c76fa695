"""Buy-and-hold benchmark: the same symbols over the same bars, equal weight.

Definition (what the report calls *buy and hold*):

* The initial capital ``C`` (USD) is split equally between the ``N`` symbols of the
  run: ``C / N`` each.
* Each symbol's share is bought at the **open of its first bar** in the traded
  sessions (fractional shares: ``C / N / open`` shares), with no commission, no
  slippage, and never rebalanced or sold. Until a symbol's first bar its share is
  held as cash. Prices are the bars' as given (no dividend adjustment).
* The portfolio is **marked at each bar close**, at the times of the strategy's
  equity curve (one point per bar close): each symbol at the close of its latest
  bar ending at or before that time.
* Return: ``(value at the last point / C - 1) * 100`` (%); it equals the mean of the
  symbols' own ``last close / first open - 1`` when every symbol has a bar at the
  start. Max drawdown: the largest peak-to-trough fall in %, from the same
  running-peak formula as the strategy's (:func:`~.metrics.max_drawdown_pct`, the
  initial capital counted as the first peak), so the two figures compare like
  for like.
* Excess return: strategy total return minus benchmark return, in percentage
  points (arithmetic difference, as in e.g. quantstats' ``compare``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from vibe.trading_bot.backtest.curve_columns import CurveColumns
from vibe.trading_bot.backtest.metrics import max_drawdown_pct
from vibe.trading_bot.data.bar_table import MICROS_PER_SECOND, BarTable, utc_from_microseconds


@dataclass(frozen=True, slots=True)
class SymbolHold:
    """One symbol's leg of the benchmark.

    Attributes:
        symbol: ticker.
        first_bar_time: start of the bar bought at (tz-aware UTC); ``None`` without bars.
        first_open: that bar's open, USD per share.
        last_close: close of the last bar marked, USD per share.
        return_pct: ``(last_close / first_open - 1) * 100``, %.
    """

    symbol: str
    first_bar_time: datetime | None
    first_open: float | None
    last_close: float | None
    return_pct: float | None


@dataclass(frozen=True, slots=True)
class Benchmark:
    """The equal-weight buy-and-hold benchmark (see the module docstring).

    Attributes:
        equity: shape (n,) float64, benchmark value in USD at each point of the
            strategy's equity curve (same times, same order).
        total_return_pct: return over the run, %.
        max_drawdown_pct: largest peak-to-trough fall, % of the peak (>= 0).
        final_equity: value at the last point, USD.
        symbols: each symbol's leg, in the run's symbol order.
    """

    equity: np.ndarray
    total_return_pct: float
    max_drawdown_pct: float
    final_equity: float
    symbols: tuple[SymbolHold, ...]


def _leg(
    symbol: str, bars: BarTable | None, ends: np.ndarray, bar_seconds: int
) -> tuple[SymbolHold, np.ndarray | None]:
    """The leg's hold and its closes at each curve time (NaN before its first bar).

    ``ends``: the curve's times, int64 UTC epoch microseconds.
    """
    if bars is None or not len(bars):
        return SymbolHold(symbol, None, None, None, None), None
    bar_ends = bars.starts + bar_seconds * MICROS_PER_SECOND
    closes = bars.closes
    pos = np.searchsorted(bar_ends, ends, side="right") - 1
    marked = np.where(pos >= 0, closes[np.clip(pos, 0, None)], np.nan)
    first_open = float(bars.opens[0])
    last = int(pos[-1])
    last_close = float(closes[last]) if last >= 0 else None
    ret = None if last_close is None else (last_close / first_open - 1.0) * 100.0
    first_time = utc_from_microseconds(int(bars.starts[0]))
    return SymbolHold(symbol, first_time, first_open, last_close, ret), marked


def buy_and_hold(
    bars: Mapping[str, BarTable | None],
    symbols: Sequence[str],
    curve: CurveColumns,
    initial_capital: float,
    bar_seconds: int,
) -> Benchmark | None:
    """The benchmark marked at the times of the strategy's equity ``curve`` (module docstring).

    Args:
        bars: symbol -> its bars in the traded sessions (UTC starts, ``opens`` and
            ``closes`` in USD per share), oldest first.
        symbols: the run's symbols (each gets ``initial_capital / len(symbols)``).
        curve: the strategy's equity curve as columns; its times (bar closes, read as
            exact epoch microseconds from :attr:`CurveColumns.micros`) are ascending.
        initial_capital: USD (> 0).
        bar_seconds: bar length in seconds (a bar ends ``bar_seconds`` after its start).

    Returns:
        ``None`` when there is no point to mark or no symbol.
    """
    ends = curve.micros
    if not len(ends) or not symbols:
        return None
    share = initial_capital / len(symbols)
    value = np.zeros(len(ends), dtype=float)
    legs: list[SymbolHold] = []
    for symbol in symbols:
        leg, marked = _leg(symbol, bars.get(symbol), ends, bar_seconds)
        legs.append(leg)
        if marked is None or leg.first_open is None:
            value += share
            continue
        value += np.where(np.isnan(marked), share, share / leg.first_open * marked)
    final = float(value[-1])
    return Benchmark(
        equity=value,
        total_return_pct=(final / initial_capital - 1.0) * 100.0,
        max_drawdown_pct=max_drawdown_pct(np.concatenate(([initial_capital], value))),
        final_equity=final,
        symbols=tuple(legs),
    )
