"""OrderManager: persist then announce, idempotent ids, lifecycle refusals, restart, reconciling."""

from __future__ import annotations

import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.errors import InvalidTransitionError
from vibe.common.models import ExitReason, Order, OrderSide, OrderStatus, OrderType, Position
from vibe.trading_bot.core.health_reporter import HealthState, RecordingHealthReporter
from vibe.trading_bot.exchange.base import OrderEvent, OrderEventKind
from vibe.trading_bot.exchange.commission import PerShareCommission, ZeroCommission
from vibe.trading_bot.exchange.mock_exchange import MockExchange
from vibe.trading_bot.exchange.slippage import FixedBpsSlippage, NoSlippage
from vibe.trading_bot.execution.order_manager import OrderManager, client_order_id
from vibe.trading_bot.storage.trade_store import TradeStore

from .conftest import OPEN, bar, entry_signal

CENT = 0.005


def market(clock, cid: str, qty: int = 10) -> Order:
    return Order("SPY", OrderSide.BUY, qty, OrderType.MARKET, clock.now(), client_order_id=cid)


def test_every_event_is_stored_before_subscribers_hear_of_it(make_rig):
    rig = make_rig()
    seen: list[tuple[str, str]] = []

    def check(event: OrderEvent) -> None:
        stored = rig.store.get_order(event.order.id)
        assert stored is not None
        seen.append((event.kind.value, stored.status.value))

    rig.orders.subscribe(check)
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    rig.feed(bar(1, 100.2, 100.8, 100.0, 100.6))
    assert ("filled", "filled") in seen
    assert all(kind == status or kind == "amended" for kind, status in seen)
    stored_entry = next(o for o in rig.store.get_orders() if o.parent_id is None)
    assert [s for s, _ in stored_entry.history] == [
        OrderStatus.PENDING,
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        OrderStatus.FILLED,
    ]
    assert len(rig.store.get_fills(order_id=stored_entry.id)) == 1


def test_client_order_id_is_deterministic():
    a = client_order_id("orb", "SPY", OPEN, "entry")
    assert (
        a == client_order_id("orb", "SPY", OPEN, "entry") == "orb-SPY-20240326T133000000000Z-entry"
    )
    assert a != client_order_id("orb", "SPY", OPEN, "exit-manual")


def test_a_retried_submission_is_recognised_even_after_a_restart(make_rig):
    rig = make_rig()
    first = rig.orders.submit(market(rig.clock, "orb-SPY-x-entry"))
    again = rig.orders.submit(market(rig.clock, "orb-SPY-x-entry"))
    assert again is first and len(rig.store.get_orders()) == 1
    rig.close()
    reborn = make_rig(recover=True)
    retried = reborn.orders.submit(market(reborn.clock, "orb-SPY-x-entry"))
    assert retried.id == first.id and retried.status is OrderStatus.ACCEPTED
    assert len(reborn.store.get_orders()) == 1


def test_a_stored_pending_order_is_sent_on_retry(make_rig):
    rig = make_rig()
    pending = market(rig.clock, "orb-SPY-y-entry")
    rig.store.upsert_order(pending)  # the process died before the venue heard of it
    rig.close()
    reborn = make_rig(recover=True)
    assert reborn.report is not None and [o.id for o in reborn.report.pending] == [pending.id]
    sent = reborn.orders.submit(market(reborn.clock, "orb-SPY-y-entry"))
    assert sent.id == pending.id and sent.status is OrderStatus.ACCEPTED
    assert reborn.store.get_order(pending.id).status is OrderStatus.ACCEPTED  # type: ignore[union-attr]


def test_illegal_transitions_are_refused(make_rig):
    rig = make_rig()
    order = rig.orders.submit(market(rig.clock, "c1"))
    rig.feed(bar(0, 100, 100, 100, 100))
    assert order.status is OrderStatus.FILLED
    with pytest.raises(InvalidTransitionError, match="filled -> cancelled"):
        rig.orders.transition(order.id, OrderStatus.CANCELLED)
    pending = market(rig.clock, "c2")
    rig.store.upsert_order(pending)
    rig.orders._track(pending)
    with pytest.raises(InvalidTransitionError, match="pending -> filled"):
        rig.orders.transition(pending.id, OrderStatus.FILLED)
    assert rig.store.get_order(order.id).status is OrderStatus.FILLED  # type: ignore[union-attr]


