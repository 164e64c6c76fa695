"""Domain model: bars, ticks, signals, orders, fills, positions and trades.

Units everywhere in this module: prices in USD per share, quantities in whole
shares, money (P&L, fees, slippage cost, cash) in USD, times as timezone-aware
UTC ``datetime``. Hot-path objects are ``@dataclass(slots=True)``; this module
does no I/O and never reads the wall clock (callers pass the time in).

why-large: the domain vocabulary every layer imports (bars, signals, orders with their
lifecycle, fills, positions, trades); small value types that refer to each other.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from vibe.common.errors import InvalidInputError, InvalidTransitionError


def require_aware(name: str, value: datetime) -> datetime:
    """Return ``value`` if it is timezone-aware.

    Raises:
        InvalidInputError: ``value`` is naive (no tzinfo); the message names ``name``.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(
            f"{name}={value.isoformat()} is naive; expected a tz-aware datetime"
        )
    return value


def require_price(name: str, value: float) -> float:
    """Return ``value`` if it is a finite price > 0 (USD per share).

    Raises:
        InvalidInputError: ``value`` is NaN, infinite, zero or negative.
    """
    if not math.isfinite(value) or value <= 0:
        raise InvalidInputError(f"{name}={value!r}; expected a finite price > 0 (USD per share)")
    return value


def require_quantity(name: str, value: int) -> int:
    """Return ``value`` if it is a whole number of shares > 0.

    Raises:
        InvalidInputError: ``value`` is not an ``int`` or is <= 0.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInputError(f"{name}={value!r}; expected a whole number of shares > 0")
    return value


class OrderSide(StrEnum):
    """Direction of an order: ``buy`` adds shares, ``sell`` removes them."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buy, -1 for sell."""
        return 1 if self is OrderSide.BUY else -1

    @property
    def opposite(self) -> OrderSide:
        """The side that closes a position opened with this side."""
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class PositionSide(StrEnum):
    """Direction of a position or round-trip trade."""

    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        """+1 for long, -1 for short."""
        return 1 if self is PositionSide.LONG else -1

    @property
    def entry_side(self) -> OrderSide:
        """The order side that opens a position of this direction."""
        return OrderSide.BUY if self is PositionSide.LONG else OrderSide.SELL


