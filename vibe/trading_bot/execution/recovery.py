"""Recovery at start-up: reseed the paper venue from the stores, report differences.

A real venue keeps working orders and positions across our restart; the mock
exchange does not, so :func:`seed_mock_exchange` rebuilds it from ``trades.db``
before :meth:`OrderManager.recover
<vibe.trading_bot.execution.order_manager.OrderManager.recover>` compares the
database with the venue and lists each difference (:class:`Mismatch`) in a
:class:`RecoveryReport`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from vibe.common.models import Fill, Order, OrderStatus, Position
from vibe.trading_bot.exchange.mock_exchange import MockExchange
from vibe.trading_bot.storage.trade_store import TradeStore

#: Statuses of an order the venue is working (accepted, possibly partly filled).
WORKING_STATUSES = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One difference between the database and the venue found at start-up.

    Attributes:
        kind: ``order_missing_at_venue``, ``order_state``, ``position_quantity``,
            ``position_missing_at_venue`` or ``position_unknown_to_store``.
        key: the order id or symbol concerned.
        stored: the database's view, in words.
        venue: the venue's view, in words.
    """

    kind: str
    key: str
    stored: str
    venue: str


@dataclass(slots=True)
class RecoveryReport:
    """What :meth:`OrderManager.recover` found.

    Attributes:
        working: open orders known to both sides (the venue's objects).
        pending: orders stored as ``pending`` (never acknowledged by the venue).
        positions: open positions rebuilt from the stored fills, by symbol.
        mismatches: every difference found (empty when both sides agree).
    """

    working: list[Order] = field(default_factory=list)
    pending: list[Order] = field(default_factory=list)
    positions: dict[str, Position] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)


def order_view(order: Order) -> str:
    """An order's state in words, for a mismatch report."""
    return (
        f"{order.status.value} {order.filled_quantity}/{order.quantity} "
        f"limit={order.limit_price} stop={order.stop_price}"
    )


def pos_view(position: Position) -> str:
    """A position in words (shares @ average price USD), for a mismatch report."""
    return f"{position.quantity} @ {position.average_price:.6f}"


def cash_from_fills(initial_cash: float, fills: Collection[Fill]) -> float:
    """Cash in USD after ``fills``: ``initial - sum(side * qty * price + commission)``."""
    return initial_cash - sum(f.side.sign * f.quantity * f.price + f.commission for f in fills)


def seed_mock_exchange(exchange: MockExchange, store: TradeStore, initial_cash: float) -> None:
    """Re-seed a fresh in-memory exchange from the database before :meth:`OrderManager.recover`.

    A real venue keeps working orders and positions across our restart; the mock
    exchange does not. This gives it the stored working orders (accepted or
    partially filled, oldest first), the positions rebuilt from the fills, the
    cash implied by ``initial_cash`` (USD) and every stored fill, and per symbol
    the time of the latest stored fill (bars up to it were matched already).
    """
    working = [o for o in store.open_orders() if o.status in WORKING_STATUSES]
    positions = list(store.open_positions().values())
    fills = store.get_fills()
    filled_through: dict[str, datetime] = {}
    for fill in fills:
        latest = filled_through.get(fill.symbol)
        if latest is None or fill.timestamp > latest:
            filled_through[fill.symbol] = fill.timestamp
    exchange.restore(working, positions, cash_from_fills(initial_cash, fills), filled_through)
