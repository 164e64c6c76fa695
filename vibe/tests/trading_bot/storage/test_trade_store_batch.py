"""TradeStore batches, delta order writes, schema v2, the WAL kept bounded by checkpoints."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta

import pytest

from vibe.common.errors import InvalidInputError, StorageError
from vibe.common.models import Fill, Order, OrderSide, OrderStatus, OrderType, PositionSide, Trade
from vibe.tests.support import eventually_sync, kill_9_after
from vibe.tests.trading_bot.storage.conftest import T0
from vibe.trading_bot.storage.sqlite import SQLiteDatabase
from vibe.trading_bot.storage.trade_schema import TRADE_MIGRATIONS
from vibe.trading_bot.storage.trade_store import TradeStore


@pytest.fixture
def store(tmp_path, clock):
    s = TradeStore(tmp_path / "trades.db", clock)
    yield s
    s.close()


def _order(cid: str, minutes: int = 0, **kw) -> Order:
    at = T0 + timedelta(minutes=minutes)
    return Order("SPY", OrderSide.BUY, 100, OrderType.MARKET, at, client_order_id=cid, **kw)


def _fill(order: Order, qty: int, price: float, minutes: int = 1) -> Fill:
    at = T0 + timedelta(minutes=minutes)
    return Fill(order.id, order.symbol, order.side, qty, price, at, 0.5, 0.25)


def _trade() -> Trade:
    return Trade("SPY", PositionSide.LONG, 100, T0, 500.0, "orb")


def _outside(path) -> sqlite3.Connection:
    """A second connection, as another process would see the file."""
    return sqlite3.connect(path)


def test_a_batch_commits_once_at_the_end(store):
    outside = _outside(store.path)
    with store.batch():
        first = _order("a")
        store.upsert_order(first)
        store.insert_trade(_trade())
        assert store.get_order(first.id) == first  # the batch reads its own writes
        assert outside.execute("SELECT count(*) FROM orders").fetchone()[0] == 0
    assert outside.execute("SELECT count(*) FROM orders").fetchone()[0] == 1
    assert outside.execute("SELECT count(*) FROM trades").fetchone()[0] == 1
    outside.close()


def test_a_batch_is_all_or_nothing(store):
    store.upsert_order(_order("taken"))
    trade = _trade()
    with pytest.raises(StorageError, match="UNIQUE"), store.batch():
        store.upsert_order(_order("new"))
        store.insert_trade(trade)
        store.upsert_order(_order("taken", minutes=1))  # duplicate client order id
    assert [o.client_order_id for o in store.get_orders()] == ["taken"]
    assert store.get_trades() == []
    with pytest.raises(InvalidInputError, match="quantity"), store.batch():
        store.upsert_order(_order("other"))
        bad = _order("bad")
        bad.quantity = 0
        store.upsert_orders([_order("also"), bad])
    assert [o.client_order_id for o in store.get_orders()] == ["taken"]


def test_flush_commits_what_came_before_and_the_rest_can_still_roll_back(store):
    outside = _outside(store.path)
    with pytest.raises(RuntimeError), store.batch():
        store.upsert_order(_order("durable"))
        store.flush()
        assert outside.execute("SELECT client_order_id FROM orders").fetchall() == [("durable",)]
        store.upsert_order(_order("lost"))
        raise RuntimeError("crash in the middle of the unit")
    assert [o.client_order_id for o in store.get_orders()] == ["durable"]
    store.flush()  # outside a batch: nothing to do
    outside.close()


def test_later_writes_add_only_what_changed_and_read_back_whole(store, tmp_path, clock):
    order = _order("delta")
    store.upsert_order(order)
    order.transition(OrderStatus.SUBMITTED, T0 + timedelta(seconds=1))
    order.transition(OrderStatus.ACCEPTED, T0 + timedelta(seconds=2))
    store.upsert_order(order)
    order.add_fill(_fill(order, 40, 500.0))
    order.limit_price = None
    store.upsert_order(order)
    order.add_fill(_fill(order, 60, 501.0, minutes=2))
    store.upsert_order(order)
    assert store.get_order(order.id) == order
    # a second store on the file has no memory of what was written: full, idempotent writes
    other = TradeStore(tmp_path / "trades.db", clock)
    other.upsert_order(store.get_order(order.id))
    assert other.get_order(order.id) == order
    assert len(other.get_fills(order_id=order.id)) == 2
    other.close()


def test_a_changed_identity_or_a_vanished_row_is_written_in_full(store):
    order = _order("first-id")
    store.upsert_order(order)
    order.client_order_id = "renamed"
    order.transition(OrderStatus.SUBMITTED, T0)
    store.upsert_order(order)
    assert store.get_order_by_client_id("renamed") == order
    assert store.get_order_by_client_id("first-id") is None
    with store.batch():
        store.upsert_order(order)  # joins the batch, commits with it
    store.db.query("SELECT 1")  # a plain read in between is fine
    conn = store.db.connection()
    conn.execute("DELETE FROM orders WHERE id = ?", (order.id,))  # removed behind our back
    order.transition(OrderStatus.ACCEPTED, T0)
    store.upsert_order(order)
    assert store.get_order(order.id) == order


def test_accessors_by_client_id_and_by_parent(store):
    entry = _order("entry")
    stop = Order("SPY", OrderSide.SELL, 100, OrderType.STOP, T0, stop_price=99.0,
                 client_order_id="entry-sl", parent_id=entry.id)  # fmt: skip
    target = Order("SPY", OrderSide.SELL, 100, OrderType.LIMIT, T0 + timedelta(seconds=1),
                   limit_price=102.0, client_order_id="entry-tp", parent_id=entry.id)  # fmt: skip
    store.upsert_orders([entry, target, stop])
    assert store.get_order_by_client_id("entry") == entry
    assert store.get_order_by_client_id("nope") is None
    assert [o.client_order_id for o in store.child_orders(entry.id)] == ["entry-sl", "entry-tp"]
    assert store.child_orders(stop.id) == []
    plan = store.db.query(
        "EXPLAIN QUERY PLAN SELECT * FROM orders WHERE parent_id = ? ORDER BY created_at, id",
        ("x",),
    )
    assert any("idx_orders_parent" in row["detail"] for row in plan)


def test_version_1_file_is_migrated_and_keeps_its_page_size(tmp_path, clock):
    path = tmp_path / "old.db"
    old = SQLiteDatabase(path, TRADE_MIGRATIONS[:1])
    with old.transaction() as conn:
        conn.execute(
            "INSERT INTO orders (id, client_order_id, symbol, side, order_type, time_in_force,"
            " quantity, status, created_at, updated_at) VALUES ('o1', 'c1', 'SPY', 'buy',"
            " 'market', 'day', 5, 'accepted', ?, ?)",
            (T0.isoformat(timespec="microseconds"), T0.isoformat(timespec="microseconds")),
        )
    old.close()
    store = TradeStore(path, clock)
    assert store.db.schema_version == 2
    assert [o.id for o in store.open_orders()] == ["o1"]
    names = {r[0] for r in store.db.query("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"idx_orders_open", "idx_orders_parent"} <= names
    assert "idx_orders_status" not in names
    assert store.db.query("PRAGMA page_size")[0][0] == 4096  # an existing file keeps its own
    store.close()
    fresh = TradeStore(tmp_path / "new.db", clock)
    assert fresh.db.query("PRAGMA page_size")[0][0] == 1024
    plan = fresh.db.query(
        "EXPLAIN QUERY PLAN SELECT * FROM orders WHERE status IN "
        "('pending', 'submitted', 'accepted', 'partially_filled') ORDER BY created_at, id"
    )
    assert any("idx_orders_open" in row["detail"] for row in plan)
    fresh.close()


def _fill_wal(store: TradeStore, orders: int) -> None:
    for i in range(orders):
        order = _order(f"wal-{i}", minutes=i)
        store.upsert_order(order)
        order.transition(OrderStatus.SUBMITTED, order.created_at)
        store.upsert_order(order)


def test_background_checkpoints_keep_the_wal_bounded(tmp_path, clock):
    bound = 4 * 1024 * 1024  # max_wal_bytes plus what a slow background pass lets by
    store = TradeStore(
        tmp_path / "trades.db", clock, checkpoint_wake_bytes=64 * 1024, max_wal_bytes=256 * 1024
    )
    checkpointer = store.checkpointer
    assert checkpointer is not None
    _fill_wal(store, 4_000)
    eventually_sync(lambda: checkpointer.background_runs >= 1)
    assert checkpointer.wal_high_water <= bound
    assert os.path.getsize(f"{store.path}-wal") <= bound
    assert store.db.query("PRAGMA wal_autocheckpoint")[0][0] == 0
    busy, frames, done = store.checkpoint()
    assert busy == 0 and done == frames
    assert len(store.get_orders()) == 4_000
    store.close()
    # the same writes with automatic checkpoints off and nobody checkpointing
    unbounded = TradeStore(
        tmp_path / "control.db", clock, checkpoint_wake_bytes=10**12, max_wal_bytes=10**12
    )
    _fill_wal(unbounded, 4_000)
    assert os.path.getsize(f"{unbounded.path}-wal") > 3 * bound
    unbounded.close()


def test_sqlite_default_checkpoints_can_be_kept_and_bad_settings_are_named(tmp_path, clock):
    store = TradeStore(tmp_path / "trades.db", clock, checkpoint_wake_bytes=None)
    assert store.checkpointer is None
    assert store.db.query("PRAGMA wal_autocheckpoint")[0][0] == 1000
    assert store.checkpoint()[0] == 0
    store.close()
    with pytest.raises(InvalidInputError, match="wake_bytes=0"):
        TradeStore(tmp_path / "bad.db", clock, checkpoint_wake_bytes=0)
    db = SQLiteDatabase(tmp_path / "x.db", ())
    with pytest.raises(InvalidInputError, match="checkpoint mode"):
        db.checkpoint("SOMETIMES")
    db.close()


CHILD = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vibe.common.clock import SimulatedClock
from vibe.common.models import Fill, Order, OrderSide, OrderStatus, OrderType
from vibe.trading_bot.storage.trade_store import TradeStore

t0 = datetime(2025, 7, 3, 13, 30, tzinfo=UTC)
store = TradeStore(Path(sys.argv[1]), SimulatedClock(t0), checkpoint_wake_bytes=32 * 1024,
                   max_wal_bytes=128 * 1024)
i = 0
while True:
    at = t0 + timedelta(seconds=i)
    order = Order("SPY", OrderSide.BUY, 10, OrderType.MARKET, at, client_order_id=f"k{i}")
    with store.batch():
        store.upsert_order(order)
        store.flush()
        order.transition(OrderStatus.SUBMITTED, at)
        order.add_fill(Fill(order.id, "SPY", OrderSide.BUY, 10, 100.0, at, fill_id=f"f{i}"))
        store.upsert_order(order)
    print(i, flush=True)
    i += 1
"""


