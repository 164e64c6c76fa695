"""Order lifecycle and P&L arithmetic of positions and trades."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from vibe.common.errors import InvalidInputError, InvalidTransitionError
from vibe.common.models import (
    ORDER_TRANSITIONS,
    ExitReason,
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Trade,
    can_transition,
)

T0 = datetime(2025, 7, 3, 13, 45, tzinfo=UTC)
S = OrderStatus

LEGAL = {
    (S.PENDING, S.SUBMITTED), (S.PENDING, S.REJECTED), (S.PENDING, S.CANCELLED),
    (S.SUBMITTED, S.ACCEPTED), (S.SUBMITTED, S.REJECTED), (S.SUBMITTED, S.CANCELLED),
    (S.SUBMITTED, S.PARTIALLY_FILLED), (S.SUBMITTED, S.FILLED), (S.SUBMITTED, S.EXPIRED),
    (S.ACCEPTED, S.PARTIALLY_FILLED), (S.ACCEPTED, S.FILLED), (S.ACCEPTED, S.CANCELLED),
    (S.ACCEPTED, S.EXPIRED),
    (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED), (S.PARTIALLY_FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, S.CANCELLED), (S.PARTIALLY_FILLED, S.EXPIRED),
}  # fmt: skip


@pytest.mark.parametrize(("current", "target"), list(product(S, S)))
def test_transition_table(current, target):
    assert can_transition(current, target) == ((current, target) in LEGAL)


@pytest.mark.parametrize("terminal", [S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED])
def test_terminal_states_allow_nothing(terminal):
    assert terminal.is_terminal
    assert not ORDER_TRANSITIONS[terminal]


def make_order(qty: int = 100, side: OrderSide = OrderSide.BUY) -> Order:
    return Order("SPY", side, qty, OrderType.MARKET, created_at=T0)


def test_illegal_transition_raises_and_changes_nothing():
    order = make_order()
    with pytest.raises(InvalidTransitionError, match="pending -> filled"):
        order.transition(S.FILLED, T0)
    assert order.status is S.PENDING
    assert order.history == [(S.PENDING, T0)]


def test_rejection_keeps_reason_and_is_complete():
    order = make_order()
    order.transition(S.REJECTED, T0, reason="insufficient_buying_power")
    assert order.is_complete
    assert order.reject_reason == "insufficient_buying_power"
    with pytest.raises(InvalidTransitionError):
        order.transition(S.SUBMITTED, T0)


def fill(order: Order, qty: int, price: float, minutes: int = 0, fee: float = 0.0) -> Fill:
    return Fill(
        order.id, order.symbol, order.side, qty, price, T0 + timedelta(minutes=minutes), fee
    )


def test_partial_fills_average_price_and_completion():
    order = make_order(300)
    order.transition(S.SUBMITTED, T0)
    order.transition(S.ACCEPTED, T0)
    order.add_fill(fill(order, 100, 10.00, 1))
    assert order.status is S.PARTIALLY_FILLED and not order.is_complete
    order.add_fill(fill(order, 100, 10.30, 2))
    assert order.status is S.PARTIALLY_FILLED
    order.add_fill(fill(order, 100, 10.60, 3))
    assert order.status is S.FILLED and order.is_complete
    assert order.filled_quantity == 300 and order.remaining_quantity == 0
    assert order.average_fill_price == pytest.approx(10.30)
    assert [s for s, _ in order.history] == [
        S.PENDING, S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.PARTIALLY_FILLED, S.FILLED
    ]  # fmt: skip


def test_overfill_and_foreign_fill_rejected():
    order = make_order(100)
    order.transition(S.SUBMITTED, T0)
    with pytest.raises(InvalidInputError, match="exceeds"):
        order.add_fill(fill(order, 101, 10.0))
    other = make_order(100)
    with pytest.raises(InvalidInputError, match="applied to order"):
        order.add_fill(fill(other, 10, 10.0))
    assert order.filled_quantity == 0


def test_fill_on_pending_order_is_illegal():
    order = make_order(100)
    with pytest.raises(InvalidTransitionError):
        order.add_fill(fill(order, 100, 10.0))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"order_type": OrderType.LIMIT}, "limit_price"),
        ({"order_type": OrderType.STOP, "stop_price": math.nan}, "stop_price"),
        ({"created_at": datetime(2025, 1, 2, 10, 0)}, "naive"),  # noqa: DTZ001
    ],
)
def test_order_rejects_bad_input(kwargs, match):
    base = {
        "symbol": "SPY", "side": OrderSide.BUY, "quantity": 10,
        "order_type": OrderType.MARKET, "created_at": T0,
    }  # fmt: skip
    with pytest.raises(InvalidInputError, match=match):
        Order(**{**base, **kwargs})


def test_client_order_id_defaults_to_id():
    order = make_order()
    assert order.client_order_id == order.id
    assert (
        Order("SPY", OrderSide.BUY, 1, OrderType.MARKET, T0, client_order_id="c1").client_order_id
        == "c1"
    )


def test_long_position_add_reduce_close():
    pos = Position("SPY")
    assert pos.apply_fill(OrderSide.BUY, 100, 10.0, fee=1.0) == 0
    assert pos.apply_fill(OrderSide.BUY, 100, 11.0, fee=1.0) == 0
    assert pos.quantity == 200 and pos.average_price == pytest.approx(10.5)
    pos.last_price = 12.0
    assert pos.unrealized_pnl == pytest.approx(300.0)
    assert pos.apply_fill(OrderSide.SELL, 50, 12.0, fee=1.0) == pytest.approx(75.0)
    assert pos.quantity == 150 and pos.average_price == pytest.approx(10.5)
    assert pos.apply_fill(OrderSide.SELL, 150, 10.0, fee=1.0) == pytest.approx(-75.0)
    assert pos.quantity == 0 and pos.side is None and pos.average_price == 0
    assert pos.realized_pnl == pytest.approx(0.0)
    assert pos.fees == pytest.approx(4.0)
    assert pos.net_realized_pnl == pytest.approx(-4.0)


def test_short_position_pnl_and_flip():
    pos = Position("TSLA")
    pos.apply_fill(OrderSide.SELL, 10, 200.0)
    assert pos.side is PositionSide.SHORT and pos.quantity == -10
    pos.last_price = 190.0
    assert pos.unrealized_pnl == pytest.approx(100.0)
    # buy 15: closes 10 (+100 realized) and flips to 5 long at 190
    assert pos.apply_fill(OrderSide.BUY, 15, 190.0) == pytest.approx(100.0)
    assert pos.quantity == 5 and pos.average_price == 190.0
    assert pos.side is PositionSide.LONG


def test_position_rejects_nan_price():
    with pytest.raises(InvalidInputError, match="price"):
        Position("SPY").apply_fill(OrderSide.BUY, 1, math.nan)


def test_long_trade_pnl_with_fees():
    trade = Trade("SPY", PositionSide.LONG, 100, T0, 500.00, strategy="orb", fees=1.0)
    assert trade.pnl is None and not trade.is_closed
    trade.close(
        T0 + timedelta(hours=1), 505.00, ExitReason.TAKE_PROFIT, fees=1.0, slippage_cost=2.5
    )
    assert trade.gross_pnl == pytest.approx(500.0)
    assert trade.pnl == pytest.approx(498.0)
    assert trade.pnl_pct == pytest.approx(498.0 / 50_000 * 100)
    assert trade.slippage_cost == pytest.approx(2.5)
    assert trade.exit_reason is ExitReason.TAKE_PROFIT
    with pytest.raises(InvalidInputError, match="already closed"):
        trade.close(T0, 1.0, ExitReason.MANUAL)


def test_short_trade_loss():
    trade = Trade("QQQ", PositionSide.SHORT, 40, T0, 450.0)
    trade.close(T0 + timedelta(minutes=30), 452.5, ExitReason.STOP_LOSS, fees=2.0)
    assert trade.gross_pnl == pytest.approx(-100.0)
    assert trade.pnl == pytest.approx(-102.0)
    assert trade.pnl_pct == pytest.approx(-102.0 / 18_000 * 100)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"entry_price": math.nan}, "entry_price"),
        ({"quantity": -1}, "quantity"),
        ({"entry_time": datetime(2025, 1, 2, 10)}, "naive"),  # noqa: DTZ001
        ({"fees": -1.0}, "fees"),
    ],
)
def test_trade_rejects_bad_input(kwargs, match):
    base = {"symbol": "SPY", "side": PositionSide.LONG, "quantity": 1, "entry_time": T0,
            "entry_price": 1.0}  # fmt: skip
    with pytest.raises(InvalidInputError, match=match):
        Trade(**{**base, **kwargs})
