"""Per-trade statistics of a backtest: best/worst trade, durations, streaks, R-multiples.

Only closed trades count (an open trade has no P&L yet). P&L is net of fees (USD), as
everywhere in the report. A *winner* has net P&L > 0, a *loser* < 0; a break-even
trade is neither (the same rule as the win rate of :mod:`.metrics`).

* **Duration**: ``exit_time - entry_time`` in minutes (wall-clock minutes, first entry
  fill to last exit fill); averaged over winners and over losers.
* **Streaks**: the longest runs of consecutive winners and of consecutive losers,
  trades taken in exit order (then entry order); a break-even trade ends both runs.
* **R-multiple** (Van K. Tharp, *Trade Your Way to Financial Freedom*, 1998):
  ``R = |entry price - initial stop| * quantity`` is the USD risked at entry and
  ``R-multiple = net P&L / R``. The initial stop is the stop-loss leg's price placed
  with the entry (the executor never moves it). Trades without a known stop, or with
  ``R = 0``, have none; the average is over the trades that have one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from vibe.common.models import Trade
from vibe.trading_bot.utils.timefmt import NEW_YORK


def r_multiple(trade: Trade, initial_stop: float | None) -> float | None:
    """``net P&L / (|entry - initial_stop| * quantity)``; ``None`` when undefined."""
    pnl = trade.pnl
    if pnl is None or initial_stop is None:
        return None
    risk = abs(trade.entry_price - initial_stop) * trade.quantity
    return pnl / risk if risk > 0 else None


@dataclass(frozen=True, slots=True)
class ClosedTrades:
    """The run's closed trades as columns, ``n`` of them in exit, then entry, then list order.

    Attributes:
        index: shape (n,) int64, each trade's position in the run's trade list.
        symbols: the ``n`` tickers.
        ny_exits: the ``n`` exit times in America/New_York (the breakdowns' months and
            weekdays).
        pnl: shape (n,) float64, net P&L in USD (after fees).
        minutes: shape (n,) float64, ``exit_time - entry_time`` in minutes.
        r_multiples: shape (n,) float64, each trade's R-multiple, NaN when it has none.
    """

    index: np.ndarray
    symbols: list[str]
    ny_exits: list[datetime]
    pnl: np.ndarray
    minutes: np.ndarray
    r_multiples: np.ndarray

    def __len__(self) -> int:
        """Number of closed trades."""
        return len(self.index)


def closed_trades(
    trades: Sequence[Trade], initial_stops: Sequence[float | None] = ()
) -> ClosedTrades:
    """The closed trades of ``trades`` (open ones are left out) as :class:`ClosedTrades`.

    Args:
        trades: the run's round trips.
        initial_stops: the initial stop of each trade (USD per share, same order as
            ``trades``; ``None`` unknown); empty when none is known.
    """
    rows = []
    for i, trade in enumerate(trades):
        pnl, exit_time = trade.pnl, trade.exit_time
        if pnl is None or exit_time is None:
            continue
        stop = initial_stops[i] if i < len(initial_stops) else None
        r = r_multiple(trade, stop)
        minutes = (exit_time - trade.entry_time).total_seconds() / 60.0
        rows.append((exit_time, trade.entry_time, i, trade.symbol, pnl, minutes, r))
    rows.sort(key=lambda row: row[:3])  # aware times compare as UTC instants
    return ClosedTrades(
        index=np.array([row[2] for row in rows], dtype=np.int64),
        symbols=[row[3] for row in rows],
        ny_exits=[row[0].astimezone(NEW_YORK) for row in rows],
        pnl=np.array([row[4] for row in rows], dtype=np.float64),
        minutes=np.array([row[5] for row in rows], dtype=np.float64),
        r_multiples=np.array([np.nan if row[6] is None else row[6] for row in rows], dtype=float),
    )


def longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of ``True`` in a bool array (0 when none)."""
    best = current = 0
    for flag in flags.tolist():
        current = current + 1 if flag else 0
        best = max(best, current)
    return best


@dataclass(frozen=True, slots=True)
class TradeStats:
    """Trade-level figures (see the module docstring for the definitions).

    Attributes:
        best_trade: position in the run's trade list of the trade with the highest net
            P&L (USD; the first one on ties), ``None`` without closed trades.
        worst_trade: the same for the lowest net P&L.
        avg_win_minutes: mean duration of winners, minutes.
        avg_loss_minutes: mean duration of losers, minutes.
        longest_win_streak: consecutive winners, trades.
        longest_loss_streak: consecutive losers, trades.
        avg_r_multiple: mean R-multiple of the trades that have one.
        r_multiple_trades: how many trades have an R-multiple.
    """

    best_trade: int | None
    worst_trade: int | None
    avg_win_minutes: float | None
    avg_loss_minutes: float | None
    longest_win_streak: int
    longest_loss_streak: int
    avg_r_multiple: float | None
    r_multiple_trades: int


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def trade_stats(closed: ClosedTrades) -> TradeStats:
    """:class:`TradeStats` of the run's :func:`closed_trades`."""
    if not len(closed):
        return TradeStats(None, None, None, None, 0, 0, None, 0)
    pnl, positions = closed.pnl, closed.index
    wins, losses = pnl > 0, pnl < 0
    r_values = closed.r_multiples[~np.isnan(closed.r_multiples)]
    return TradeStats(
        best_trade=int(positions[int(np.argmax(pnl))]),  # argmax: the first on ties
        worst_trade=int(positions[int(np.argmin(pnl))]),
        avg_win_minutes=_mean(closed.minutes[wins]),
        avg_loss_minutes=_mean(closed.minutes[losses]),
        longest_win_streak=longest_run(wins),
        longest_loss_streak=longest_run(losses),
        avg_r_multiple=_mean(r_values),
        r_multiple_trades=len(r_values),
    )
