"""Domain records -> the response models of :mod:`.schemas` (money rounded to cents)."""

from __future__ import annotations

from vibe.common.models import Bar, Fill, Order, Position, Trade
from vibe.trading_bot.api.queries import HealthChange
from vibe.trading_bot.api.schemas import (
    BarOut,
    ComponentOut,
    FillOut,
    OpeningRangeOut,
    OrderOut,
    PositionOut,
    TradeOut,
)
from vibe.trading_bot.core.bar_tape import OpeningRange
from vibe.trading_bot.core.health_reporter import ComponentStatus


def _usd(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def position_out(position: Position) -> PositionOut:
    """An open position (``quantity`` != 0) with its mark."""
    mark = position.last_price
    value = (mark if mark is not None else position.average_price) * position.quantity
    side = position.side
    return PositionOut(
        symbol=position.symbol,
        side="" if side is None else side.value,
        quantity=position.quantity,
        average_price=round(position.average_price, 4),
        last_price=mark,
        market_value_usd=round(value, 2),
        unrealized_pnl_usd=round(position.unrealized_pnl, 2),
    )


def trade_out(trade: Trade) -> TradeOut:
    """A stored round trip (``trade.id`` set)."""
    return TradeOut(
        id=trade.id or 0,
        symbol=trade.symbol,
        side=trade.side.value,
        quantity=trade.quantity,
        entry_time=trade.entry_time,
        entry_price=trade.entry_price,
        exit_time=trade.exit_time,
        exit_price=trade.exit_price,
        status="closed" if trade.is_closed else "open",
        pnl_usd=_usd(trade.pnl),
        pnl_pct=None if trade.pnl_pct is None else round(trade.pnl_pct, 4),
        fees_usd=round(trade.fees, 2),
        slippage_cost_usd=round(trade.slippage_cost, 2),
        exit_reason=None if trade.exit_reason is None else trade.exit_reason.value,
        strategy=trade.strategy,
    )


def fill_out(fill: Fill) -> FillOut:
    """One stored fill."""
    return FillOut(
        fill_id=fill.fill_id,
        order_id=fill.order_id,
        symbol=fill.symbol,
        side=fill.side.value,
        quantity=fill.quantity,
        price=fill.price,
        commission_usd=round(fill.commission, 4),
        slippage_cost_usd=round(fill.slippage_cost, 4),
        timestamp=fill.timestamp,
    )


def order_out(order: Order) -> OrderOut:
    """One stored order (its fields have the model's names; enums become their values)."""
    return OrderOut.model_validate(order, from_attributes=True)


def bar_out(bar: Bar) -> BarOut:
    """One traded bar."""
    return BarOut(
        time=bar.timestamp,
        open=bar.open,
        high=bar.high,
        low=bar.low,
        close=bar.close,
        volume=bar.volume,
    )


def range_out(found: OpeningRange) -> OpeningRangeOut:
    """A session's opening range."""
    return OpeningRangeOut(start=found.start, end=found.end, high=found.high, low=found.low)


def component_out(status: ComponentStatus) -> ComponentOut:
    """One component's health."""
    return ComponentOut(
        name=status.name,
        state=status.state.value,
        critical=status.critical,
        reason=status.reason,
        since=status.since,
    )


def health_change_out(change: HealthChange) -> dict[str, str]:
    """A logged health change as an event payload."""
    return {
        "at": change.at.isoformat(),
        "component": change.component,
        "previous": change.previous,
        "state": change.state,
        "reason": change.reason,
    }
