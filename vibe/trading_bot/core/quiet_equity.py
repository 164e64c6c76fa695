"""Equity points of a quiet stretch of bars, equal to the ones bar-by-bar processing records.

A backtest fast-forwards through bars that need no decision (see
:meth:`~vibe.trading_bot.core.bar_processor.BarProcessor.quiet_end`): nothing
fills, so cash and positions stay as they are and only the marks move. With at
most one open position the equity after each bar group is computed here with
the same floating-point operations as
:attr:`~vibe.trading_bot.execution.portfolio.Portfolio.equity` (cash plus the
shares times the mark, the mark being the position's symbol's latest close), so
the curve is identical to the bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from vibe.common.models import Bar
from vibe.trading_bot.execution.portfolio import Portfolio


def quiet_points(
    bars: Sequence[Bar], interval: timedelta, portfolio: Portfolio, *, one_symbol: bool = False
) -> list[tuple[datetime, float]]:
    """``(group end UTC, equity USD)`` after each bar group of ``bars``.

    Args:
        bars: whole bar groups in time order (a group = one start time); no fill in them.
        interval: bar length (group end = start + interval).
        portfolio: the book before the stretch; at most one open position.
        one_symbol: every bar is of one symbol, so each bar is a group of its own.

    Raises:
        ValueError: more than one position is open.
    """
    positions = portfolio.positions
    if len(positions) > 1:
        raise ValueError(f"quiet stretch with {len(positions)} open positions; expected <= 1")
    held, shares, mark = None, 0, 0.0
    for symbol, position in positions.items():
        held, shares = symbol, position.quantity
        mark = position.last_price if position.last_price is not None else position.average_price
    cash = portfolio.cash
    if one_symbol:
        if held is None:
            return [(bar.timestamp + interval, cash) for bar in bars]
        if bars[0].symbol == held:
            return [(bar.timestamp + interval, cash + shares * bar.close) for bar in bars]
        return [(bar.timestamp + interval, cash + shares * mark) for bar in bars]
    points: list[tuple[datetime, float]] = []
    last = len(bars) - 1
    for k, bar in enumerate(bars):
        if bar.symbol == held:
            mark = bar.close
        if k < last and bars[k + 1].timestamp == bar.timestamp:
            continue  # the group goes on
        points.append((bar.timestamp + interval, cash if held is None else cash + shares * mark))
    return points