def test_an_illegal_change_announced_by_the_venue_is_neither_stored_nor_forwarded(make_rig):
    rig = make_rig()
    forwarded: list[OrderEvent] = []
    rig.orders.subscribe(forwarded.append)
    order = rig.orders.submit(market(rig.clock, "c3"))
    rig.feed(bar(0, 100, 100, 100, 100))
    forwarded.clear()
    order.status = OrderStatus.ACCEPTED  # a buggy adapter re-opens a filled order
    order.history.append((OrderStatus.ACCEPTED, rig.clock.now()))
    with pytest.raises(InvalidTransitionError):
        rig.orders.handle_event(OrderEvent(OrderEventKind.ACCEPTED, order, rig.clock.now()))
    assert forwarded == []
    assert rig.store.get_order(order.id).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert any("refused status change" in e for e in rig.health.errors)


def test_a_pending_order_can_be_cancelled_locally(make_rig):
    rig = make_rig()
    pending = market(rig.clock, "c4")
    rig.store.upsert_order(pending)
    rig.close()
    reborn = make_rig(recover=True)
    cancelled = reborn.orders.cancel(pending.id, "stale after restart")
    assert cancelled.status is OrderStatus.CANCELLED
    assert reborn.store.open_orders() == []


# ------------------------------------------------------------------------ restart


BARS = [
    bar(0, 100, 100.5, 99.5, 100),
    bar(1, 100.2, 100.8, 100.0, 100.6),  # entry fills
    bar(2, 100.6, 101.0, 100.3, 100.9),
    bar(3, 100.9, 101.2, 100.1, 100.4),
    bar(4, 100.3, 100.4, 99.7, 99.8),
    bar(5, 99.6, 99.7, 98.7, 98.9),  # stop at 99 fills
    bar(6, 98.9, 99.0, 98.5, 98.6),
]


def run(make_rig, name: str, restart_after: int | None):
    kw = {"slippage": FixedBpsSlippage(5.0), "commission": PerShareCommission(0.005, 1.0, 1.0)}
    clock = SimulatedClock(OPEN)
    rig = make_rig(name, clock=clock, **kw)
    for i, b in enumerate(BARS):
        rig.feed(b)
        if i == 0:
            rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
        if i == restart_after:
            assert rig.executor.portfolio.positions  # an open position ...
            assert any(
                o.order_type is OrderType.STOP for o in rig.store.open_orders()
            )  # ... a stop
            rig.close()
            rig = make_rig(name, clock=clock, recover=True, **kw)
            assert rig.report is not None and rig.report.mismatches == []
            assert rig.health.state is HealthState.HEALTHY
    trades = [
        (t.side, t.quantity, t.entry_price, t.exit_price, t.fees, t.slippage_cost, t.exit_reason)
        for t in rig.store.get_trades()
    ]
    fills = [(f.side, f.quantity, f.price, f.commission) for f in rig.store.get_fills()]
    p = rig.executor.portfolio
    return trades, fills, p.cash, p.equity, p.realized_pnl, rig.exchange.cash


def test_restart_with_an_open_position_and_a_working_stop_ends_like_an_uninterrupted_run(make_rig):
    straight = run(make_rig, "straight", None)
    restarted = run(make_rig, "restarted", 2)
    assert restarted == straight
    [trade] = straight[0]
    assert trade[-1] is ExitReason.STOP_LOSS


def test_reconciliation_reports_differences_and_overwrites_nothing(tmp_path):
    clock = SimulatedClock(OPEN)
    store = TradeStore(tmp_path / "t.db", clock)
    first = MockExchange(clock, NoSlippage(), ZeroCommission(), 100_000.0)
    OrderManager(store, first, clock, RecordingHealthReporter())
    order = Order("SPY", OrderSide.BUY, 100, OrderType.MARKET, clock.now(), client_order_id="r1")
    first.submit(order)  # stored through the manager's listener
    first.process_bar(bar(0, 100, 100, 100, 100))
    stop = Order("SPY", OrderSide.SELL, 100, OrderType.STOP, clock.now(), stop_price=95.0)
    first.submit(stop)
    before = store.get_order(stop.id)

    venue = MockExchange(clock, NoSlippage(), ZeroCommission(), 100_000.0)
    venue.restore([], [Position("SPY", 60, 100.0)], 94_000.0)  # the venue disagrees
    health = RecordingHealthReporter()
    report = OrderManager(store, venue, clock, health).recover()
    kinds = sorted(m.kind for m in report.mismatches)
    assert kinds == ["order_missing_at_venue", "position_quantity"]
    assert health.state is HealthState.DEGRADED and len(health.errors) == 2
    assert store.get_order(stop.id) == before  # nothing overwritten
    assert store.open_positions()["SPY"].quantity == 100
    store.close()
