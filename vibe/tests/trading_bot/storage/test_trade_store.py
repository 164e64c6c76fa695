"""TradeStore: trades CRUD and filters, P&L stats, orders, fills, positions, bad input."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from vibe.common.errors import InvalidInputError, StorageError
from vibe.common.models import (
    ExitReason,
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    Trade,
)
from vibe.tests.trading_bot.storage.conftest import T0
from vibe.trading_bot.storage.trade_store import TradeStatus, TradeStore


@pytest.fixture
def store(tmp_path, clock):
    s = TradeStore(tmp_path / "trades.db", clock)
    yield s
    s.close()


def _trade(symbol="SPY", side=PositionSide.LONG, qty=100, entry=500.0, minutes=0, **kw):
    return Trade(symbol, side, qty, T0 + timedelta(minutes=minutes), entry, **kw)


def _closed(entry, exit_, qty=10, side=PositionSide.LONG, fees=0.0, minutes=0, **kw):
    t = _trade(qty=qty, side=side, entry=entry, minutes=minutes, fees=fees, **kw)
    t.close(T0 + timedelta(minutes=minutes + 30), exit_, ExitReason.TAKE_PROFIT)
    return t


def test_insert_and_read_back_every_field(store, clock):
    trade = _closed(500.0, 505.0, qty=100, fees=2.0, strategy="orb", slippage_cost=1.5, minutes=15)
    trade_id = store.insert_trade(trade)
    assert trade.id == trade_id
    got = store.get_trade(trade_id)
    assert got == trade
    row = store.db.query("SELECT * FROM trades WHERE id = ?", (trade_id,))[0]
    assert row["status"] == "closed"
    assert row["pnl"] == pytest.approx(498.0)  # (505-500)*100 - 2
    assert row["pnl_pct"] == pytest.approx(498.0 / 50_000 * 100)
    assert row["exit_reason"] == "take_profit"
    assert row["created_at"] == "2025-07-03T13:30:00.000000+00:00"
    assert store.get_trade(trade_id + 1) is None
    assert store.db.schema_version == 2
    with pytest.raises(InvalidInputError, match="already has id"):
        store.insert_trade(trade)  # a second insert of the same object would duplicate it
    assert len(store.get_trades()) == 1


def test_update_closes_trade_and_recomputes_pnl(store, clock):
    trade_id = store.insert_trade(_trade(side=PositionSide.SHORT, qty=50, entry=200.0))
    clock.advance(3600)
    updated = store.update_trade(
        trade_id,
        exit_price=190.0,
        exit_time=T0 + timedelta(hours=1),
        exit_reason="stop_loss",
        fees=1.0,
    )
    assert updated.pnl == pytest.approx(499.0)  # short: (190-200)*50*-1 - 1
    row = store.db.query("SELECT * FROM trades WHERE id = ?", (trade_id,))[0]
    assert row["status"] == "closed"
    assert row["pnl"] == pytest.approx(499.0)
    assert row["exit_reason"] == "stop_loss"
    assert row["updated_at"] == "2025-07-03T14:30:00.000000+00:00"
    assert row["created_at"] == "2025-07-03T13:30:00.000000+00:00"
    assert store.get_trade(trade_id) == updated


def test_update_rejects_unknown_field_bad_value_and_missing_id(store):
    trade_id = store.insert_trade(_trade())
    before = store.get_trade(trade_id)
    with pytest.raises(InvalidInputError, match="pnl"):
        store.update_trade(trade_id, pnl=5.0)
    with pytest.raises(InvalidInputError, match="exit_price"):
        store.update_trade(trade_id, exit_price=math.nan, exit_time=T0 + timedelta(hours=1))
    with pytest.raises(InvalidInputError, match="both"):
        store.update_trade(trade_id, exit_price=501.0)
    with pytest.raises(InvalidInputError, match="before"):
        store.update_trade(trade_id, exit_price=501.0, exit_time=T0 - timedelta(hours=1))
    with pytest.raises(InvalidInputError, match="999"):
        store.update_trade(999, fees=1.0)
    assert store.get_trade(trade_id) == before


def test_get_trades_every_filter(store):
    a = store.insert_trade(_trade("SPY", minutes=0, strategy="orb"))
    b = store.insert_trade(_closed(100.0, 101.0, minutes=10, strategy="orb", symbol="QQQ"))
    c = store.insert_trade(_trade("SPY", minutes=20, strategy="other"))
    d = store.insert_trade(_closed(100.0, 99.0, minutes=30, strategy="orb", symbol="SPY"))

    def ids(**kw):
        return [t.id for t in store.get_trades(**kw)]

    assert ids() == [a, b, c, d]
    assert ids(symbol="SPY") == [a, c, d]
    assert ids(status="open") == [a, c]
    assert ids(status=TradeStatus.CLOSED) == [b, d]
    assert ids(strategy="orb") == [a, b, d]
    assert ids(start=T0 + timedelta(minutes=10)) == [b, c, d]
    assert ids(end=T0 + timedelta(minutes=20)) == [a, b]
    assert ids(start=T0 + timedelta(minutes=5), end=T0 + timedelta(minutes=25)) == [b, c]
    assert ids(symbol="SPY", status="closed", strategy="orb") == [d]
    assert ids(limit=2) == [a, b]
    assert ids(symbol="NOPE") == []
    with pytest.raises(InvalidInputError, match="status"):
        store.get_trades(status="half-open")
    with pytest.raises(InvalidInputError, match="limit"):
        store.get_trades(limit=0)
    with pytest.raises(InvalidInputError, match="naive"):
        store.get_trades(start=datetime(2025, 7, 3))  # noqa: DTZ001


def test_pnl_stats_on_hand_computed_trades(store):
    # net P&L: +100-2=98, -50-2=-52, +30-0=30, 0 (break-even), short +40-1=39 (other symbol)
    store.insert_trade(_closed(100.0, 110.0, qty=10, fees=2.0, strategy="orb", minutes=0))
    store.insert_trade(_closed(100.0, 95.0, qty=10, fees=2.0, strategy="orb", minutes=1))
    store.insert_trade(_closed(50.0, 53.0, qty=10, strategy="orb", minutes=2))
    store.insert_trade(_closed(20.0, 20.0, qty=10, strategy="orb", minutes=3))
    store.insert_trade(
        _closed(60.0, 56.0, qty=10, side=PositionSide.SHORT, fees=1.0, strategy="x", symbol="QQQ")
    )
    store.insert_trade(_trade(minutes=5, strategy="orb"))  # open: not counted

    spy = store.get_pnl_stats(symbol="SPY")
    assert (spy.count, spy.wins, spy.losses) == (4, 2, 1)
    assert spy.win_rate == pytest.approx(0.5)
    assert spy.total_pnl == pytest.approx(76.0)
    assert spy.avg_pnl == pytest.approx(19.0)
    assert spy.best_pnl == pytest.approx(98.0)
    assert spy.worst_pnl == pytest.approx(-52.0)
    assert spy.gross_profit == pytest.approx(128.0)
    assert spy.gross_loss == pytest.approx(52.0)
    assert spy.profit_factor == pytest.approx(128.0 / 52.0)

    everything = store.get_pnl_stats()
    assert everything.count == 5
    assert everything.total_pnl == pytest.approx(115.0)
    assert store.get_pnl_stats(strategy="x").profit_factor is None  # no losing trade
    assert store.get_pnl_stats(symbol="SPY", strategy="x").count == 0
    empty = store.get_pnl_stats(symbol="NONE")
    assert (empty.count, empty.win_rate, empty.avg_pnl, empty.best_pnl) == (0, 0.0, 0.0, None)


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("entry_price", math.nan, "entry_price"),
        ("exit_price", math.nan, "exit_price"),
        ("entry_price", -1.0, "entry_price"),
        ("quantity", -5, "quantity"),
        ("quantity", 1.5, "quantity"),
        ("entry_time", datetime(2025, 7, 3, 13, 30), "naive"),  # noqa: DTZ001
        ("exit_time", datetime(2025, 7, 3, 14, 30), "naive"),  # noqa: DTZ001
        ("fees", math.inf, "fees"),
        ("symbol", "", "symbol"),
        ("side", "sideways", "sideways"),
    ],
)
def test_bad_trade_rejected_and_nothing_written(store, field, value, named):
    trade = _closed(100.0, 101.0)
    setattr(trade, field, value)  # Trade validates on construction; mutation bypasses it
    with pytest.raises(InvalidInputError, match=named):
        store.insert_trade(trade)
    assert store.db.query("SELECT count(*) FROM trades")[0][0] == 0
    assert trade.id is None


def test_constructor_rejects_bad_trades_too():
    with pytest.raises(InvalidInputError):
        _trade(entry=math.nan)
    with pytest.raises(InvalidInputError):
        _trade(qty=-1)


def _order(symbol="SPY", side=OrderSide.BUY, qty=100, minutes=0, **kw):
    return Order(symbol, side, qty, OrderType.MARKET, T0 + timedelta(minutes=minutes), **kw)


def _fill(order, qty, price, minutes=1, commission=0.5):
    at = T0 + timedelta(minutes=minutes)
    return Fill(order.id, order.symbol, order.side, qty, price, at, commission, 0.25)


def test_orders_with_history_and_fills_round_trip(store):
    order = _order(client_order_id="cid-1")
    store.upsert_order(order)
    assert store.get_order(order.id) == order
    order.transition(OrderStatus.SUBMITTED, T0 + timedelta(seconds=1))
    order.add_fill(_fill(order, 40, 500.0))
    store.upsert_order(order)
    order.add_fill(_fill(order, 60, 501.0, minutes=2))
    store.upsert_order(order)
    store.upsert_order(order)  # idempotent
    got = store.get_order(order.id)
    assert got == order
    assert got.status is OrderStatus.FILLED
    assert [s for s, _ in got.history] == [
        OrderStatus.PENDING,
        OrderStatus.SUBMITTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
    ]
    assert got.average_fill_price == pytest.approx(500.6)
    assert len(store.get_fills(order_id=order.id)) == 2
    assert store.get_order("missing") is None


def test_count_entries_split_at_a_time_agrees_with_get_trades(store):
    assert store.count_entries(T0, T0) == (0, 0)  # empty table
    for minutes in (0, 10, 20, 30):
        store.insert_trade(_trade("SPY", minutes=minutes))
    for start, split in [(0, 15), (5, 20), (0, 0), (31, 40), (10, 10)]:
        lo, mid = T0 + timedelta(minutes=start), T0 + timedelta(minutes=split)
        before = len(store.get_trades(start=lo, end=mid))
        after = len(store.get_trades(start=max(lo, mid)))
        assert store.count_entries(lo, mid) == (before, after), (start, split)
    with pytest.raises(InvalidInputError, match="naive"):
        store.count_entries(datetime(2025, 7, 3), T0)  # noqa: DTZ001


def test_open_orders_and_filters(store):
    working = _order(minutes=0)
    working.transition(OrderStatus.SUBMITTED, T0)
    rejected = _order("QQQ", minutes=1)
    rejected.transition(OrderStatus.REJECTED, T0, reason="insufficient_buying_power")
    pending = _order("QQQ", side=OrderSide.SELL, minutes=2)
    for o in (working, rejected, pending):
        store.upsert_order(o)
    assert [o.id for o in store.open_orders()] == [working.id, pending.id]
    assert [o.id for o in store.get_orders(symbol="QQQ")] == [rejected.id, pending.id]
    assert [o.id for o in store.get_orders(status="rejected")] == [rejected.id]
    assert store.get_order(rejected.id).reject_reason == "insufficient_buying_power"
    with pytest.raises(InvalidInputError, match="order status"):
        store.get_orders(status="lost")


def test_duplicate_client_order_id_is_refused(store):
    store.upsert_order(_order(client_order_id="same"))
    with pytest.raises(StorageError, match=r"trades\.db"):
        store.upsert_order(_order(client_order_id="same"))
    assert len(store.get_orders()) == 1


def test_bad_order_or_fill_writes_nothing(store):
    order = _order()
    order.quantity = -3
    with pytest.raises(InvalidInputError, match="quantity"):
        store.upsert_order(order)
    good = _order()
    fill = _fill(good, 10, 500.0)
    object.__setattr__(fill, "price", math.nan)
    with pytest.raises(InvalidInputError, match="price"):
        store.upsert_fill(fill)
    good.fills.append(fill)
    with pytest.raises(InvalidInputError, match="price"):
        store.upsert_order(good)
    assert store.get_orders() == [] and store.get_fills() == []


def test_open_positions_rebuilt_from_fills_after_reopen(tmp_path, clock):
    path = tmp_path / "trades.db"
    store = TradeStore(path, clock)
    buy = _order(qty=100)
    buy.transition(OrderStatus.SUBMITTED, T0)
    buy.add_fill(_fill(buy, 100, 500.0, minutes=1))
    store.upsert_order(buy)
    sell = _order(side=OrderSide.SELL, qty=40, minutes=5)
    store.upsert_fill(_fill(sell, 40, 510.0, minutes=6))
    short = _order("QQQ", side=OrderSide.SELL, qty=10, minutes=7)
    store.upsert_fill(_fill(short, 10, 400.0, minutes=8))
    flat_buy = _order("AAPL", qty=5)
    flat_sell = _order("AAPL", side=OrderSide.SELL, qty=5)
    store.upsert_fill(_fill(flat_buy, 5, 200.0, minutes=9))
    store.upsert_fill(_fill(flat_sell, 5, 201.0, minutes=10))
    store.close()

    reopened = TradeStore(path, clock)
    positions = reopened.open_positions()
    assert set(positions) == {"SPY", "QQQ"}
    spy = positions["SPY"]
    assert spy.quantity == 60
    assert spy.average_price == pytest.approx(500.0)
    assert spy.realized_pnl == pytest.approx(400.0)  # 40 * (510 - 500)
    assert spy.fees == pytest.approx(1.0)
    assert positions["QQQ"].quantity == -10
    reopened.close()


def test_fill_stored_twice_is_kept_once(store):
    order = _order()
    fill = _fill(order, 10, 500.0)
    store.upsert_fill(fill)
    store.upsert_fill(replace(fill))
    assert store.get_fills() == [fill]


def test_corrupt_file_is_named_and_kept(tmp_path, clock):
    path = tmp_path / "trades.db"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(StorageError, match=r"trades\.db"):
        TradeStore(path, clock)
    assert path.read_bytes() == b"garbage" * 1000
