"""The score of a trial: one backtest metric, maximized; too few trades is infeasible.

A trial whose backtest closed fewer than ``--min-trades`` trades, or whose metric is
undefined (``None``: no variance, no losing trade, no drawdown; see
:class:`~vibe.trading_bot.backtest.metrics.PerformanceMetrics`), has no score: it is
infeasible, recorded as such (Optuna state ``PRUNED``) and never chosen as the best,
instead of passing as a lucky zero-risk winner.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from vibe.common.errors import InvalidInputError

#: ``--objective`` names: :class:`PerformanceMetrics` fields, every one maximized.
OBJECTIVES = ("sharpe", "sortino", "calmar", "total_return_pct", "profit_factor", "expectancy_usd")
DEFAULT_OBJECTIVE = "sharpe"


def check_objective(name: str) -> str:
    """``name`` when it is a known objective.

    Raises:
        InvalidInputError: unknown name (lists the accepted ones).
    """
    if name not in OBJECTIVES:
        raise InvalidInputError(f"--objective={name!r}: expected one of {', '.join(OBJECTIVES)}")
    return name


def score(
    metrics: Mapping[str, float | int | None], objective: str, min_trades: int
) -> float | None:
    """The objective value of one trial, or ``None`` when the trial is infeasible.

    Args:
        metrics: the backtest report's ``metrics`` (``metrics_dict``: USD to the cent).
        objective: one of :data:`OBJECTIVES`.
        min_trades: fewest closed trades for a feasible trial (``--min-trades``).
    """
    trades = metrics.get("num_trades") or 0
    value = metrics.get(objective)
    if trades < min_trades or value is None or not math.isfinite(value):
        return None
    return float(value)
