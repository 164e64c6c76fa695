"""OrderManager units of work: one commit per call, committed before announced, all or nothing."""

from __future__ import annotations

import sqlite3

import pytest

from vibe.common.errors import StorageError
from vibe.common.models import ExitReason, Order, OrderSide, OrderStatus, OrderType
from vibe.trading_bot.exchange.base import OrderEvent, OrderEventKind

from .conftest import bar, close_signal, entry_signal


def market(clock, cid: str, side: OrderSide = OrderSide.BUY, qty: int = 10) -> Order:
    return Order("SPY", side, qty, OrderType.MARKET, clock.now(), client_order_id=cid)


def committed_status(path, order_id: str) -> str | None:
    """The order's status as another connection (another process) sees the file."""
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT status FROM orders WHERE id = ?", (order_id,)).fetchone()
    finally:
        conn.close()
    return None if row is None else row[0]


def test_every_event_of_a_round_trip_is_committed_before_it_is_announced(make_rig):
    rig = make_rig()
    heard: list[tuple[str, str, str | None]] = []

    def check(event: OrderEvent) -> None:
        order = event.order
        heard.append(
            (event.kind.value, order.status.value, committed_status(rig.store.path, order.id))
        )

    rig.orders.subscribe(check)
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    rig.feed(bar(1, 100.2, 100.8, 100.0, 100.6))  # entry fills, take-profit re-priced
    rig.executor.handle_signal(close_signal(1, 100.6, ExitReason.MANUAL))
    rig.feed(bar(2, 100.6, 101.0, 100.3, 100.9))  # close fills
    kinds = [kind for kind, _, _ in heard]
    assert kinds.count("accepted") == 4 and kinds.count("filled") == 2
    assert kinds.count("cancelled") == 2 and "amended" in kinds
    assert all(status == stored for _, status, stored in heard)
    trade = rig.store.get_trades()[0]
    assert trade.is_closed and trade.exit_reason is ExitReason.MANUAL


def test_a_bracket_is_one_transaction_announced_after_its_commit(make_rig):
    rig = make_rig()
    rig.feed(bar(0, 100, 100, 100, 100))
    seen_at_first: list[list[str | None]] = []
    legs: list[str] = []

    def first_event(event: OrderEvent) -> None:
        if not seen_at_first:
            ids = [event.order.id, *legs]
            seen_at_first.append([committed_status(rig.store.path, i) for i in ids])

    rig.orders.subscribe(first_event)
    rig.exchange.add_listener(lambda e: legs.append(e.order.id) if e.order.parent_id else None)
    _, stop, target = rig.orders.submit_bracket(market(rig.clock, "b1"), 99.0, 102.0)
    assert stop is not None and target is not None and legs == [stop.id, target.id]
    # when the entry's acceptance was announced, both legs were already committed
    assert seen_at_first == [["accepted", "accepted", "accepted"]]
    assert (stop.client_order_id, target.client_order_id) == ("b1-sl", "b1-tp")


def test_a_failed_write_rolls_back_the_whole_unit_and_announces_nothing(make_rig):
    rig = make_rig()
    rig.feed(bar(0, 100, 100, 100, 100))
    heard: list[OrderEvent] = []
    rig.orders.subscribe(heard.append)
    squatter = market(rig.clock, "b2-sl", side=OrderSide.SELL)
    rig.store.upsert_order(squatter)  # the stop leg's client id is taken
    entry = market(rig.clock, "b2")
    with pytest.raises(StorageError, match="UNIQUE"):
        rig.orders.submit_bracket(entry, 99.0, 102.0)
    assert heard == []
    assert committed_status(rig.store.path, entry.id) == "pending"  # stored before sending
    assert len(rig.store.get_orders()) == 2  # the entry (pending) and the squatter
    assert any("not stored" in e for e in rig.health.errors)


def test_a_unit_can_span_calls_and_still_commits_a_new_order_before_sending_it(make_rig):
    rig = make_rig()
    rig.feed(bar(0, 100, 100, 100, 100))
    entry, stop, target = rig.orders.submit_bracket(market(rig.clock, "b3"), 99.0, 102.0)
    assert stop is not None and target is not None
    rig.feed(bar(1, 100, 100.5, 99.5, 100))  # entry fills; legs live
    heard: list[tuple[str, str]] = []
    rig.orders.subscribe(lambda e: heard.append((e.kind.value, e.order.id)))
    close = market(rig.clock, "b3-close", side=OrderSide.SELL, qty=entry.filled_quantity)
    at_send: dict[str, str | None] = {}

    def venue_heard(event: OrderEvent) -> None:
        if event.order.id == close.id and event.kind is OrderEventKind.ACCEPTED:
            for order in (close, stop, target):
                at_send[order.id] = committed_status(rig.store.path, order.id)

    rig.exchange.add_listener(venue_heard)
    with rig.orders.unit_of_work():
        rig.orders.cancel(stop.id, "closing")
        rig.orders.cancel(target.id, "closing")
        assert heard == []  # nothing announced inside the unit
        rig.orders.submit(close)
        assert heard == []
    # the pending close (and the cancels before it) were committed before the venue saw it
    assert at_send == {close.id: "pending", stop.id: "cancelled", target.id: "cancelled"}
    assert heard == [("cancelled", stop.id), ("cancelled", target.id), ("accepted", close.id)]
    assert committed_status(rig.store.path, close.id) == "accepted"


def test_a_failing_subscriber_does_not_silence_the_other_committed_events(make_rig):
    rig = make_rig()
    rig.feed(bar(0, 100, 100, 100, 100))
    heard: list[str] = []

    def fragile(event: OrderEvent) -> None:
        heard.append(event.order.client_order_id)
        if len(heard) == 1:
            raise RuntimeError("subscriber bug")

    rig.orders.subscribe(fragile)
    with pytest.raises(RuntimeError, match="subscriber bug"):
        rig.orders.submit_bracket(market(rig.clock, "b4"), 99.0, 102.0)
    assert heard == ["b4", "b4-sl", "b4-tp"]
    assert rig.store.get_order_by_client_id("b4-tp").status is OrderStatus.ACCEPTED  # type: ignore[union-attr]