def test_a_committed_fill_survives_kill_9_with_background_checkpoints(tmp_path, clock):
    path = tmp_path / "trades.db"
    printed = kill_9_after(CHILD, [str(path)], after=1_500)
    store = TradeStore(path, clock)
    assert store.db.integrity_check() == "ok"
    fills = {f.fill_id for f in store.get_fills()}
    missing = {f"f{i}" for i in printed} - fills
    assert not missing, f"{len(missing)} committed fills lost, e.g. {sorted(missing)[:5]}"
    filled = store.get_order_by_client_id(f"k{printed[-1]}")
    assert filled is not None and filled.status is OrderStatus.FILLED
    store.close()


def _bracket_day(store: TradeStore, day: int) -> None:
    """One bracket per symbol, written unit by unit: entry filled, stop filled, target cancelled."""
    for k, symbol in enumerate(("SPY", "QQQ")):
        minutes = day * 1440 + k
        made = T0 + timedelta(minutes=minutes)
        entry = Order(symbol, OrderSide.BUY, 100, OrderType.MARKET, made,
                      id=f"e{day}{symbol}", client_order_id=f"e{day}{symbol}")  # fmt: skip
        legs = [
            Order(symbol, OrderSide.SELL, 100, kind, made, limit, stop, parent_id=entry.id,
                  id=f"{kind.value}{day}{symbol}", client_order_id=f"{kind.value}{day}{symbol}")
            for kind, limit, stop in ((OrderType.STOP, None, 495.0), (OrderType.LIMIT, 510.0, None))
        ]  # fmt: skip
        store.upsert_orders([entry, *legs])
        at = T0 + timedelta(minutes=minutes + 1)
        entry.transition(OrderStatus.SUBMITTED, at)
        store.upsert_order(entry)
        entry.add_fill(_fill(entry, 100, 500.0, minutes + 1))
        store.upsert_order(entry)
        if day % 2:  # every other day the bracket is still open at the end
            continue
        stop, target = legs
        stop.transition(OrderStatus.SUBMITTED, at)
        stop.add_fill(_fill(stop, 100, 495.0, minutes + 2))
        target.transition(OrderStatus.CANCELLED, at)
        store.upsert_orders([stop, target])


