"""The paper exchange's fill rules, brackets, partial fills, expiry and rejections."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.errors import OrderRejectedError
from vibe.common.models import Bar, Order, OrderSide, OrderStatus, OrderType, TimeInForce
from vibe.trading_bot.exchange.base import OrderEvent, OrderEventKind
from vibe.trading_bot.exchange.commission import PerShareCommission, ZeroCommission
from vibe.trading_bot.exchange.mock_exchange import MockExchange
from vibe.trading_bot.exchange.slippage import FixedBpsSlippage, NoSlippage

OPEN = datetime(2025, 7, 3, 13, 30, tzinfo=UTC)  # 09:30 ET, an early-close day (13:00 ET)
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def bar(minute: int, o: float, h: float, lo: float, c: float, v: int = 1_000_000) -> Bar:
    return Bar("SPY", OPEN + timedelta(minutes=minute), o, h, lo, c, v)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(OPEN)


def make_exchange(clock, slippage=None, commission=None, cash=100_000.0, **kw) -> MockExchange:
    return MockExchange(clock, slippage or NoSlippage(), commission or ZeroCommission(), cash, **kw)


def order(clock, side=BUY, qty=100, kind=OrderType.MARKET, **kw) -> Order:
    return Order("SPY", side, qty, kind, clock.now(), **kw)


def test_market_order_fills_at_next_bar_open_plus_slippage(clock):
    ex = make_exchange(clock, slippage=FixedBpsSlippage(10.0))
    ex.process_bar(bar(0, 100, 101, 99, 100.5))
    clock.advance_to(OPEN + timedelta(minutes=1))  # the close of bar 0
    o = ex.submit(order(clock))
    assert o.status is OrderStatus.ACCEPTED
    [fill] = ex.process_bar(bar(1, 100.6, 101, 100, 100.8))
    assert fill.price == pytest.approx(100.6 * 1.001)
    assert fill.slippage_cost == pytest.approx(100.6 * 0.001 * 100)
    assert fill.timestamp == OPEN + timedelta(minutes=1)
    assert o.status is OrderStatus.FILLED


def test_market_order_submitted_inside_a_bar_waits_for_the_next(clock):
    ex = make_exchange(clock)
    clock.advance_to(OPEN + timedelta(seconds=30))
    ex.submit(order(clock))
    assert ex.process_bar(bar(0, 100, 101, 99, 100)) == []
    assert ex.process_bar(bar(1, 100.2, 101, 99, 100))[0].price == 100.2


@pytest.mark.parametrize(
    ("side", "limit", "bar_ohlc", "expected"),
    [
        (BUY, 99.5, (100, 100.5, 99, 99.8), 99.5),  # trades through: at the limit
        (BUY, 101.0, (100, 100.5, 99, 99.8), 100.0),  # opens below: at the open
        (BUY, 99.0, (100, 100.5, 99, 99.8), None),  # only touches: no fill
        (SELL, 100.4, (100, 100.5, 99, 99.8), 100.4),
        (SELL, 99.0, (100, 100.5, 99, 99.8), 100.0),
        (SELL, 100.5, (100, 100.5, 99, 99.8), None),
    ],
)
def test_limit_fill_prices(clock, side, limit, bar_ohlc, expected):
    ex = make_exchange(clock, slippage=FixedBpsSlippage(50))  # limits get no slippage
    if side is SELL:
        ex.submit(order(clock, BUY))
        ex.process_bar(bar(0, 100, 100, 100, 100))
    o = ex.submit(order(clock, side, kind=OrderType.LIMIT, limit_price=limit))
    fills = ex.process_bar(bar(1, *bar_ohlc))
    if expected is None:
        assert fills == [] and o.status is OrderStatus.ACCEPTED
    else:
        assert [f.price for f in fills] == [pytest.approx(expected)]


@pytest.mark.parametrize(
    ("side", "stop", "bar_ohlc", "expected"),
    [
        (SELL, 99.5, (100, 100.5, 99, 99.8), 99.5),  # triggered inside the bar
        (SELL, 99.5, (98, 99, 97, 98.5), 98.0),  # gapped through: at the open
        (SELL, 98.0, (100, 100.5, 99, 99.8), None),
        (BUY, 100.2, (100, 100.5, 99, 99.8), 100.2),
        (BUY, 100.2, (101, 102, 100.9, 101.5), 101.0),
    ],
)
def test_stop_fill_prices_include_slippage(clock, side, stop, bar_ohlc, expected):
    ex = make_exchange(clock, slippage=FixedBpsSlippage(10))
    o = ex.submit(order(clock, side, kind=OrderType.STOP, stop_price=stop))
    fills = ex.process_bar(bar(0, *bar_ohlc))
    if expected is None:
        assert fills == [] and not o.is_complete
    else:
        assert fills[0].price == pytest.approx(expected * (1 + side.sign * 0.001))


def test_stop_limit_triggers_then_waits_for_its_limit(clock):
    ex = make_exchange(clock)
    o = ex.submit(order(clock, BUY, kind=OrderType.STOP_LIMIT, stop_price=101, limit_price=101.5))
    assert ex.process_bar(bar(0, 102, 103, 101.8, 102.5)) == []  # gapped above the limit
    assert ex.process_bar(bar(1, 102, 102.2, 101.2, 101.6))[0].price == 101.5
    assert o.status is OrderStatus.FILLED
    o2 = ex.submit(order(clock, BUY, kind=OrderType.STOP_LIMIT, stop_price=101, limit_price=101.5))
    assert ex.process_bar(bar(2, 100.5, 101.2, 100.4, 101))[0].price == 101.0
    assert o2.status is OrderStatus.FILLED


def test_bracket_children_live_from_the_entry_bar_and_stop_wins_ties(clock):
    ex = make_exchange(clock)
    events: list[OrderEvent] = []
    ex.add_listener(events.append)
    entry, stop, target = ex.submit_bracket(order(clock), stop_price=99.0, take_profit_price=101)
    assert stop is not None and target is not None
    assert ex.process_bar(bar(0, 100, 100.5, 99.5, 100)) == [entry.fills[0]]  # no trigger
    # touches both the stop and the target: the stop fills first, the target is cancelled
    fills = ex.process_bar(bar(1, 100, 101.5, 98.5, 100))
    assert [f.order_id for f in fills] == [stop.id]
    assert fills[0].price == 99.0
    assert target.status is OrderStatus.CANCELLED
    assert ex.positions["SPY"].quantity == 0
    kinds = [(e.kind, e.order.id) for e in events]
    assert (OrderEventKind.CANCELLED, target.id) in kinds


def test_entry_filling_beyond_its_stop_is_stopped_in_the_same_bar(clock):
    ex = make_exchange(clock)
    entry, stop, _ = ex.submit_bracket(order(clock), stop_price=99.0, take_profit_price=103)
    fills = ex.process_bar(bar(0, 98.5, 99.2, 98.0, 98.8))  # opens below the stop
    assert [f.order_id for f in fills] == [entry.id, stop.id]  # type: ignore[union-attr]
    assert [f.price for f in fills] == [98.5, 98.5]


def test_take_profit_at_limit_or_at_a_better_open(clock):
    ex = make_exchange(clock)
    _, stop, target = ex.submit_bracket(order(clock), stop_price=99.0, take_profit_price=101)
    ex.process_bar(bar(0, 100, 100.5, 99.5, 100))
    [fill] = ex.process_bar(bar(1, 101.4, 101.8, 101.2, 101.5))  # opens beyond the target
    assert fill.order_id == target.id and fill.price == 101.4  # type: ignore[union-attr]
    assert stop.status is OrderStatus.CANCELLED  # type: ignore[union-attr]


def test_amend_moves_the_take_profit_after_the_entry_fill(clock):
    ex = make_exchange(clock)
    entry, _, target = ex.submit_bracket(order(clock), stop_price=99.0, take_profit_price=105)
    assert target is not None

    def move_target(event: OrderEvent) -> None:
        if event.kind is OrderEventKind.FILLED and event.order is entry and event.fill:
            ex.amend(target.id, limit_price=event.fill.price + 0.5)

    ex.add_listener(move_target)
    fills = ex.process_bar(bar(0, 100, 100.8, 99.8, 100.6))
    assert [f.price for f in fills] == [100.0, 100.5]


def test_partial_fills_respect_volume_participation_and_charge_minimum_once(clock):
    ex = make_exchange(clock, commission=PerShareCommission(0.005, 1.0, 1.0))
    o = ex.submit(order(clock, qty=250))
    fees = []
    for i, price in enumerate([100.0, 100.2, 100.4]):
        fills = ex.process_bar(bar(i, price, price + 0.5, price - 0.5, price, v=1000))
        fees += [f.commission for f in fills]
        assert [f.quantity for f in fills] == [[100, 100, 50][i]]
    assert o.status is OrderStatus.FILLED
    assert o.average_fill_price == pytest.approx((100 * 100.0 + 100 * 100.2 + 50 * 100.4) / 250)
    assert sum(fees) == pytest.approx(1.25)  # max(250 x 0.005, 1.00): the minimum paid once
    assert fees[0] == pytest.approx(1.0)
    assert ex.process_bar(bar(3, 100, 100, 100, 100, v=0)) == []


def test_zero_volume_bar_fills_nothing(clock):
    ex = make_exchange(clock)
    o = ex.submit(order(clock))
    assert ex.process_bar(bar(0, 100, 100, 100, 100, v=0)) == []
    assert o.status is OrderStatus.ACCEPTED


def test_day_orders_expire_at_an_early_close_gtc_stays(clock):
    ex = make_exchange(clock)
    day = ex.submit(order(clock, kind=OrderType.LIMIT, limit_price=50))
    gtc = ex.submit(
        order(clock, kind=OrderType.LIMIT, limit_price=50, time_in_force=TimeInForce.GTC)
    )
    close = datetime(2025, 7, 3, 17, 0, tzinfo=UTC)  # 13:00 ET
    assert ex.expire_day_orders(close) == [day]
    assert day.status is OrderStatus.EXPIRED and day.updated_at == close
    assert gtc.status is OrderStatus.ACCEPTED


def test_rejections_carry_reasons_and_never_raise(clock):
    ex = make_exchange(clock, cash=10_000, symbols={"SPY"}, is_market_open=lambda t: t >= OPEN)
    ex.process_bar(bar(0, 100, 100, 100, 100))
    too_big = ex.submit(order(clock, qty=101))
    assert too_big.reject_reason == "insufficient_buying_power"
    unknown = ex.submit(Order("XYZ", BUY, 1, OrderType.MARKET, clock.now()))
    assert unknown.reject_reason == "unknown_symbol"
    zero = order(clock)
    zero.quantity = 0
    assert ex.submit(zero).reject_reason == "quantity_not_positive"
    nan = order(clock, kind=OrderType.LIMIT, limit_price=10)
    nan.limit_price = math.nan
    assert ex.submit(nan).reject_reason == "price_not_finite"
    entry, stop, target = ex.submit_bracket(order(clock, qty=1), stop_price=math.inf)
    assert entry.reject_reason == "price_not_finite" and stop is None and target is None
    closed = make_exchange(
        SimulatedClock(OPEN - timedelta(hours=1)), is_market_open=lambda t: False
    )
    assert closed.submit(order(clock)).reject_reason == "market_closed"
    assert ex.submit(order(clock, qty=99)).status is OrderStatus.ACCEPTED
    with pytest.raises(OrderRejectedError, match="unknown_order"):
        ex.cancel("nope")


def test_long_round_trip_cash_equity_fees_to_the_cent(clock):
    ex = make_exchange(
        clock, FixedBpsSlippage(1.0), PerShareCommission(0.005, 1.0, 1.0), cash=200_000.0
    )
    ex.submit(order(clock, qty=300))
    ex.process_bar(bar(0, 500.00, 501, 499, 500.50))
    buy_price = 500.00 * 1.0001
    account = ex.account()
    assert account.cash == pytest.approx(200_000 - 300 * buy_price - 1.50, abs=0.005)
    assert account.equity == pytest.approx(account.cash + 300 * 500.50, abs=0.005)
    ex.submit(order(clock, SELL, qty=300))
    ex.process_bar(bar(1, 502.00, 503, 501, 502.5))
    sell_price = 502.00 * 0.9999
    pos = ex.positions["SPY"]
    assert pos.quantity == 0
    assert pos.realized_pnl == pytest.approx(300 * (sell_price - buy_price), abs=0.005)
    assert pos.fees == pytest.approx(3.00)
    assert ex.account().equity == pytest.approx(
        200_000 + 300 * (sell_price - buy_price) - 3.00, abs=0.005
    )


def test_an_entry_fills_only_what_the_cash_pays_for_at_a_gap(clock):
    ex = make_exchange(clock, commission=PerShareCommission(0.005, 1.0, 1.0), cash=10_000.0)
    ex.process_bar(bar(-1, 99.0, 100.5, 98.5, 100.0))  # last close 100.00
    entry = ex.submit(order(clock, qty=99))  # 9,900 USD at the last close: accepted
    assert entry.status is OrderStatus.ACCEPTED
    fills = ex.process_bar(bar(0, 110.00, 111, 109, 110.5))  # gaps up 10 % at the open
    assert [f.quantity for f in fills] == [90]  # 90 x 110 + 1 USD commission <= 10,000
    assert entry.status is OrderStatus.CANCELLED and entry.filled_quantity == 90
    assert entry.history[-1][0] is OrderStatus.CANCELLED
    assert ex.cash == pytest.approx(10_000 - 90 * 110.0 - 1.0) and ex.cash >= 0


def test_an_entry_the_cash_cannot_pay_at_all_is_cancelled_with_its_legs(clock):
    ex = make_exchange(clock, cash=1_000.0)
    ex.process_bar(bar(-1, 99.0, 100.5, 98.5, 100.0))
    entry, stop, _no_target = ex.submit_bracket(order(clock, qty=9), stop_price=95.0)
    events: list[OrderEvent] = []
    ex.add_listener(events.append)
    assert ex.process_bar(bar(0, 1_100.00, 1_101, 1_099, 1_100.5)) == []  # not 1 share
    assert entry.status is OrderStatus.CANCELLED and stop is not None
    assert stop.status is OrderStatus.CANCELLED
    assert events[0].reason == "insufficient_buying_power_at_fill"
    assert ex.cash == 1_000.0 and not ex.positions.get("SPY")


def test_short_round_trip(clock):
    ex = make_exchange(clock)
    ex.submit(order(clock, SELL, qty=100))
    ex.process_bar(bar(0, 200.0, 201, 199, 199.0))
    assert ex.cash == pytest.approx(120_000.0)
    assert ex.account().equity == pytest.approx(100_100.0)  # marked at 199
    assert ex.positions["SPY"].quantity == -100
    ex.submit(order(clock, BUY, qty=100))
    ex.process_bar(bar(1, 198.0, 199, 197, 198.5))
    assert ex.account().equity == pytest.approx(100_200.0)
    assert {s: p for s, p in ex.positions.items() if p.quantity != 0} == {}


def test_cancelling_an_unfilled_entry_cancels_its_children(clock):
    ex = make_exchange(clock)
    entry, stop, target = ex.submit_bracket(
        order(clock, kind=OrderType.LIMIT, limit_price=90), stop_price=85, take_profit_price=95
    )
    ex.cancel(entry.id)
    assert {entry.status, stop.status, target.status} == {OrderStatus.CANCELLED}  # type: ignore[union-attr]


def test_bar_without_working_orders_only_marks(clock):
    ex = make_exchange(clock)
    assert ex.process_bar(bar(0, 100, 101, 99, 100.5)) == []
    assert ex.account().equity == 100_000.0


def test_a_live_decision_at_a_bar_close_fills_at_the_next_bar_open():
    """Live, the wall clock is past the close when a bar arrives; the decision is not."""
    from vibe.common.clock import LiveClock, decision_time

    clock = LiveClock()  # the wall clock: long after these bars
    ex = make_exchange(clock, is_market_open=lambda at: OPEN <= at < OPEN + timedelta(hours=4))
    first = bar(0, 100, 101, 99, 100.5)
    ex.process_bar(first)
    with decision_time(first.end):
        late = ex.submit(order(clock))
    assert late.status is OrderStatus.ACCEPTED and late.created_at == first.end
    [fill] = ex.process_bar(bar(1, 100.6, 101, 100, 100.8))
    assert (fill.price, fill.timestamp) == (100.6, OPEN + timedelta(minutes=1))
    unpinned = ex.submit(order(clock))  # stamped with the wall clock: the venue is closed
    assert unpinned.status is OrderStatus.REJECTED
