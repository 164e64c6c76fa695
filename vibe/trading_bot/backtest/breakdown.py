"""Closed trades grouped by symbol, by month and by weekday.

Each group reports: ``trades`` (closed round trips), ``wins`` and ``losses`` (net P&L
> 0 and < 0; break-even trades are neither), ``win_rate_pct`` (``wins / trades * 100``,
``None`` without trades), ``net_pnl`` (USD, after fees) and, per symbol,
``gross_profit`` / ``gross_loss`` (USD, the loss as a positive amount) and
``profit_factor`` (``gross_profit / gross_loss``, ``None`` without losses): the same
definitions as the run's headline metrics (:mod:`.metrics`).

A trade belongs to the month and weekday of its **exit** in New York time (when its
P&L was realized, as freqtrade's ``--breakdown``). Every month of the run's date range
and every weekday Monday-Friday is listed, with zeros when no trade closed then; every
symbol of the run is listed, in the run's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np

from vibe.trading_bot.backtest.trade_stats import ClosedTrades

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def _group_row(pnl: np.ndarray) -> dict[str, Any]:
    """The group figures of the net P&L (USD, float64) of its trades.

    Sums skip NaN (as pandas' ``Series.sum``, which these figures were first computed
    with: the same numpy pairwise sum, so the same floats).
    """
    count = len(pnl)
    wins = int((pnl > 0).sum())
    return {
        "trades": count,
        "wins": wins,
        "losses": int((pnl < 0).sum()),
        "win_rate_pct": wins / count * 100.0 if count else None,
        "net_pnl": float(np.nansum(pnl)),
    }


def _symbol_row(pnl: np.ndarray) -> dict[str, Any]:
    row = _group_row(pnl)
    profit = float(np.nansum(pnl[pnl > 0]))
    loss = float(-np.nansum(pnl[pnl < 0]))
    row.update(
        gross_profit=profit,
        gross_loss=loss,
        profit_factor=profit / loss if loss > 0 else None,
    )
    return row


def by_symbol(closed: ClosedTrades, symbols: Sequence[str]) -> list[dict[str, Any]]:
    """One row per symbol: ``symbol`` plus the group figures and the profit factor.

    Args:
        closed: the run's :func:`~.trade_stats.closed_trades`.
        symbols: the run's symbols (symbols traded but not listed are appended, sorted).
    """
    traded = np.array(closed.symbols, dtype=object)
    names = list(symbols) + sorted(set(closed.symbols) - set(symbols))
    return [{"symbol": name, **_symbol_row(closed.pnl[traded == name])} for name in names]


def months_between(start: date, end: date) -> list[str]:
    """``YYYY-MM`` of every month from ``start`` to ``end`` (inclusive)."""
    first, last = start.year * 12 + start.month - 1, end.year * 12 + end.month - 1
    return [f"{month // 12:04d}-{month % 12 + 1:02d}" for month in range(first, last + 1)]


def by_month(closed: ClosedTrades, start: date, end: date) -> list[dict[str, Any]]:
    """One row per calendar month (``month``: ``YYYY-MM``) of ``start..end``, by exit month."""
    months = np.array([when.strftime("%Y-%m") for when in closed.ny_exits], dtype=object)
    names = sorted(set(months_between(start, end)) | set(months.tolist()))
    return [{"month": name, **_group_row(closed.pnl[months == name])} for name in names]


def by_weekday(closed: ClosedTrades) -> list[dict[str, Any]]:
    """One row per weekday Monday-Friday (``weekday``), by the exit's New York weekday."""
    days = np.array([when.weekday() for when in closed.ny_exits], dtype=int)
    return [
        {"weekday": name, **_group_row(closed.pnl[days == number])}
        for number, name in enumerate(WEEKDAYS)
    ]