def test_scratch_store_goes_without_the_daemon_order_indexes_and_answers_the_same(tmp_path, clock):
    daemon = TradeStore(tmp_path / "daemon" / "trades.db", clock)
    scratch = TradeStore(tmp_path / "scratch" / "trades.db", clock, scratch=True)
    for store in (daemon, scratch):
        for day in range(4):
            _bracket_day(store, day)

    def indexes(store: TradeStore) -> set[str]:
        return {r[0] for r in store.db.query("SELECT name FROM sqlite_master WHERE type='index'")}

    dropped = {"idx_orders_open", "idx_orders_parent", "idx_orders_symbol"}
    assert dropped <= indexes(daemon)
    assert indexes(scratch) == indexes(daemon) - dropped  # trades and fills keep theirs

    def answers(store: TradeStore) -> list[list[object]]:
        return [
            [(o.id, o.status, o.filled_quantity) for o in store.open_orders()],
            [o.id for day in range(4) for o in store.child_orders(f"e{day}SPY")],
            [o.id for o in store.get_orders(symbol="QQQ")],
            [o.id for o in store.get_orders(status=OrderStatus.CANCELLED)],
            [(f.order_id, f.price) for f in store.get_fills(symbol="SPY")],
        ]

    assert answers(scratch) == answers(daemon)
    assert len(answers(scratch)[0]) == 8  # 2 open brackets x 2 symbols x 2 working legs
    with pytest.raises(StorageError, match="client_order_id"):  # still unique
        scratch.upsert_order(_order("e0SPY"))
    daemon.close()
    scratch.close()
