"""The venue interface: what the paper exchange implements and a broker adapter would.

Nothing above this interface knows whether orders go to the mock exchange or a
broker: the order manager drives a :class:`Venue` (synchronous calls; the bar
processing runs in a worker thread) and listens to :class:`OrderEvent`
callbacks; the trade executor drives a :class:`BarVenue`, a venue that fills
against bars (the paper exchange).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from vibe.common.models import Bar, Fill, Order, Position


class OrderEventKind(StrEnum):
    """What happened to an order."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    AMENDED = "amended"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One order event, announced after the order object has been updated.

    Attributes:
        kind: what happened.
        order: the order, in its new state.
        timestamp: when it happened, tz-aware UTC.
        fill: the execution, for (partial) fills.
        reason: rejection or cancellation reason.
    """

    kind: OrderEventKind
    order: Order
    timestamp: datetime
    fill: Fill | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Account:
    """Account balances in USD.

    Attributes:
        cash: cash balance (short sale proceeds included).
        equity: cash plus the marked value of all positions.
        buying_power: notional still available for new exposure.
    """

    cash: float
    equity: float
    buying_power: float


OrderListener = Callable[[OrderEvent], None]


class Venue(Protocol):
    """What the order manager drives: the synchronous surface of a venue.

    ``MockExchange`` implements it; so would a real broker adapter (e.g. one on a
    broker's REST API, whose blocking calls run in the bar-processing worker
    thread): submit, amend and cancel orders, answer for an order and the
    account, and announce every order event to the listeners, in order, after
    the order object has been updated.
    """

    positions: dict[str, Position]

    def add_listener(self, listener: OrderListener) -> None:
        """Call ``listener`` for every order event."""
        ...

    def submit(self, order: Order) -> Order:
        """Accept or reject a pending order (a rejection is an event, never an exception)."""
        ...

    def submit_bracket(
        self, entry: Order, stop_price: float, take_profit_price: float | None = None
    ) -> tuple[Order, Order | None, Order | None]:
        """Submit an entry with a stop-loss and optional take-profit leg (one-cancels-other)."""
        ...

    def amend(
        self, order_id: str, limit_price: float | None = None, stop_price: float | None = None
    ) -> Order:
        """Change a working order's prices (USD per share)."""
        ...

    def cancel(self, order_id: str, reason: str = "cancelled") -> Order:
        """Cancel a working order."""
        ...

    def order(self, order_id: str) -> Order:
        """The venue's view of one order; raises ``OrderRejectedError`` when unknown."""
        ...

    def account(self) -> Account:
        """Cash, equity and buying power, USD."""
        ...


class BarVenue(Venue, Protocol):
    """A venue that fills against bars: the paper venue (``MockExchange``).

    A broker adapter fills by itself and announces fills as events; the bar
    methods are what a simulated venue adds so that replay, backtest and paper
    trading fill the same orders on the same bars.
    """

    def process_bar(self, bar: Bar) -> list[Fill]:
        """Fill what ``bar`` allows."""
        ...

    def mark_bar(self, bar: Bar) -> None:
        """Mark the position to ``bar.close`` only (a bar where ``may_fill`` is False)."""
        ...

    def quiet_band(self, symbol: str) -> tuple[float, float]:
        """``(low, high)`` USD: a bar strictly inside it cannot fill a working order."""
        ...

    def may_fill(self, bar: Bar) -> bool:
        """True when ``process_bar(bar)`` could fill or change a working order."""
        ...

    def fill_market_orders_at_close(self, bar: Bar) -> list[Fill]:
        """Fill working market orders at ``bar.close``."""
        ...

    def expire_day_orders(self, at: datetime) -> list[Order]:
        """Expire working day orders at the close ``at``."""
        ...
