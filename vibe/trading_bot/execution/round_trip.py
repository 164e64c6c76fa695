"""One symbol's round trip in progress: its bracket orders and the fills on each side.

The executor keeps one :class:`RoundTrip` per symbol from the entry's submission
until the position is flat again. Trade figures are derived from the fills:
entry/exit price = volume-weighted fill price (USD per share), fees = sum of
commissions (USD), slippage cost = sum of the fills' slippage cost (USD).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vibe.common.models import ExitReason, Fill, Order, OrderType, PositionSide, Trade
from vibe.trading_bot.storage.trade_store import TradeStatus, TradeStore

_PURPOSE = re.compile(r"\d{8}T\d{12}Z-(?P<purpose>.+)$")


@dataclass(frozen=True, slots=True)
class FillTotals:
    """Aggregate of one side's fills.

    Attributes:
        quantity: shares filled.
        average_price: volume-weighted price, USD per share (0.0 without fills).
        fees: commissions, USD.
        slippage_cost: slippage cost, USD.
    """

    quantity: int
    average_price: float
    fees: float
    slippage_cost: float


def totals(fills: list[Fill]) -> FillTotals:
    """Sum ``fills`` into a :class:`FillTotals`."""
    quantity = sum(f.quantity for f in fills)
    notional = sum(f.quantity * f.price for f in fills)
    return FillTotals(
        quantity,
        notional / quantity if quantity else 0.0,
        sum(f.commission for f in fills),
        sum(f.slippage_cost for f in fills),
    )


def purpose_of(client_order_id: str) -> str:
    """The purpose suffix of an id made by ``client_order_id`` (``""`` if not one)."""
    match = _PURPOSE.search(client_order_id)
    return match.group("purpose") if match else ""


def exit_reason_of(client_order_id: str) -> ExitReason | None:
    """The exit reason encoded in a closing order's id (purpose ``exit-<reason>``)."""
    purpose = purpose_of(client_order_id)
    if not purpose.startswith("exit-"):
        return None
    try:
        return ExitReason(purpose.removeprefix("exit-"))
    except ValueError:
        return None


@dataclass(slots=True)
class RoundTrip:
    """A position's life from entry submission to flat.

    Attributes:
        symbol: ticker.
        side: long or short.
        strategy: strategy name for the trade record.
        stop_price: the signal's stop, USD per share.
        entry_id: the entry order's id.
        stop_id: the stop-loss leg's id.
        target_id: the take-profit leg's id.
        close_id: the working market close, if one was sent.
        trade: the stored trade once the entry has filled.
        entry_fills: the entry's fills, oldest first.
        exit_fills: fills of the legs and closes, oldest first.
    """

    symbol: str
    side: PositionSide
    strategy: str
    stop_price: float
    entry_id: str
    stop_id: str | None = None
    target_id: str | None = None
    close_id: str | None = None
    trade: Trade | None = None
    entry_fills: list[Fill] = field(default_factory=list)
    exit_fills: list[Fill] = field(default_factory=list)

    def legs(self) -> list[str]:
        """Ids of the bracket legs (stop first)."""
        return [i for i in (self.stop_id, self.target_id) if i is not None]

    def exit_reason(self, order: Order) -> ExitReason:
        """Why ``order`` (a leg or a close of this round trip) closed the position."""
        if order.id == self.stop_id:
            return ExitReason.STOP_LOSS
        if order.id == self.target_id:
            return ExitReason.TAKE_PROFIT
        return exit_reason_of(order.client_order_id) or ExitReason.MANUAL

    @classmethod
    def from_orders(
        cls, entry: Order, legs: list[Order], strategy: str, fills: list[Fill]
    ) -> RoundTrip:
        """Rebuild from stored orders and the symbol's fills since the entry (restart)."""
        stop = next((o for o in legs if o.order_type is OrderType.STOP), None)
        target = next((o for o in legs if o.order_type is OrderType.LIMIT), None)
        side = PositionSide.LONG if entry.side.sign > 0 else PositionSide.SHORT
        trip = cls(
            entry.symbol,
            side,
            strategy,
            (stop.stop_price or 0.0) if stop is not None else 0.0,
            entry.id,
            stop.id if stop is not None else None,
            target.id if target is not None else None,
        )
        trip.entry_fills = [f for f in fills if f.order_id == entry.id]
        trip.exit_fills = [f for f in fills if f.order_id != entry.id and f.side != entry.side]
        return trip


def rebuild_round_trips(
    store: TradeStore, working: list[Order], fills: list[Fill]
) -> dict[str, RoundTrip]:
    """Round trips in progress after a restart, by symbol.

    Open trades give the filled ones (their fills are the symbol's fills since the
    trade's entry time; one position per symbol); working entries with bracket
    legs and no trade yet give the unfilled ones; a working ``exit-*`` order is
    the round trip's close.

    Args:
        store: the trade store (open trades, stored orders).
        working: the working orders found at recovery.
        fills: every stored fill, oldest first.
    """
    by_parent: dict[str, list[Order]] = {}
    for order in working:
        if order.parent_id is not None:
            by_parent.setdefault(order.parent_id, []).append(order)
    trips: dict[str, RoundTrip] = {}
    for trade in store.get_trades(status=TradeStatus.OPEN):
        mine = [f for f in fills if f.symbol == trade.symbol and f.timestamp >= trade.entry_time]
        entry = store.get_order(mine[0].order_id) if mine else None
        if entry is None:
            continue
        trip = RoundTrip.from_orders(entry, by_parent.get(entry.id, []), trade.strategy, mine)
        trip.trade = trade
        trips[trade.symbol] = trip
    for order in working:
        if order.parent_id is None and order.id in by_parent and order.symbol not in trips:
            strategy = order.client_order_id.split(f"-{order.symbol}-")[0]
            trips[order.symbol] = RoundTrip.from_orders(order, by_parent[order.id], strategy, [])
        elif purpose_of(order.client_order_id).startswith("exit-") and order.symbol in trips:
            trips[order.symbol].close_id = order.id
    return trips
