"""The initial stop of each trade, read from the orders ``trades.db`` already stores.

An entry is a bracket (:mod:`vibe.trading_bot.execution.trade_executor`): a market
entry order and, as its children (``parent_id``), a stop-loss leg (order type
``stop``, its ``stop_price``) and a take-profit leg. The executor re-prices only the
take-profit leg, so the stored stop leg's price is the stop placed at entry. A trade
starts at its entry order's first fill (``Trade.entry_time``), so a trade is matched
to the entry order of the same symbol whose first fill has that time. No schema
change: these are the rows the order manager writes anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from vibe.common.models import Order, OrderType, Trade


def initial_stops(trades: Sequence[Trade], orders: Sequence[Order]) -> list[float | None]:
    """The stop-loss price (USD per share) placed with each trade's entry, same order.

    Args:
        trades: round trips (``TradeStore.get_trades()``).
        orders: every stored order with its fills (``TradeStore.get_orders()``).

    Returns:
        One value per trade; ``None`` when its entry had no stop-loss leg (or is not
        found among ``orders``).
    """
    stop_of_entry: dict[str, float] = {}
    for order in orders:
        if (
            order.parent_id is not None
            and order.order_type is OrderType.STOP
            and order.stop_price is not None
        ):
            stop_of_entry[order.parent_id] = order.stop_price
    by_first_fill: dict[tuple[str, datetime], float] = {}
    for order in orders:
        stop = stop_of_entry.get(order.id)
        if stop is not None and order.fills:
            first = min(fill.timestamp for fill in order.fills)
            by_first_fill[(order.symbol, first)] = stop
    return [by_first_fill.get((trade.symbol, trade.entry_time)) for trade in trades]
