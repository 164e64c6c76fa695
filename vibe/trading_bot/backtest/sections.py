"""The report's analysis sections as JSON-ready dicts (any renderer reads these).

Keys of :func:`analysis_sections` (added to ``result_to_dict`` by :mod:`.report`):

* ``benchmark``: equal-weight buy and hold of the run's symbols over the same bars
  (definition: :mod:`.benchmark`): ``method`` (``equal_weight_buy_and_hold``),
  ``total_return_pct`` (%), ``max_drawdown_pct`` (%), ``final_equity`` (USD),
  ``excess_return_pct`` (strategy total return minus benchmark return, percentage
  points), ``drawdown`` (its max drawdown period, as below) and ``symbols``: one
  object per symbol with ``symbol``, ``first_bar_time``, ``first_open``,
  ``last_close`` (USD per share), ``return_pct`` (%). ``null`` when no bar was marked.
* ``benchmark_equity``: the benchmark's value (USD) at each point of ``equity_curve``
  (same length and times), for charts; ``[]`` without benchmark.
* ``drawdown``: the strategy's max drawdown period (:mod:`.equity_stats`):
  ``depth_pct`` (%), ``peak_time``, ``peak_equity``, ``trough_time``, ``trough_equity``,
  ``recovery_time`` (``null`` if not recovered by the end), equity in USD; ``null``
  when equity never fell below a peak.
* ``trade_stats`` (:mod:`.trade_stats`, :mod:`.equity_stats`): ``best_trade``,
  ``worst_trade`` (``symbol``, ``side``, ``entry_time``, ``exit_time``, ``pnl`` USD,
  ``pnl_pct`` %, ``r_multiple``), ``best_day``, ``worst_day`` (``date`` New York session
  date, ``pnl`` USD, ``return_pct`` %), ``avg_win_minutes``, ``avg_loss_minutes``
  (minutes), ``longest_win_streak``, ``longest_loss_streak`` (trades),
  ``avg_r_multiple``, ``r_multiple_trades`` (trades with a known initial stop).
* ``breakdown`` (:mod:`.breakdown`): ``by_symbol`` (``symbol``, ``trades``, ``wins``,
  ``losses``, ``win_rate_pct``, ``net_pnl``, ``gross_profit``, ``gross_loss``,
  ``profit_factor``, ``buy_and_hold_return_pct``), ``by_month`` (``month`` ``YYYY-MM``)
  and ``by_weekday`` (``weekday`` ``Monday``..``Friday``), each with ``trades``,
  ``wins``, ``losses``, ``win_rate_pct``, ``net_pnl``.

Times are ISO-8601 UTC with offset; USD rounded to cents, % and ratios to 6 decimals,
minutes to 2; NaN and infinities are ``null``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from vibe.trading_bot.backtest.breakdown import by_month, by_symbol, by_weekday
from vibe.trading_bot.backtest.equity_stats import (
    DayChange,
    DrawdownPeriod,
    best_and_worst_day,
    day_changes,
    max_drawdown_period,
)
from vibe.trading_bot.backtest.json_values import finite_or_none, iso_utc, rounded_list
from vibe.trading_bot.backtest.trade_stats import closed_trades, r_multiple, trade_stats
from vibe.trading_bot.data.frames import timeframe_seconds

if TYPE_CHECKING:
    from vibe.trading_bot.backtest.report import BacktestResult

USD, RATIO, MINUTES = 2, 6, 2
_USD_KEYS = frozenset({"net_pnl", "gross_profit", "gross_loss"})
_INT_KEYS = frozenset({"trades", "wins", "losses"})


def _num(value: float | None, ndigits: int) -> float | None:
    return finite_or_none(value, ndigits)


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, float | np.floating) and key not in _INT_KEYS:
            out[key] = _num(float(value), USD if key in _USD_KEYS else RATIO)
        else:
            out[key] = value
    return out


def _iso(value: datetime | None) -> str | None:
    return None if value is None else iso_utc("time", value)


def _drawdown(period: DrawdownPeriod | None) -> dict[str, Any] | None:
    if period is None:
        return None
    return {
        "depth_pct": _num(period.depth_pct, RATIO),
        "peak_time": _iso(period.peak_time),
        "peak_equity": _num(period.peak_equity, USD),
        "trough_time": _iso(period.trough_time),
        "trough_equity": _num(period.trough_equity, USD),
        "recovery_time": _iso(period.recovery_time),
    }


def _day(change: DayChange | None) -> dict[str, Any] | None:
    if change is None:
        return None
    return {
        "date": change.day.isoformat(),
        "pnl": _num(change.pnl, USD),
        "return_pct": _num(change.return_pct, RATIO),
    }


def _start_of_curve(result: BacktestResult) -> datetime:
    """Time of the initial-capital point: the first bar's start."""
    seconds = timeframe_seconds(result.config.timeframe)
    return result.equity_curve[0][0] - timedelta(seconds=seconds)


