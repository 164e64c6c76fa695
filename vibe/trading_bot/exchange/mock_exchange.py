"""The paper exchange: a real ``Exchange`` driven by bars and the injected clock.

Fill rules (prices before slippage are in :mod:`.fill_rules`):

* A market order fills at the open of the first bar that starts at or after
  its submission, plus slippage. Stops fill at the stop (or the open when the
  bar gaps through it) plus slippage; limits fill at the limit (or the open
  when the bar opens beyond it) with no slippage.
* Brackets: :meth:`MockExchange.submit_bracket` holds a stop-loss and an
  optional take-profit as one-cancels-other children of the entry. They are
  live from the bar in which the entry fills: the entry fills at that bar's
  open, so the rest of the bar can trigger them. Their quantity follows the
  entry's filled quantity. **When one bar reaches both the stop and the
  take-profit, the stop is assumed to fill first** (the pessimistic choice;
  intrabar order is unknowable from OHLC), and the sibling is not filled in
  the same bar.
* At most ``max_volume_participation`` of a bar's volume fills per bar, shared
  by that symbol's orders in submission order; the rest stays working.
* Day orders expire when :meth:`MockExchange.expire_day_orders` is called at
  the session close (the driver knows early closes).
* Rejections are returned, never raised: ``quantity_not_positive``,
  ``price_not_finite``, ``unknown_symbol``, ``market_closed``,
  ``insufficient_buying_power``.
* Buying power is a cash account's: equity minus the gross value of open
  positions and of working orders that add exposure (no margin). It is checked
  when an order is submitted (at the last close) and again when an order that
  adds exposure fills (at the fill price plus commission): if the cash then
  pays for fewer shares (a gap beyond the sizing's price collar), only those
  fill and the rest is cancelled as ``insufficient_buying_power_at_fill``; with
  none affordable the whole order is cancelled so. Positions are thus never
  worth more than the equity.
* Commission is per order: each fill is charged ``fee(cumulative) - charged``.

Listeners are called synchronously, in order, after the order object changed;
an exception in a listener propagates to the caller (persistence failures must
not pass silently).

why-large: one matching engine over one order book (working orders, brackets, cash);
fill prices, slippage and commission are separate modules (fill_rules, slippage,
commission).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from vibe.common.clock import Clock
from vibe.common.errors import InvalidInputError, OrderRejectedError
from vibe.common.models import (
    Bar,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Position,
    TimeInForce,
)
from vibe.trading_bot.exchange.base import Account, OrderEvent, OrderEventKind, OrderListener
from vibe.trading_bot.exchange.commission import CommissionModel
from vibe.trading_bot.exchange.fill_rules import reference_fill_price, stop_triggered
from vibe.trading_bot.exchange.quiet_band import quiet_band
from vibe.trading_bot.exchange.slippage import SlippageModel, slippage_cost

#: Why an entry (or its rest) is cancelled at the fill: the cash does not pay for it.
INSUFFICIENT_CASH_AT_FILL = "insufficient_buying_power_at_fill"

_STATUS_EVENT = {
    OrderStatus.FILLED: OrderEventKind.FILLED,
    OrderStatus.PARTIALLY_FILLED: OrderEventKind.PARTIALLY_FILLED,
}


@dataclass(slots=True)
class _Working:
    order: Order
    active: bool = True
    triggered: bool = False
    fees_charged: float = 0.0


class MockExchange:
    """Simulated venue with bar-driven fills, slippage, commission and partial fills.

    Args:
        clock: source of submission/cancel times.
        slippage: moves fill prices against the trader.
        commission: fee per order in USD.
        initial_cash: starting cash in USD.
        max_volume_participation: fraction (0, 1] of a bar's volume that may fill per bar.
        symbols: tradable symbols; ``None`` accepts any.
        is_market_open: ``ts -> bool``; ``None`` treats the market as always open.
    """

    def __init__(
        self,
        clock: Clock,
        slippage: SlippageModel,
        commission: CommissionModel,
        initial_cash: float,
        max_volume_participation: float = 0.10,
        symbols: Collection[str] | None = None,
        is_market_open: Callable[[datetime], bool] | None = None,
    ) -> None:
        self._clock = clock
        self._slippage = slippage
        self._commission = commission
        self._participation = max_volume_participation
        self._symbols = frozenset(symbols) if symbols is not None else None
        self._is_open = is_market_open
        self.cash = float(initial_cash)
        self.positions: dict[str, Position] = {}
        self._orders: dict[str, Order] = {}
        self._working: dict[str, list[_Working]] = {}
        self._children: dict[str, list[_Working]] = {}
        self._last_price: dict[str, float] = {}
        self._listeners: list[OrderListener] = []
        self._filled_through: dict[str, datetime] = {}  # restored: bars already matched
        self._quiet: dict[str, tuple[float, float]] = {}  # per symbol, see quiet_band

    # ---- interface (exchange.base.BarVenue) ------------------------------------
    def add_listener(self, listener: OrderListener) -> None:
        """Call ``listener(event)`` for every order event, in order."""
        self._listeners.append(listener)

    # ---- orders ------------------------------------------------------------------
    def order(self, order_id: str) -> Order:
        """The order with ``order_id``.

        Raises:
            OrderRejectedError: reason ``unknown_order`` when no such order exists.
        """
        try:
            return self._orders[order_id]
        except KeyError:
            raise OrderRejectedError("unknown_order", f"order_id={order_id!r}") from None

    def submit(self, order: Order) -> Order:
        """Accept or reject a pending order; returns it in its new state."""
        now = self._clock.now()
        self._orders[order.id] = order
        order.transition(OrderStatus.SUBMITTED, now)
        reason = self._rejection_reason(order, now)
        if reason is not None:
            self._reject(order, now, reason)
            return order
        order.transition(OrderStatus.ACCEPTED, now)
        self._working.setdefault(order.symbol, []).append(_Working(order))
        self._emit(OrderEvent(OrderEventKind.ACCEPTED, order, now))
        return order

    def submit_bracket(
        self, entry: Order, stop_price: float, take_profit_price: float | None = None
    ) -> tuple[Order, Order | None, Order | None]:
        """Submit ``entry`` with a stop-loss and optional take-profit (one-cancels-other).

        Returns:
            ``(entry, stop_loss, take_profit)``; the children are ``None`` when the
            entry is rejected (or when no take-profit was asked for).
        """
        prices = [stop_price] + ([take_profit_price] if take_profit_price is not None else [])
        if not all(math.isfinite(p) and p > 0 for p in prices):
            now = self._clock.now()
            self._orders[entry.id] = entry
            entry.transition(OrderStatus.SUBMITTED, now)
            self._reject(entry, now, "price_not_finite")
            return entry, None, None
        self.submit(entry)
        if entry.status is OrderStatus.REJECTED:
            return entry, None, None
        stop = self._add_child(entry, OrderType.STOP, stop_price=stop_price)
        target = None
        if take_profit_price is not None:
            target = self._add_child(entry, OrderType.LIMIT, limit_price=take_profit_price)
        return entry, stop, target

    def amend(
        self, order_id: str, limit_price: float | None = None, stop_price: float | None = None
    ) -> Order:
        """Change the limit and/or stop price of a working order.

        Raises:
            OrderRejectedError: ``unknown_order``, ``not_working`` or ``price_not_finite``.
        """
        order = self.order(order_id)
        if order.is_complete:
            raise OrderRejectedError("not_working", f"order {order_id} is {order.status.value}")
        for name, value in (("limit_price", limit_price), ("stop_price", stop_price)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise OrderRejectedError("price_not_finite", f"{name}={value!r}")
        if limit_price is not None:
            order.limit_price = limit_price
        if stop_price is not None:
            order.stop_price = stop_price
        self._emit(OrderEvent(OrderEventKind.AMENDED, order, self._clock.now()))
        return order

    def cancel(self, order_id: str, reason: str = "cancelled") -> Order:
        """Cancel a working order (and an unfilled bracket's children); returns it.

        A complete order is returned unchanged.

        Raises:
            OrderRejectedError: ``unknown_order``.
        """
        order = self.order(order_id)
        if not order.is_complete:
            self._finish(order, OrderStatus.CANCELLED, self._clock.now(), reason)
        return order

    def expire_day_orders(self, at: datetime) -> list[Order]:
        """Expire every working day order at the session close ``at``; returns them."""
        expired = [
            w.order
            for items in self._working.values()
            for w in items
            if w.order.time_in_force is TimeInForce.DAY
        ]
        for order in expired:
            if not order.is_complete:
                self._finish(order, OrderStatus.EXPIRED, at, "day order expired at the close")
        return expired

    # ---- restart -----------------------------------------------------------------
    def restore(
        self,
        orders: Collection[Order],
        positions: Collection[Position],
        cash: float,
        filled_through: Mapping[str, datetime] | None = None,
    ) -> None:
        """Re-seed an empty exchange with persisted working orders, positions and cash.

        A real venue keeps its orders across our restart; this in-memory one does
        not, so the builder calls this with the store's view (open orders, positions
        rebuilt from fills, cash from fills) before the order manager reconciles.
        Orders are added in the given order (their matching priority) as they are:
        no event is emitted. A bracket leg (``parent_id`` set) joins its parent's
        one-cancels-other group and is live unless its parent is restored too with
        nothing filled yet. Fees already charged on an order are taken from its
        fills; a stop-limit's "stop triggered" flag is not persisted and restarts
        as not triggered.

        A bar the previous run already matched may be fed again after a restart
        (the resume cursor moves after the whole bar group). Its fills are stored
        as one unit per symbol and bar, so ``filled_through`` (per symbol, the
        time of the latest stored fill) says which bars were matched: a bar that
        starts at or before it is only used to mark positions, never matched
        again (no fill twice, and no volume capacity counted twice).

        Args:
            orders: working orders (accepted or partially filled), oldest first.
            positions: open positions (``last_price`` is kept as the mark).
            cash: cash balance in USD.
            filled_through: per symbol, the timestamp of the latest stored fill (UTC).

        Raises:
            InvalidInputError: an order is not working (pending or complete), or the
                exchange already holds orders or positions.
        """
        if self._orders or any(p.quantity for p in self.positions.values()):
            raise InvalidInputError("restore() needs an empty exchange; it already holds state")
        pending_parents = {o.id for o in orders if o.parent_id is None and o.filled_quantity == 0}
        for order in orders:
            if order.status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
                raise InvalidInputError(
                    f"order {order.id} is {order.status.value}; expected accepted or"
                    " partially_filled to restore it as working"
                )
            active = order.parent_id is None or order.parent_id not in pending_parents
            fees = sum(f.commission for f in order.fills)
            item = _Working(order, active=active, fees_charged=fees)
            self._orders[order.id] = order
            self._working.setdefault(order.symbol, []).append(item)
            if order.parent_id is not None:
                self._children.setdefault(order.parent_id, []).append(item)
        self._filled_through = dict(filled_through or {})
        self._quiet.clear()
        for position in positions:
            self.positions[position.symbol] = position
            if position.last_price is not None:
                self._last_price[position.symbol] = position.last_price
        self.cash = float(cash)

    # ---- account -----------------------------------------------------------------
    def account(self) -> Account:
        """Cash, equity (positions marked at the last close) and buying power, USD."""
        equity, free = self._equity_and_free_cash()
        return Account(self.cash, equity, max(0.0, free))

    def _equity_and_free_cash(self, excluding: Order | None = None) -> tuple[float, float]:
        """Equity and ``equity - gross positions - reserved`` (USD), ``excluding`` one order."""
        gross = 0.0
        value = 0.0
        for pos in self.positions.values():
            if pos.quantity:
                mark = pos.last_price if pos.last_price is not None else pos.average_price
                value += pos.quantity * mark
                gross += abs(pos.quantity) * mark
        equity = self.cash + value
        reserved = sum(
            self._added_exposure(w.order)
            for ws in self._working.values()
            for w in ws
            if w.order is not excluding
        )
        return equity, equity - gross - reserved

    # ---- bars --------------------------------------------------------------------
    def process_bar(self, bar: Bar) -> list[Fill]:
        """Mark positions to ``bar.close`` and fill what ``bar`` allows; returns the fills."""
        working = self._working.get(bar.symbol)
        fills: list[Fill] = []
        if working and self._unmatched(bar):
            fills = self._match(bar, working)
            self._quiet.pop(bar.symbol, None)  # a stop-limit may have triggered
        self.mark_bar(bar)  # after matching: a fill may have opened the position
        return fills

    def mark_bar(self, bar: Bar) -> None:
        """Mark ``bar.symbol``'s position to ``bar.close`` without matching any order.

        :meth:`process_bar` for a bar where :meth:`may_fill` is False.
        """
        symbol, close = bar.symbol, bar.close
        self._last_price[symbol] = close
        position = self.positions.get(symbol)
        if position is not None:
            position.last_price = close

    def may_fill(self, bar: Bar) -> bool:
        """True when :meth:`process_bar` could fill or change a working order of ``bar.symbol``.

        False means the bar cannot touch the book: its range stays strictly inside
        the symbol's quiet band (:meth:`quiet_band`), or the bar was already
        matched (a restored cursor). Callers use it to skip the unit of work and
        the matching of the many bars of a held position that reach neither its
        stop nor its take-profit; the fills are the same either way (True may be
        returned for a bar that then fills nothing).
        """
        low, high = self.quiet_band(bar.symbol)
        if bar.low > low and bar.high < high:
            return False
        return self._unmatched(bar)

    def quiet_band(self, symbol: str) -> tuple[float, float]:
        """``(low, high)`` USD: a bar strictly inside it fills none of ``symbol``'s orders.

        See :func:`~vibe.trading_bot.exchange.quiet_band.quiet_band` (from the active
        working orders); cached per symbol until the book changes (every order event,
        a restore, a matched bar, legs activated by an entry's fill).
        """
        band = self._quiet.get(symbol)
        if band is None:
            working = self._working.get(symbol, ())
            band = quiet_band((w.order, w.triggered) for w in working if w.active)
            self._quiet[symbol] = band
        return band

    def _unmatched(self, bar: Bar) -> bool:
        through = self._filled_through.get(bar.symbol)
        return through is None or bar.timestamp > through

    def fill_market_orders_at_close(self, bar: Bar) -> list[Fill]:
        """Fill ``bar.symbol``'s working market orders at ``bar.close`` (plus slippage).

        For the last bar of a session when no further bar will come: closing
        orders must not be carried overnight. No volume limit applies.
        """
        fills = []
        for w in list(self._working.get(bar.symbol, [])):
            order = w.order
            if w.active and order.order_type is OrderType.MARKET and not order.is_complete:
                price = self._slippage.execution_price(
                    order.side, bar.close, order.remaining_quantity, bar
                )
                fills.append(self._execute(w, order.remaining_quantity, bar.close, price, bar.end))
        return fills

    def _match(self, bar: Bar, working: list[_Working]) -> list[Fill]:
        capacity = int(bar.volume * self._participation)
        fills: list[Fill] = []
        oco_done: set[str] = set()
        for w in list(working):
            order = w.order
            if order.is_complete or not w.active or capacity <= 0:
                continue
            if order.parent_id is not None and order.parent_id in oco_done:
                continue
            fill = self._try_fill(w, bar, capacity)
            if fill is not None:
                fills.append(fill)
                capacity -= fill.quantity
                if order.parent_id is not None:
                    oco_done.add(order.parent_id)
        return fills

    def _try_fill(self, w: _Working, bar: Bar, capacity: int) -> Fill | None:
        order = w.order
        if order.order_type is OrderType.MARKET and order.created_at > bar.timestamp:
            return None  # submitted during this bar: fills at the next bar's open
        reference = reference_fill_price(order, bar, w.triggered)
        if order.order_type is OrderType.STOP_LIMIT and order.stop_price is not None:
            w.triggered = w.triggered or stop_triggered(order.side, order.stop_price, bar)
        if reference is None:
            return None
        quantity = min(order.remaining_quantity, capacity)
        price = self._execution_price(order, reference, quantity, bar)
        if order.parent_id is None and self._new_shares(order, quantity):
            affordable = self._affordable(w, quantity, price)
            if affordable < quantity:
                return self._fill_what_cash_allows(w, affordable, reference, bar)
        return self._execute(w, quantity, reference, price, bar.timestamp)

    def _execution_price(self, order: Order, reference: float, quantity: int, bar: Bar) -> float:
        if order.order_type in (OrderType.MARKET, OrderType.STOP):
            return self._slippage.execution_price(order.side, reference, quantity, bar)
        return reference

    def _new_shares(self, order: Order, quantity: int) -> int:
        """Shares of new gross exposure that filling ``quantity`` of ``order`` would add."""
        held = self.positions.get(order.symbol)
        current = held.quantity if held is not None else 0
        return max(0, abs(current + order.side.sign * quantity) - abs(current))

    def _affordable(self, w: _Working, quantity: int, price: float) -> int:
        """The most of ``quantity`` the free cash pays for at ``price`` plus commission."""
        order = w.order
        _, free = self._equity_and_free_cash(excluding=order)
        shares = min(quantity, max(0, math.floor(free / price))) if price > 0 else 0
        while shares > 0:
            fee = self._commission.fee(order.filled_quantity + shares, price) - w.fees_charged
            if self._new_shares(order, shares) * price + max(0.0, fee) <= free:
                break
            shares -= 1
        return shares

    def _fill_what_cash_allows(
        self, w: _Working, quantity: int, reference: float, bar: Bar
    ) -> Fill | None:
        """Fill ``quantity`` (may be 0), then cancel the rest: no margin, never negative cash."""
        order = w.order
        fill = None
        if quantity > 0:
            price = self._execution_price(order, reference, quantity, bar)
            fill = self._execute(w, quantity, reference, price, bar.timestamp)
        if not order.is_complete:
            self._finish(order, OrderStatus.CANCELLED, bar.timestamp, INSUFFICIENT_CASH_AT_FILL)
        return fill

    def _execute(
        self, w: _Working, quantity: int, reference: float, price: float, at: datetime
    ) -> Fill:
        order = w.order
        total_fee = self._commission.fee(order.filled_quantity + quantity, price)
        fee = max(0.0, total_fee - w.fees_charged)
        w.fees_charged += fee
        fill = Fill(
            order.id, order.symbol, order.side, quantity, price, at, fee,
            slippage_cost(reference, price, quantity),
        )  # fmt: skip
        order.add_fill(fill)
        self.cash -= order.side.sign * quantity * price + fee
        self.positions.setdefault(order.symbol, Position(order.symbol)).apply_fill(
            order.side, quantity, price, fee
        )
        if order.is_complete:
            self._remove(order)
        self._emit(OrderEvent(_STATUS_EVENT[order.status], order, at, fill=fill))
        self._after_fill(order, at)
        return fill

    # ---- brackets ------------------------------------------------------------------
    def _add_child(
        self,
        entry: Order,
        kind: OrderType,
        stop_price: float | None = None,
        limit_price: float | None = None,
    ) -> Order:
        now = self._clock.now()
        child = Order(
            entry.symbol, entry.side.opposite, entry.quantity, kind, now,
            limit_price=limit_price, stop_price=stop_price,
            time_in_force=entry.time_in_force, parent_id=entry.id,
        )  # fmt: skip
        self._orders[child.id] = child
        child.transition(OrderStatus.SUBMITTED, now)
        child.transition(OrderStatus.ACCEPTED, now)
        item = _Working(child, active=False)
        self._children.setdefault(entry.id, []).append(item)
        self._working[entry.symbol].append(item)
        self._emit(OrderEvent(OrderEventKind.ACCEPTED, child, now))
        return child

    def _after_fill(self, order: Order, at: datetime) -> None:
        children = self._children.get(order.id)
        if children:  # an entry filled: its children protect what is filled so far
            self._quiet.pop(order.symbol, None)  # active legs change the band
            for child in children:
                if not child.order.is_complete:
                    child.active = True
                    self._resize(child.order, order.filled_quantity, at)
        elif order.parent_id is not None:
            self._shrink_sibling(order, at)

    def _shrink_sibling(self, filled_leg: Order, at: datetime) -> None:
        remaining = filled_leg.remaining_quantity
        for sibling in self._children.get(filled_leg.parent_id or "", []):
            other = sibling.order
            if other is filled_leg or other.is_complete:
                continue
            if remaining == 0:
                self._finish(other, OrderStatus.CANCELLED, at, "one-cancels-other")
            else:
                self._resize(other, other.filled_quantity + remaining, at)

    def _resize(self, order: Order, quantity: int, at: datetime) -> None:
        """Set a leg's quantity and announce it (``amended``) so that it is persisted."""
        if order.quantity != quantity:
            order.quantity = quantity
            self._emit(OrderEvent(OrderEventKind.AMENDED, order, at, reason="quantity"))

    # ---- helpers -------------------------------------------------------------------
    def _rejection_reason(self, order: Order, now: datetime) -> str | None:
        if order.quantity <= 0:
            return "quantity_not_positive"
        for value in (order.limit_price, order.stop_price):
            if value is not None and not (math.isfinite(value) and value > 0):
                return "price_not_finite"
        if self._symbols is not None and order.symbol not in self._symbols:
            return "unknown_symbol"
        if self._is_open is not None and not self._is_open(now):
            return "market_closed"
        added = self._added_exposure(order)
        if added > 0 and added > self.account().buying_power:
            return "insufficient_buying_power"
        return None

    def _added_exposure(self, order: Order) -> float:
        """USD of new gross exposure the order's remaining quantity would add."""
        if order.parent_id is not None:
            return 0.0
        held = self.positions.get(order.symbol)
        current = held.quantity if held is not None else 0
        after = current + order.side.sign * order.remaining_quantity
        shares = max(0, abs(after) - abs(current))
        price = order.limit_price or order.stop_price or self._last_price.get(order.symbol, 0.0)
        return shares * price

    def _reject(self, order: Order, now: datetime, reason: str) -> None:
        order.transition(OrderStatus.REJECTED, now, reason=reason)
        self._emit(OrderEvent(OrderEventKind.REJECTED, order, now, reason=reason))

    def _finish(self, order: Order, status: OrderStatus, at: datetime, reason: str) -> None:
        order.transition(status, at, reason=reason)
        self._remove(order)
        kind = (
            OrderEventKind.CANCELLED if status is OrderStatus.CANCELLED else OrderEventKind.EXPIRED
        )
        self._emit(OrderEvent(kind, order, at, reason=reason))
        for child in self._children.get(order.id, []):
            if order.filled_quantity == 0 and not child.order.is_complete:
                self._finish(child.order, status, at, f"parent {status.value}")

    def _remove(self, order: Order) -> None:
        items = self._working.get(order.symbol, [])
        self._working[order.symbol] = [w for w in items if w.order is not order]

    def _emit(self, event: OrderEvent) -> None:
        self._quiet.clear()  # every change of the book is announced
        for listener in self._listeners:
            listener(event)
