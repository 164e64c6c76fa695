"""A fill and everything it implies commit together; a restart never fills a bar twice.

Each test reads trades.db through a second SQLite connection (what a restarted
process would find) at the moment a later commit happens, or after a failure.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from vibe.common.errors import StorageError
from vibe.common.models import OrderStatus, OrderType
from vibe.trading_bot.exchange.base import OrderEvent, OrderEventKind

from .conftest import OPEN, bar, entry_signal

NEXT_OPEN = OPEN + timedelta(days=1)


def stored(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def test_the_entry_fill_its_trade_row_and_the_repriced_target_are_one_commit(make_rig, tmp_path):
    rig = make_rig()
    db = tmp_path / "trades.db"
    seen: list[tuple[object, ...]] = []

    def on_commit(event: OrderEvent) -> None:  # runs after the commit
        if event.fill is not None:
            fills = stored(db, "SELECT count(*) FROM fills")[0][0]
            trades = stored(db, "SELECT count(*) FROM trades")[0][0]
            limit = stored(db, "SELECT limit_price FROM orders WHERE order_type = 'limit'")
            seen.append((fills, trades, limit[0][0]))

    rig.orders.subscribe(on_commit)
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    rig.feed(bar(1, 100.2, 100.4, 100.0, 100.3))  # entry fills at 100.2: R = 1.2
    assert seen == [(1, 1, pytest.approx(100.2 + 2 * 1.2))]


def test_a_stop_fill_and_the_closed_trade_and_the_cancelled_target_are_one_commit(make_rig):
    rig = make_rig()
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    rig.feed(bar(1, 100.2, 100.4, 100.0, 100.3))
    db = rig.store.path
    at_commit: list[tuple[object, ...]] = []

    def on_commit(event: OrderEvent) -> None:
        if event.fill is not None:
            trade = stored(db, "SELECT status, exit_reason FROM trades")[0]
            target = stored(db, "SELECT status FROM orders WHERE order_type = 'limit'")[0]
            at_commit.append((*trade, *target))

    rig.orders.subscribe(on_commit)
    rig.feed(bar(2, 100.1, 100.2, 98.5, 98.8))  # the stop at 99.0 fills
    assert at_commit == [("closed", "stop_loss", "cancelled")]


def test_a_booking_failure_rolls_the_fill_back_and_announces_nothing(make_rig):
    rig = make_rig()
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    announced: list[OrderEventKind] = []
    rig.orders.subscribe(lambda event: announced.append(event.kind))

    def failing_booker(event: OrderEvent) -> None:
        if event.fill is not None:
            raise StorageError("disk full (test)")

    rig.orders.subscribe_booking(failing_booker)
    with pytest.raises(StorageError), rig.orders.unit_of_work():
        rig.exchange.process_bar(bar(1, 100.2, 100.4, 100.0, 100.3))
    assert stored(rig.store.path, "SELECT count(*) FROM fills")[0][0] == 0
    assert stored(rig.store.path, "SELECT count(*) FROM trades")[0][0] == 0
    assert announced == []


def test_after_commit_actions_run_in_order_with_the_announcements(make_rig):
    rig = make_rig()
    log: list[str] = []
    rig.orders.subscribe(lambda event: log.append(f"event {event.kind.value}"))
    with rig.orders.unit_of_work():
        rig.orders.after_commit(lambda: log.append("first action"))
        rig.feed(bar(0, 100, 100.5, 99.5, 100))
        rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
        rig.orders.after_commit(lambda: log.append("last action"))
        assert log == []  # nothing before the commit
    assert log[0] == "first action" and log[-1] == "last action"
    assert "event accepted" in log


def test_a_leg_resized_by_a_partial_entry_fill_is_stored(make_rig):
    rig = make_rig(max_volume_participation=0.0001)  # 100 shares of a 1,000,000 bar
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    entry = next(o for o in rig.store.get_orders() if o.parent_id is None)
    assert entry.quantity > 100
    rig.feed(bar(1, 100.2, 100.4, 100.0, 100.3))
    legs = {o.order_type: o for o in rig.store.get_orders() if o.parent_id is not None}
    assert legs[OrderType.STOP].quantity == 100 == legs[OrderType.LIMIT].quantity


def test_a_restart_does_not_match_a_bar_whose_fills_are_stored(make_rig):
    rig = make_rig(max_volume_participation=0.0001)
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    second = bar(1, 100.2, 100.4, 100.0, 100.3)
    rig.feed(second)  # 100 shares of the entry fill; the rest stays working
    rig.close()
    reborn = make_rig(recover=True, max_volume_participation=0.0001)
    reborn.clock.advance_to(second.timestamp)
    assert reborn.executor.on_bar(second) == []  # the same bar again after a restart
    fills = reborn.store.get_fills()
    assert [f.quantity for f in fills] == [100]
    entry = next(o for o in reborn.store.get_orders() if o.parent_id is None)
    assert entry.status is OrderStatus.PARTIALLY_FILLED
    later = reborn.executor.on_bar(bar(2, 100.3, 100.5, 100.1, 100.4))
    assert [f.quantity for f in later] == [100]  # the next bar fills as before


def test_a_mid_session_restart_keeps_the_start_of_day_equity(make_rig):
    rig = make_rig()
    rig.executor.start_session(OPEN.date(), opened_at=OPEN)
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    rig.feed(bar(1, 100.2, 100.4, 100.0, 100.3))
    rig.feed(bar(2, 100.1, 100.2, 98.5, 98.8))  # stopped out: the day is down
    lost = rig.executor.portfolio.equity
    assert lost < 100_000.0
    rig.close()
    reborn = make_rig(recover=True)
    reborn.executor.start_session(OPEN.date(), opened_at=OPEN)  # the restart, same session
    assert reborn.executor.session.start_of_day_equity == 100_000.0
    assert reborn.executor.account_state().daily_pnl == pytest.approx(lost - 100_000.0)
    reborn.executor.start_session(OPEN.date() + timedelta(days=1), opened_at=NEXT_OPEN)
    assert reborn.executor.session.start_of_day_equity == pytest.approx(lost)


def test_a_leg_shrunk_by_a_partial_fill_of_its_sibling_is_stored(make_rig):
    rig = make_rig(max_volume_participation=0.1)
    rig.feed(bar(0, 100, 100.5, 99.5, 100))
    rig.executor.handle_signal(entry_signal(0, 100.0, 99.0))
    rig.feed(bar(1, 100.2, 100.4, 100.0, 100.3))  # the whole entry fills
    entry = next(o for o in rig.store.get_orders() if o.parent_id is None)
    rig.feed(bar(2, 100.1, 100.2, 98.5, 98.8, v=10 * (entry.quantity // 2)))  # half the stop
    legs = {o.order_type: o for o in rig.store.get_orders() if o.parent_id is not None}
    stop, target = legs[OrderType.STOP], legs[OrderType.LIMIT]
    assert 0 < stop.filled_quantity < entry.quantity
    assert target.quantity == entry.quantity - stop.filled_quantity  # as stored, for a restart