def _trade_ref(result: BacktestResult, index: int | None) -> dict[str, Any] | None:
    if index is None:
        return None
    trade = result.trades[index]
    stops = result.initial_stops
    return {
        "symbol": trade.symbol,
        "side": trade.side.value,
        "entry_time": _iso(trade.entry_time),
        "exit_time": _iso(trade.exit_time),
        "pnl": _num(trade.pnl, USD),
        "pnl_pct": _num(trade.pnl_pct, RATIO),
        "r_multiple": _num(r_multiple(trade, stops[index] if index < len(stops) else None), RATIO),
    }


def _benchmark(result: BacktestResult, start: datetime | None) -> dict[str, Any] | None:
    bench = result.benchmark
    if bench is None or start is None:
        return None
    times = result.curve_columns.times
    period = max_drawdown_period(times, bench.equity, result.config.initial_capital, start)
    legs = [
        {
            "symbol": leg.symbol,
            "first_bar_time": _iso(leg.first_bar_time),
            "first_open": _num(leg.first_open, 6),
            "last_close": _num(leg.last_close, 6),
            "return_pct": _num(leg.return_pct, RATIO),
        }
        for leg in bench.symbols
    ]
    return {
        "method": "equal_weight_buy_and_hold",
        "total_return_pct": _num(bench.total_return_pct, RATIO),
        "max_drawdown_pct": _num(bench.max_drawdown_pct, RATIO),
        "final_equity": _num(bench.final_equity, USD),
        "excess_return_pct": _num(result.metrics.total_return_pct - bench.total_return_pct, RATIO),
        "drawdown": _drawdown(period),
        "symbols": legs,
    }


def analysis_sections(result: BacktestResult) -> dict[str, Any]:
    """``benchmark``, ``benchmark_equity``, ``drawdown``, ``trade_stats``, ``breakdown``.

    See the module docstring for every key, unit and definition.

    Raises:
        InvalidInputError: a naive timestamp in the result.
    """
    columns = result.curve_columns
    equity = columns.equity
    config = result.config
    capital = config.initial_capital
    start = _start_of_curve(result) if columns.times else None
    period = None if start is None else max_drawdown_period(columns.times, equity, capital, start)
    best_day, worst_day = best_and_worst_day(day_changes(columns.micros, equity, capital))
    closed = closed_trades(result.trades, result.initial_stops)
    stats = trade_stats(closed)
    bench = _benchmark(result, start)
    holds = {leg["symbol"]: leg["return_pct"] for leg in bench["symbols"]} if bench else {}
    symbols = [
        {**_rounded(row), "buy_and_hold_return_pct": holds.get(row["symbol"])}
        for row in by_symbol(closed, config.symbols)
    ]
    bench_curve = result.benchmark.equity if result.benchmark is not None and bench else None
    return {
        "benchmark": bench,
        "benchmark_equity": [] if bench_curve is None else rounded_list(bench_curve, USD),
        "drawdown": _drawdown(period),
        "trade_stats": {
            "best_trade": _trade_ref(result, stats.best_trade),
            "worst_trade": _trade_ref(result, stats.worst_trade),
            "best_day": _day(best_day),
            "worst_day": _day(worst_day),
            "avg_win_minutes": _num(stats.avg_win_minutes, MINUTES),
            "avg_loss_minutes": _num(stats.avg_loss_minutes, MINUTES),
            "longest_win_streak": stats.longest_win_streak,
            "longest_loss_streak": stats.longest_loss_streak,
            "avg_r_multiple": _num(stats.avg_r_multiple, RATIO),
            "r_multiple_trades": stats.r_multiple_trades,
        },
        "breakdown": {
            "by_symbol": symbols,
            "by_month": [_rounded(row) for row in by_month(closed, config.start, config.end)],
            "by_weekday": [_rounded(row) for row in by_weekday(closed)],
        },
    }
