"""The exchange interface every venue adapter implements (paper or real).

Nothing above this interface knows whether orders go to the mock exchange or a
broker: the executor submits :class:`~vibe.common.models.Order` objects and
listens to :class:`OrderEvent` callbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from vibe.common.models import Fill, Order, Position


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


class Exchange(Protocol):
    """What the executor needs from a venue."""

    async def connect(self) -> None:
        """Open the session with the venue."""
        ...

    async def close(self) -> None:
        """Close the session; working orders stay at the venue."""
        ...

    async def submit_order(self, order: Order) -> Order:
        """Submit a pending order; returns it accepted or rejected (never raises on rejection)."""
        ...

    async def cancel_order(self, order_id: str) -> Order:
        """Cancel a working order; returns it in its final state."""
        ...

    async def get_order(self, order_id: str) -> Order:
        """The venue's view of one order."""
        ...

    async def get_positions(self) -> dict[str, Position]:
        """Open positions by symbol."""
        ...

    async def get_account(self) -> Account:
        """Cash, equity and buying power."""
        ...

    def add_listener(self, listener: OrderListener) -> None:
        """Call ``listener`` for every order event, in order."""
        ...