class OrderType(StrEnum):
    """Order types supported by the exchange interface."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    """How long an order stays working: ``day`` expires at the session close."""

    DAY = "day"
    GTC = "gtc"


class OrderStatus(StrEnum):
    """Order lifecycle states; legal moves are in :data:`ORDER_TRANSITIONS`."""

    PENDING = "pending"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """True for filled, cancelled, rejected and expired: no further change is legal."""
        return not ORDER_TRANSITIONS[self]


_WORKING_EXITS = frozenset(
    {
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
    }
)

#: Legal order status transitions (from -> allowed targets). A venue may fill an
#: order before acknowledging it, so ``submitted`` may go straight to a fill.
#: ``partially_filled -> partially_filled`` records each further partial fill.
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset(
        {OrderStatus.SUBMITTED, OrderStatus.REJECTED, OrderStatus.CANCELLED}
    ),
    OrderStatus.SUBMITTED: _WORKING_EXITS | {OrderStatus.ACCEPTED, OrderStatus.REJECTED},
    OrderStatus.ACCEPTED: _WORKING_EXITS,
    OrderStatus.PARTIALLY_FILLED: _WORKING_EXITS,
    OrderStatus.FILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
}


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    """Return True when the lifecycle allows ``current -> target``."""
    return target in ORDER_TRANSITIONS[current]


class SignalAction(StrEnum):
    """What a strategy asks for."""

    OPEN_LONG = "open_long"
    OPEN_SHORT = "open_short"
    CLOSE = "close"


class ExitReason(StrEnum):
    """Why a position was closed."""

    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    END_OF_DAY = "end_of_day"
    SHUTDOWN = "shutdown"
    MANUAL = "manual"


class Bar(NamedTuple):
    """One OHLCV bar (immutable).

    A named tuple rather than a frozen dataclass: a year of 1-minute bars is
    ~100,000 objects, and a tuple is built about 3.5x faster (0.3 vs 1.0 us) with
    the same immutability, equality and hashing.

    Attributes:
        symbol: ticker, e.g. ``SPY``.
        timestamp: bar **start** time, tz-aware UTC.
        open, high, low, close: prices in USD per share.
        volume: shares traded in the bar.
        interval_seconds: bar length in seconds (60 for 1m, 300 for 5m, 86400 for 1d).
    """

    symbol: str
    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    volume: int
    interval_seconds: int = 60

    @property
    def end(self) -> datetime:
        """Bar close time (start + interval), tz-aware UTC."""
        return self.timestamp + timedelta(seconds=self.interval_seconds)


@dataclass(slots=True, frozen=True)
class Tick:
    """One trade print (e.g. from Finnhub's ``trade`` stream).

    Attributes:
        symbol: ticker.
        timestamp: trade time, tz-aware UTC (Finnhub sends UNIX milliseconds).
        price: trade price in USD per share.
        size: shares traded (0 for a price-only update).
        conditions: exchange trade-condition codes, e.g. ``("1", "12")``.
    """

    symbol: str
    timestamp: datetime
    price: float
    size: int
    conditions: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class Signal:
    """A strategy's request to open or close a position.

    Attributes:
        symbol: ticker.
        action: open long, open short or close.
        timestamp: close time of the bar that produced the signal, tz-aware UTC.
        price: the signal bar's close in USD per share (the expected entry for sizing).
        stop_price: protective stop in USD per share for entries; ``None`` for closes.
        take_profit_price: target in USD per share, if the strategy sets one.
        exit_reason: why a ``close`` signal was raised.
        strategy: name of the strategy that produced it.
    """

    symbol: str
    action: SignalAction
    timestamp: datetime
    price: float
    stop_price: float | None = None
    take_profit_price: float | None = None
    exit_reason: ExitReason | None = None
    strategy: str = ""


@dataclass(slots=True, frozen=True)
class Fill:
    """An execution of (part of) an order.

    Attributes:
        order_id: the order this fill belongs to.
        symbol: ticker.
        side: buy or sell.
        quantity: shares filled (> 0).
        price: execution price in USD per share, slippage included.
        timestamp: execution time, tz-aware UTC.
        commission: fee charged for this fill in USD (>= 0).
        slippage_cost: USD lost to slippage on this fill versus the reference price (>= 0).
        fill_id: unique id of this fill.
    """

    order_id: str
    symbol: str
    side: OrderSide
    quantity: int
    price: float
    timestamp: datetime
    commission: float = 0.0
    slippage_cost: float = 0.0
    fill_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        require_quantity("fill quantity", self.quantity)
        require_price("fill price", self.price)
        require_aware("fill timestamp", self.timestamp)
        if not math.isfinite(self.commission) or self.commission < 0:
            raise InvalidInputError(f"commission={self.commission!r}; expected a finite USD >= 0")


@dataclass(slots=True)
class Order:
    """An order and its lifecycle.

    Attributes:
        symbol: ticker.
        side: buy or sell.
        quantity: shares ordered (> 0).
        order_type: market, limit, stop or stop-limit.
        created_at: creation time, tz-aware UTC.
        limit_price: limit in USD per share (limit and stop-limit orders).
        stop_price: trigger in USD per share (stop and stop-limit orders).
        time_in_force: ``day`` orders expire at the session close.
        id: unique order id.
        client_order_id: idempotency key the caller chooses; defaults to ``id``.
        parent_id: the entry order of a bracket, for its stop-loss and take-profit legs.
        status: current lifecycle state.
        updated_at: time of the last change, tz-aware UTC.
        reject_reason: why the order was rejected, when it was.
        fills: executions so far, oldest first.
        filled_quantity: shares filled so far.
        average_fill_price: volume-weighted fill price in USD per share (0.0 before any fill).
        history: ``(status, time)`` for every transition, oldest first.
    """

    symbol: str
    side: OrderSide
    quantity: int
    order_type: OrderType
    created_at: datetime
    limit_price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    client_order_id: str = ""
    parent_id: str | None = None
    status: OrderStatus = OrderStatus.PENDING
    updated_at: datetime | None = None
    reject_reason: str | None = None
    fills: list[Fill] = field(default_factory=list)
    filled_quantity: int = 0
    average_fill_price: float = 0.0
    history: list[tuple[OrderStatus, datetime]] = field(default_factory=list)

    def __post_init__(self) -> None:
        require_quantity("order quantity", self.quantity)
        require_aware("order created_at", self.created_at)
        if self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            require_price("limit_price", self.limit_price if self.limit_price is not None else -1)
        if self.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            require_price("stop_price", self.stop_price if self.stop_price is not None else -1)
        if not self.client_order_id:
            self.client_order_id = self.id
        if self.updated_at is None:
            self.updated_at = self.created_at
        if not self.history:
            self.history.append((self.status, self.created_at))

    @property
    def remaining_quantity(self) -> int:
        """Shares still to fill."""
        return self.quantity - self.filled_quantity

    @property
    def is_complete(self) -> bool:
        """True once the order is filled, cancelled, rejected or expired."""
        return self.status.is_terminal

    def transition(self, target: OrderStatus, at: datetime, reason: str | None = None) -> None:
        """Move to ``target`` at time ``at``.

        Raises:
            InvalidTransitionError: the lifecycle forbids ``status -> target``.
        """
        if not can_transition(self.status, target):
            raise InvalidTransitionError(
                f"order {self.id} ({self.symbol}): {self.status.value} -> {target.value} is not "
                f"allowed; allowed from {self.status.value}: "
                f"{sorted(s.value for s in ORDER_TRANSITIONS[self.status]) or 'none (terminal)'}"
            )
        self.status = target
        self.updated_at = require_aware("transition time", at)
        if target is OrderStatus.REJECTED:
            self.reject_reason = reason
        self.history.append((target, at))

    def add_fill(self, fill: Fill) -> None:
        """Record an execution and move to partially filled or filled.

        Raises:
            InvalidInputError: the fill is for another order or exceeds the remaining quantity.
            InvalidTransitionError: the order is not in a state that can fill.
        """
        if fill.order_id != self.id:
            raise InvalidInputError(f"fill for order {fill.order_id} applied to order {self.id}")
        if fill.quantity > self.remaining_quantity:
            raise InvalidInputError(
                f"fill of {fill.quantity} shares exceeds the {self.remaining_quantity} remaining "
                f"on order {self.id}"
            )
        total = self.filled_quantity + fill.quantity
        target = OrderStatus.FILLED if total == self.quantity else OrderStatus.PARTIALLY_FILLED
        self.transition(target, fill.timestamp)
        notional = self.average_fill_price * self.filled_quantity + fill.price * fill.quantity
        self.filled_quantity = total
        self.average_fill_price = notional / total
        self.fills.append(fill)


@dataclass(slots=True)
class Position:
    """Net holding in one symbol, updated fill by fill (average-cost method).

    Attributes:
        symbol: ticker.
        quantity: signed shares; > 0 long, < 0 short, 0 flat.
        average_price: average entry price of the open quantity in USD per share (0.0 when flat).
        realized_pnl: USD realized by reducing fills, before fees.
        fees: USD commissions paid on all fills of this position.
        last_price: latest mark in USD per share, used for unrealized P&L.
    """

    symbol: str
    quantity: int = 0
    average_price: float = 0.0
    realized_pnl: float = 0.0
    fees: float = 0.0
    last_price: float | None = None

    @property
    def side(self) -> PositionSide | None:
        """Long, short, or ``None`` when flat."""
        if self.quantity == 0:
            return None
        return PositionSide.LONG if self.quantity > 0 else PositionSide.SHORT

    @property
    def unrealized_pnl(self) -> float:
        """USD P&L of the open quantity at ``last_price`` (0.0 when flat or unmarked)."""
        if self.quantity == 0 or self.last_price is None:
            return 0.0
        return (self.last_price - self.average_price) * self.quantity

    @property
    def net_realized_pnl(self) -> float:
        """Realized P&L minus fees, in USD."""
        return self.realized_pnl - self.fees

    def apply_fill(self, side: OrderSide, quantity: int, price: float, fee: float = 0.0) -> float:
        """Apply one execution and return the USD realized by it (before fees).

        Adding to a position moves the average price; reducing realizes
        ``closed_shares * (price - average_price) * direction``; a fill larger
        than the position flips it, the excess opening at ``price``.

        Raises:
            InvalidInputError: quantity or price is invalid.
        """
        require_quantity("quantity", quantity)
        require_price("price", price)
        signed = quantity * side.sign
        self.fees += fee
        self.last_price = price
        if self.quantity == 0 or (self.quantity > 0) == (signed > 0):
            held = abs(self.quantity)
            self.average_price = (held * self.average_price + quantity * price) / (held + quantity)
            self.quantity += signed
            return 0.0
        closed = min(quantity, abs(self.quantity))
        direction = 1 if self.quantity > 0 else -1
        realized = closed * (price - self.average_price) * direction
        self.realized_pnl += realized
        self.quantity += signed
        if self.quantity == 0:
            self.average_price = 0.0
        elif (self.quantity > 0) != (direction > 0):
            self.average_price = price
        return realized


@dataclass(slots=True)
class Trade:
    """A round trip: an entry and (once closed) its exit.

    Attributes:
        symbol: ticker.
        side: long or short.
        quantity: shares (> 0).
        entry_time: entry fill time, tz-aware UTC.
        entry_price: average entry fill price in USD per share.
        strategy: name of the strategy that opened it.
        exit_time: exit fill time, tz-aware UTC (``None`` while open).
        exit_price: average exit fill price in USD per share (``None`` while open).
        fees: USD commissions for entry and exit.
        slippage_cost: USD lost to slippage on entry and exit.
        exit_reason: why it was closed.
        id: database id once stored.
    """

    symbol: str
    side: PositionSide
    quantity: int
    entry_time: datetime
    entry_price: float
    strategy: str = ""
    exit_time: datetime | None = None
    exit_price: float | None = None
    fees: float = 0.0
    slippage_cost: float = 0.0
    exit_reason: ExitReason | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        require_quantity("trade quantity", self.quantity)
        require_price("entry_price", self.entry_price)
        require_aware("entry_time", self.entry_time)
        if self.exit_price is not None:
            require_price("exit_price", self.exit_price)
        if self.exit_time is not None:
            require_aware("exit_time", self.exit_time)
        for name in ("fees", "slippage_cost"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise InvalidInputError(f"{name}={value!r}; expected a finite USD amount >= 0")

    @property
    def is_closed(self) -> bool:
        """True once the exit is known."""
        return self.exit_price is not None

    @property
    def gross_pnl(self) -> float | None:
        """USD P&L before fees: ``(exit - entry) * quantity * direction``; None while open."""
        if self.exit_price is None:
            return None
        return (self.exit_price - self.entry_price) * self.quantity * self.side.sign

    @property
    def pnl(self) -> float | None:
        """USD P&L after fees; None while open."""
        gross = self.gross_pnl
        return None if gross is None else gross - self.fees

    @property
    def pnl_pct(self) -> float | None:
        """Net P&L as a percentage of the entry notional (``entry_price * quantity``)."""
        pnl = self.pnl
        return None if pnl is None else pnl / (self.entry_price * self.quantity) * 100.0

    def close(
        self,
        exit_time: datetime,
        exit_price: float,
        reason: ExitReason,
        fees: float = 0.0,
        slippage_cost: float = 0.0,
    ) -> None:
        """Record the exit; ``fees`` and ``slippage_cost`` (USD) are added to the entry's.

        Raises:
            InvalidInputError: bad price or naive time, or the trade is already closed.
        """
        if self.is_closed:
            raise InvalidInputError(f"trade {self.id} ({self.symbol}) is already closed")
        self.exit_time = require_aware("exit_time", exit_time)
        self.exit_price = require_price("exit_price", exit_price)
        self.exit_reason = reason
        self.fees += fees
        self.slippage_cost += slippage_cost
