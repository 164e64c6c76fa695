"""Performance metrics of a backtest or a live run, from its equity curve and trades.

Returns are simple per-bar returns of the equity curve (one point per bar
close). Annualization uses the bar timeframe and the trading calendar:
``periods_per_year = bars_per_session * sessions_per_year`` (390 / bar minutes
bars per regular session, 252 sessions), not a hard-coded 252 on intraday
returns. The risk-free rate is taken as zero.

Formulas:
  * Sharpe ratio: ``mean(r) / std(r, ddof=1) * sqrt(periods_per_year)`` (Sharpe, "The
    Sharpe Ratio", J. Portfolio Management 1994).
  * Sortino ratio: ``mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(periods_per_year)``
    (Sortino and Price, "Performance Measurement in a Downside Risk Framework", 1994).
  * Max drawdown: the largest peak-to-trough fall of equity, % of the peak.
  * CAGR: ``(final / initial) ** (365.25 / calendar days) - 1`` (``None`` on overflow).
  * Calmar ratio: ``CAGR / |max drawdown|`` (Young, "Calmar Ratio", Futures 1991).
  * VaR 95 %: historical, the loss (as a positive %) not exceeded on 95 % of bars.
  * Profit factor: gross profit / gross loss of closed trades; expectancy: mean P&L per trade.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from vibe.common.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

REGULAR_SESSION_MINUTES = 390
SESSIONS_PER_YEAR = 252


@dataclass(frozen=True, slots=True)
class PerformanceMetrics:
    """Headline figures; percentages are in percent (5.0 means 5 %), money in USD.

    Ratios that are undefined (no variance, no losses, no drawdown) are ``None``.
    """

    total_return_pct: float
    cagr_pct: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    max_drawdown_pct: float
    win_rate_pct: float | None
    profit_factor: float | None
    expectancy_usd: float | None
    num_trades: int
    exposure_pct: float
    var_95_pct: float | None
    final_equity: float

    def as_dict(self) -> dict[str, float | int | None]:
        """Field name -> value, ready for JSON."""
        return asdict(self)


def periods_per_year(bar_minutes: int, sessions_per_year: int = SESSIONS_PER_YEAR) -> float:
    """Bars in a year: ``390 / bar_minutes`` per regular session times ``sessions_per_year``.

    Raises:
        InvalidInputError: ``bar_minutes`` is not in 1..390.
    """
    if not 1 <= bar_minutes <= REGULAR_SESSION_MINUTES:
        raise InvalidInputError(f"bar_minutes={bar_minutes}; expected 1..390")
    return REGULAR_SESSION_MINUTES / bar_minutes * sessions_per_year


def max_drawdown_pct(equity: np.ndarray) -> float:
    """Largest peak-to-trough decline of ``equity`` (shape (n,), USD) in percent (>= 0)."""
    if equity.size == 0:
        return 0.0
    peaks = np.maximum.accumulate(equity)
    return float(np.max((peaks - equity) / peaks) * 100.0)


def drawdown_series(equity: pd.Series) -> pd.Series:
    """Drawdown from the running peak at each point, in percent (<= 0), same index."""
    peaks = equity.cummax()
    return (equity / peaks - 1.0) * 100.0


def _ratio(numerator: float, denominator: float) -> float | None:
    if denominator == 0 or not math.isfinite(denominator):
        return None
    value = numerator / denominator
    return value if math.isfinite(value) else None


def _trade_stats(pnls: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    if not pnls:
        return None, None, None
    values = np.asarray(pnls, dtype=float)
    wins = values[values > 0]
    losses = values[values < 0]
    win_rate = len(wins) / len(values) * 100.0
    profit_factor = _ratio(float(wins.sum()), float(-losses.sum()))
    return win_rate, profit_factor, float(values.mean())


def _cagr_pct(final: float, initial: float, period: tuple[datetime, datetime]) -> float | None:
    days = (period[1] - period[0]).total_seconds() / 86_400
    if days <= 0 or final <= 0:
        return None
    try:
        return (math.exp(365.25 / days * math.log(final / initial)) - 1.0) * 100.0
    except OverflowError:
        return None  # a tiny window extrapolated to a year: no meaningful figure


def compute_metrics(
    equity: pd.Series,
    trade_pnls: Sequence[float],
    initial_capital: float,
    bar_minutes: int,
    in_market: pd.Series | None = None,
) -> PerformanceMetrics:
    """Compute :class:`PerformanceMetrics` of an equity Series (see :func:`metrics_from_arrays`).

    Args:
        equity: equity in USD at every bar close, float, indexed by tz-aware close times
            (ascending); at least one point.
        trade_pnls: net P&L in USD of each closed trade.
        initial_capital: equity before the first bar, USD (> 0).
        bar_minutes: bar timeframe in minutes (1 for 1m, 5 for 5m), for annualization.
        in_market: bool per bar, True when any position was open (exposure); same index.

    Raises:
        InvalidInputError: empty equity curve or non-positive initial capital.
    """
    period = (equity.index[0], equity.index[-1]) if len(equity) else None
    return metrics_from_arrays(
        equity.to_numpy(dtype=float),
        period,
        trade_pnls,
        initial_capital,
        bar_minutes,
        None if in_market is None else in_market.to_numpy(dtype=bool),
    )


def metrics_from_arrays(
    equity: np.ndarray,
    period: tuple[datetime, datetime] | None,
    trade_pnls: Sequence[float],
    initial_capital: float,
    bar_minutes: int,
    in_market: np.ndarray | None = None,
) -> PerformanceMetrics:
    """Compute :class:`PerformanceMetrics` from plain arrays (no time index needed).

    Args:
        equity: shape (n,) float64, equity in USD at every bar close, oldest first; n >= 1.
        period: tz-aware close times of the first and last point (for CAGR).
        trade_pnls: net P&L in USD of each closed trade.
        initial_capital: equity before the first bar, USD (> 0).
        bar_minutes: bar timeframe in minutes (1 for 1m, 5 for 5m), for annualization.
        in_market: shape (n,) bool, True when any position was open (exposure).

    Raises:
        InvalidInputError: empty equity curve or non-positive initial capital.
    """
    if equity.size == 0 or period is None or initial_capital <= 0:
        raise InvalidInputError(
            f"equity points={equity.size}, initial_capital={initial_capital}; expected "
            "at least one point and capital > 0"
        )
    values = np.asarray(equity, dtype=float)
    returns = np.diff(np.concatenate(([initial_capital], values))) / np.concatenate(
        ([initial_capital], values[:-1])
    )
    scale = math.sqrt(periods_per_year(bar_minutes))
    std = float(returns.std(ddof=1)) if returns.size > 1 else 0.0
    downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)))
    mean = float(returns.mean())
    sharpe = _ratio(mean * scale, std)
    sortino = _ratio(mean * scale, downside)
    cagr = _cagr_pct(float(values[-1]), initial_capital, period)
    drawdown = max_drawdown_pct(np.concatenate(([initial_capital], values)))
    win_rate, profit_factor, expectancy = _trade_stats(trade_pnls)
    exposure = float(in_market.mean() * 100.0) if in_market is not None and in_market.size else 0.0
    # + 0.0 turns -0.0 (a 5th percentile of exactly 0) into 0.0; no other value changes
    var_95 = float(-np.percentile(returns, 5) * 100.0) + 0.0 if returns.size else None
    return PerformanceMetrics(
        total_return_pct=(values[-1] / initial_capital - 1.0) * 100.0,
        cagr_pct=cagr,
        sharpe=sharpe,
        sortino=sortino,
        calmar=_ratio(cagr, drawdown) if cagr is not None else None,
        max_drawdown_pct=drawdown,
        win_rate_pct=win_rate,
        profit_factor=profit_factor,
        expectancy_usd=expectancy,
        num_trades=len(trade_pnls),
        exposure_pct=exposure,
        var_95_pct=var_95,
        final_equity=float(values[-1]),
    )
