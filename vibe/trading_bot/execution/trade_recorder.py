"""TradeRecorder: fills -> portfolio -> round-trip trades -> metrics and alerts.

Subscribed to the order manager, so it only sees events already persisted.
Round trips (see :mod:`.round_trip`) are stored in the :class:`TradeStore`:
inserted at the first entry fill (when the take-profit leg is also re-priced
from the fill with :func:`~vibe.common.risk.exit_levels`, or cancelled
when the fill is already beyond the stop), updated on further entry fills, and
closed once the exit fills cover the entry, with both legs' fees and slippage
cost in USD and the exit reason of the order that completed the exit.

Crash safety: the recorder is a *booker* of the order manager
(:meth:`OrderManager.subscribe_booking`), so everything a fill implies (the
trade row inserted, updated or closed, the take-profit re-priced or cancelled,
the unfilled entry remainder cancelled) is written in the same transaction as
the fill itself. A ``kill -9`` between two commits therefore never leaves a
stored fill without its booking (or the reverse), and a restart rebuilds the
round trips from consistent rows. Alerts and metrics are deferred until the
unit has committed (:meth:`OrderManager.after_commit`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from vibe.common.models import ExitReason, Fill, Order, Trade
from vibe.common.risk import exit_levels
from vibe.trading_bot.exchange.base import OrderEvent, OrderEventKind
from vibe.trading_bot.exchange.mock_exchange import INSUFFICIENT_CASH_AT_FILL
from vibe.trading_bot.execution.order_manager import OrderManager
from vibe.trading_bot.execution.portfolio import Portfolio
from vibe.trading_bot.execution.reporting import ExecutionReporter
from vibe.trading_bot.execution.round_trip import RoundTrip, totals
from vibe.trading_bot.notifications.payloads import (
    Alert,
    OrderCancelledAlert,
    OrderFilledAlert,
    OrderRejectedAlert,
    PositionClosedAlert,
)
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)
_FINISHED = (OrderEventKind.CANCELLED, OrderEventKind.EXPIRED)


class TradeRecorder:
    """Books fills into the portfolio and the round trips, and reports them.

    Args:
        orders: the order manager (for leg amendments/cancels; trades go to its store).
        portfolio: the book updated by every fill.
        trips: round trips in progress by symbol (shared with the executor).
        reporter: alert queue and metrics buffer.
        take_profit_r: take-profit distance in multiples of R.
        on_error: called with a message for execution errors (the circuit breaker).
    """

    def __init__(
        self,
        orders: OrderManager,
        portfolio: Portfolio,
        trips: dict[str, RoundTrip],
        reporter: ExecutionReporter,
        take_profit_r: float,
        on_error: Callable[[str], None],
    ) -> None:
        self._orders = orders
        self._store = orders.store
        self.portfolio = portfolio
        self._trips = trips
        self._reporter = reporter
        self._take_profit_r = take_profit_r
        self._on_error = on_error
        #: symbols whose entry (or its rest) the venue cancelled at the fill for want of cash
        self.refused_at_fill: list[str] = []

    def on_event(self, event: OrderEvent) -> None:
        """Book one stored order event, inside its unit of work (the manager's booker)."""
        if event.fill is not None:
            self._on_fill(event.order, event.fill)
        elif event.kind in _FINISHED:
            self._on_finished(event)
        elif event.kind is OrderEventKind.REJECTED:
            order = event.order
            self._alert(
                OrderRejectedAlert,
                timestamp=event.timestamp,
                order_id=order.id,
                symbol=order.symbol,
                side=order.side,
                quantity=order.quantity,
                reason=event.reason or "rejected",
            )

    def _alert(self, build: Callable[..., Alert], /, *args: Any, **fields: Any) -> None:
        """Build and queue an alert once the unit has committed (never fatal, see reporter)."""
        self._orders.after_commit(partial(self._reporter.alert_from, build, *args, **fields))

    def _metric(self, kind: str, name: str, value: float, symbol: str, **dims: str) -> None:
        self._orders.after_commit(partial(self._reporter.metric, kind, name, value, symbol, **dims))

    def _on_fill(self, order: Order, fill: Fill) -> None:
        self.portfolio.apply_fill(fill)
        self._metric("execution", "slippage_cost_usd", fill.slippage_cost, fill.symbol)
        self._metric("execution", "commission_usd", fill.commission, fill.symbol)
        reference = fill.price - order.side.sign * fill.slippage_cost / fill.quantity
        self._alert(
            OrderFilledAlert,
            timestamp=fill.timestamp,
            order_id=order.id,
            symbol=order.symbol,
            side=order.side,
            quantity=fill.quantity,
            fill_price=fill.price,
            expected_price=reference,
            commission=fill.commission,
        )
        trip = self._trips.get(order.symbol)
        if trip is None:
            _log.warning("fill outside any round trip", order_id=order.id, symbol=order.symbol)
        elif order.id == trip.entry_id:
            self._entry_filled(trip, fill)
        else:
            trip.exit_fills.append(fill)
            self._maybe_close(trip, order)

    def _entry_filled(self, trip: RoundTrip, fill: Fill) -> None:
        first = not trip.entry_fills
        trip.entry_fills.append(fill)
        if not first and trip.trade is not None and trip.trade.id is not None:
            done = totals(trip.entry_fills)
            trip.trade = self._store.update_trade(
                trip.trade.id,
                quantity=done.quantity,
                entry_price=done.average_price,
                fees=done.fees,
                slippage_cost=done.slippage_cost,
            )
            return
        with self._orders.unit_of_work():
            self._open_trade(trip, fill)

    def _open_trade(self, trip: RoundTrip, fill: Fill) -> None:
        levels = exit_levels(trip.side, fill.price, trip.stop_price, self._take_profit_r)
        target = self._orders.get(trip.target_id or "")
        if target is not None and not target.is_complete:
            if levels.stop_already_hit:
                self._orders.cancel(target.id, "stop already hit at the entry fill")
            else:
                self._orders.amend(target.id, limit_price=levels.take_profit_price)
        trade = Trade(
            trip.symbol,
            trip.side,
            fill.quantity,
            fill.timestamp,
            fill.price,
            trip.strategy,
            fees=fill.commission,
            slippage_cost=fill.slippage_cost,
        )
        self._store.insert_trade(trade)
        trip.trade = trade

    def _on_finished(self, event: OrderEvent) -> None:
        order = event.order
        trip = self._trips.get(order.symbol)
        if order.parent_id is None:
            self._alert(
                OrderCancelledAlert,
                timestamp=event.timestamp,
                order_id=order.id,
                symbol=order.symbol,
                side=order.side,
                quantity=order.quantity,
                filled_quantity=order.filled_quantity,
                reason=event.reason or event.kind.value,
            )
        if trip is None:
            return
        if order.id == trip.entry_id and event.reason == INSUFFICIENT_CASH_AT_FILL:
            self._orders.after_commit(partial(self.refused_at_fill.append, order.symbol))
        if order.id == trip.entry_id:
            if not trip.entry_fills:
                del self._trips[order.symbol]
            else:
                self._maybe_close(trip, None)
        elif order.id == trip.close_id and self.portfolio.position(order.symbol) is not None:
            self._on_error(
                f"close of {order.symbol} {event.kind.value}; the position is still open"
            )

    def _maybe_close(self, trip: RoundTrip, order: Order | None) -> None:
        entered = totals(trip.entry_fills)
        exited = totals(trip.exit_fills)
        if entered.quantity == 0 or exited.quantity < entered.quantity:
            return
        entry = self._orders.get(trip.entry_id)
        if entry is not None and not entry.is_complete:
            self._orders.cancel(entry.id, "position closed")  # re-enters via _on_finished
            return
        if trip.trade is None or trip.trade.id is None or self._trips.get(trip.symbol) is not trip:
            return
        last = trip.exit_fills[-1]
        closing = order or self._orders.get(last.order_id)
        reason = trip.exit_reason(closing) if closing is not None else ExitReason.MANUAL
        del self._trips[trip.symbol]
        trade = self._store.update_trade(
            trip.trade.id,
            quantity=entered.quantity,
            entry_price=entered.average_price,
            exit_time=last.timestamp,
            exit_price=exited.average_price,
            exit_reason=reason,
            fees=entered.fees + exited.fees,
            slippage_cost=entered.slippage_cost + exited.slippage_cost,
        )
        self._alert(PositionClosedAlert.from_trade, trade)
        self._metric(
            "trading", "trade_pnl_usd", trade.pnl or 0.0, trade.symbol, reason=reason.value
        )
        self._metric("trading", "equity_usd", self.portfolio.equity, "")
