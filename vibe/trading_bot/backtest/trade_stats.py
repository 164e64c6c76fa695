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

import numpy as np
import pandas as pd

from vibe.common.models import Trade

#: Columns of :func:`closed_trades_frame`.
FRAME_COLUMNS = (
    "index",
    "symbol",
    "side",
    "quantity",
    "entry_time",
    "exit_time",
    "entry_price",
    "pnl",
    "pnl_pct",
    "initial_stop",
    "risk_usd",
    "r_multiple",
    "minutes",
)


def r_multiple(trade: Trade, initial_stop: float | None) -> float | None:
    """``net P&L / (|entry - initial_stop| * quantity)``; ``None`` when undefined."""
    pnl = trade.pnl
    if pnl is None or initial_stop is None:
        return None
    risk = abs(trade.entry_price - initial_stop) * trade.quantity
    return pnl / risk if risk > 0 else None


def closed_trades_frame(
    trades: Sequence[Trade], initial_stops: Sequence[float | None] = ()
) -> pd.DataFrame:
    """One row per closed trade (columns :data:`FRAME_COLUMNS`), in exit then entry order.

    Args:
        trades: the run's round trips (open ones are left out).
        initial_stops: the initial stop of each trade (USD per share, same order as
            ``trades``; ``None`` unknown); empty when none is known.

    ``index`` is the trade's position in ``trades``; times are tz-aware UTC
    ``Timestamp`` objects; ``minutes`` is the duration in minutes.
    """
    rows = []
    for i, trade in enumerate(trades):
        if trade.pnl is None or trade.exit_time is None:
            continue
        stop = initial_stops[i] if i < len(initial_stops) else None
        risk = None if stop is None else abs(trade.entry_price - stop) * trade.quantity
        rows.append(
            (
                i,
                trade.symbol,
                trade.side.value,
                trade.quantity,
                pd.Timestamp(trade.entry_time).tz_convert("UTC"),
                pd.Timestamp(trade.exit_time).tz_convert("UTC"),
                trade.entry_price,
                trade.pnl,
                trade.pnl_pct,
                stop,
                risk,
                r_multiple(trade, stop),
                (trade.exit_time - trade.entry_time).total_seconds() / 60.0,
            )
        )
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    for column in ("initial_stop", "risk_usd", "r_multiple", "pnl", "minutes"):
        frame[column] = frame[column].astype(float)
    for column in ("entry_time", "exit_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.sort_values(["exit_time", "entry_time", "index"], kind="stable").reset_index(
        drop=True
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


def _mean(values: pd.Series) -> float | None:
    return float(values.mean()) if len(values) else None


def trade_stats(frame: pd.DataFrame) -> TradeStats:
    """:class:`TradeStats` of a :func:`closed_trades_frame`."""
    if frame.empty:
        return TradeStats(None, None, None, None, 0, 0, None, 0)
    pnl = frame["pnl"]
    values = pnl.to_numpy()
    positions = frame["index"].to_numpy()
    wins, losses = pnl > 0, pnl < 0
    r_values = frame["r_multiple"].dropna()
    return TradeStats(
        best_trade=int(positions[int(np.argmax(values))]),  # argmax: the first on ties
        worst_trade=int(positions[int(np.argmin(values))]),
        avg_win_minutes=_mean(frame.loc[wins, "minutes"]),
        avg_loss_minutes=_mean(frame.loc[losses, "minutes"]),
        longest_win_streak=longest_run(wins.to_numpy()),
        longest_loss_streak=longest_run(losses.to_numpy()),
        avg_r_multiple=_mean(r_values),
        r_multiple_trades=len(r_values),
    )
