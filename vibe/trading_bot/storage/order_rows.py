"""Writing orders to ``trades.db``: only what changed since this store last wrote the order.

An order is written many times (pending, submitted, accepted, each fill, its end).
The first write of an order (or of one this process has not written, e.g. after a
restart) is a full upsert of its row, every status history entry and every fill,
each ``INSERT OR IGNORE`` so that rows already stored are kept. After a committed
write, :class:`OrderRows` remembers the order's identity columns and how many
history entries and fills are stored, so the next write of the same order is a
narrow ``UPDATE`` of the columns that change (status, fill totals, prices,
quantity) plus the new history entries and fills only. This leaves the indexes on
the identity columns untouched and keeps the WAL small. An order whose identity
columns changed, or whose row is gone, falls back to the full upsert. Completed
orders are forgotten (they do not change again), so memory follows the open orders.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vibe.common.models import Order, OrderStatus
from vibe.trading_bot.storage.trade_schema import (
    fill_values,
    order_values,
    utc_iso,
    validate_order,
)

UPSERT_ORDER = """
INSERT INTO orders (
    id, client_order_id, parent_id, symbol, side, order_type, time_in_force, quantity,
    limit_price, stop_price, status, filled_quantity, average_fill_price, reject_reason,
    created_at, updated_at
) VALUES (
    :id, :client_order_id, :parent_id, :symbol, :side, :order_type, :time_in_force, :quantity,
    :limit_price, :stop_price, :status, :filled_quantity, :average_fill_price, :reject_reason,
    :created_at, :updated_at
) ON CONFLICT(id) DO UPDATE SET
    client_order_id = excluded.client_order_id, parent_id = excluded.parent_id,
    symbol = excluded.symbol, side = excluded.side, order_type = excluded.order_type,
    time_in_force = excluded.time_in_force, quantity = excluded.quantity,
    limit_price = excluded.limit_price, stop_price = excluded.stop_price,
    status = excluded.status, filled_quantity = excluded.filled_quantity,
    average_fill_price = excluded.average_fill_price, reject_reason = excluded.reject_reason,
    updated_at = excluded.updated_at
"""
_UPDATE_STATE = """
UPDATE orders SET quantity = ?, limit_price = ?, stop_price = ?, status = ?,
    filled_quantity = ?, average_fill_price = ?, reject_reason = ?, updated_at = ?
WHERE id = ?
"""
_INSERT_EVENT = "INSERT OR IGNORE INTO order_events (order_id, seq, status, at) VALUES (?, ?, ?, ?)"
INSERT_FILL = "INSERT OR IGNORE INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


@dataclass(frozen=True, slots=True)
class _Written:
    identity: tuple[Any, ...]
    history: int  # status history entries stored
    fills: int  # fills stored


def _identity(order: Order) -> tuple[Any, ...]:
    return (
        order.client_order_id,
        order.parent_id,
        order.symbol,
        order.side,
        order.order_type,
        order.time_in_force,
        order.created_at,
    )


class OrderRows:
    """What one store has written of each open order, and the writes that follow from it.

    Not thread-safe by itself: the owning store calls it from inside a transaction.
    """

    def __init__(self) -> None:
        self._written: dict[str, _Written] = {}

    def check(self, order: Order) -> None:
        """Validate what would be written for ``order`` (nothing is written).

        Raises:
            InvalidInputError: a bad order or fill value, named.
        """
        known = self._known(order) if isinstance(order, Order) else None
        if known is None:
            validate_order(order)
        else:
            validate_order(order, known.history, known.fills)

    def write(self, conn: sqlite3.Connection, order: Order) -> Callable[[], None]:
        """Write ``order`` (already checked) on ``conn``, inside the caller's transaction.

        Returns:
            The action to run once the transaction has committed (it records what is
            now stored); not running it (a rollback) only costs a full write next time.

        Raises:
            sqlite3.Error: e.g. another order already uses this ``client_order_id``.
        """
        known = self._known(order)
        history_from = fills_from = 0
        if known is not None and conn.execute(_UPDATE_STATE, _state(order)).rowcount == 1:
            history_from, fills_from = known.history, known.fills
        else:
            if known is not None:  # the row is gone: write everything, checked in full
                validate_order(order)
            conn.execute(UPSERT_ORDER, order_values(order))
        history = order.history
        if len(history) > history_from:
            conn.executemany(
                _INSERT_EVENT,
                [
                    (order.id, seq, OrderStatus(status).value, utc_iso(at))
                    for seq, (status, at) in enumerate(history[history_from:], history_from)
                ],
            )
        if len(order.fills) > fills_from:
            conn.executemany(INSERT_FILL, [fill_values(f) for f in order.fills[fills_from:]])
        written = _Written(_identity(order), len(history), len(order.fills))
        done = OrderStatus(order.status).is_terminal
        return lambda: self._remember(order.id, written, done)

    def forget(self) -> None:
        """Drop everything remembered (the next write of each order is a full one)."""
        self._written.clear()

    def _known(self, order: Order) -> _Written | None:
        known = self._written.get(order.id)
        if known is None or known.identity != _identity(order):
            return None
        if known.history > len(order.history) or known.fills > len(order.fills):
            return None  # another object for this id, with less than what is stored
        return known

    def _remember(self, order_id: str, written: _Written, done: bool) -> None:
        if done:
            self._written.pop(order_id, None)
        else:
            self._written[order_id] = written


def _state(order: Order) -> tuple[Any, ...]:
    return (
        order.quantity,
        order.limit_price,
        order.stop_price,
        OrderStatus(order.status).value,
        order.filled_quantity,
        order.average_fill_price,
        order.reject_reason,
        utc_iso(order.updated_at or order.created_at),
        order.id,
    )
