"""Performance metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vibe.common.errors import InvalidInputError
from vibe.trading_bot.backtest.metrics import (
    compute_metrics,
    drawdown_series,
    max_drawdown_pct,
    periods_per_year,
)


def curve(values, freq="5min", start="2025-07-01 13:35"):
    index = pd.date_range(start, periods=len(values), freq=freq, tz="UTC")
    return pd.Series(values, index=index, dtype=float)


def test_periods_per_year_from_timeframe():
    assert periods_per_year(1) == 390 * 252
    assert periods_per_year(5) == 78 * 252
    with pytest.raises(InvalidInputError, match="bar_minutes=0"):
        periods_per_year(0)


def test_drawdown_hand_computed():
    equity = np.array([100.0, 120.0, 90.0, 130.0, 104.0])
    assert max_drawdown_pct(equity) == pytest.approx(25.0)  # 120 -> 90
    dd = drawdown_series(curve(equity))
    assert dd.iloc[2] == pytest.approx(-25.0)
    assert dd.iloc[4] == pytest.approx(-20.0)


def test_metrics_hand_computed():
    equity = curve([101.0, 99.99, 102.0, 102.0], freq="1D")
    m = compute_metrics(
        equity,
        [3.0, -1.0, 2.0],
        100.0,
        bar_minutes=5,
        in_market=pd.Series([True, True, False, False], index=equity.index),
    )
    returns = np.array([0.01, 99.99 / 101 - 1, 102 / 99.99 - 1, 0.0])
    scale = math.sqrt(78 * 252)
    assert m.total_return_pct == pytest.approx(2.0)
    assert m.sharpe == pytest.approx(returns.mean() / returns.std(ddof=1) * scale)
    downside = math.sqrt((returns[1] ** 2) / 4)
    assert m.sortino == pytest.approx(returns.mean() / downside * scale)
    assert m.max_drawdown_pct == pytest.approx((101 - 99.99) / 101 * 100)
    assert m.win_rate_pct == pytest.approx(200 / 3)
    assert m.profit_factor == pytest.approx(5.0)
    assert m.expectancy_usd == pytest.approx(4 / 3)
    assert m.num_trades == 3
    assert m.exposure_pct == pytest.approx(50.0)
    assert m.final_equity == 102.0
    assert m.var_95_pct == pytest.approx(-np.percentile(returns, 5) * 100)
    assert m.cagr_pct is not None
    assert m.calmar == pytest.approx(m.cagr_pct / m.max_drawdown_pct)


def test_undefined_ratios_are_none():
    m = compute_metrics(curve([100.0, 100.0]), [], 100.0, bar_minutes=1)
    assert m.sharpe is None and m.sortino is None and m.profit_factor is None
    assert m.win_rate_pct is None and m.calmar is None
    only_wins = compute_metrics(curve([101.0, 102.0]), [1.0, 1.0], 100.0, bar_minutes=1)
    assert only_wins.profit_factor is None and only_wins.win_rate_pct == 100.0


def test_cagr_over_one_year():
    equity = pd.Series([110.0], index=pd.DatetimeIndex(["2025-01-01"], tz="UTC"))
    equity = pd.concat(
        [pd.Series([100.0], index=pd.DatetimeIndex(["2024-01-01"], tz="UTC")), equity]
    )
    m = compute_metrics(equity, [], 100.0, bar_minutes=390)
    assert m.cagr_pct == pytest.approx((1.1 ** (365.25 / 366) - 1) * 100)


def test_bad_input():
    with pytest.raises(InvalidInputError, match="initial_capital=0"):
        compute_metrics(curve([1.0]), [], 0.0, bar_minutes=5)
    with pytest.raises(InvalidInputError):
        compute_metrics(pd.Series([], dtype=float), [], 100.0, bar_minutes=5)
