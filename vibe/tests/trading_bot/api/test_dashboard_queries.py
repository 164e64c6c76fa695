"""The dashboard's store reads and bar tape on real SQLite files, and its event ids.

Prices: the AAPL short the replay of ``examples/data`` trades on 2025-06-05
(entry 13:50 UTC at 202.489749, stopped out 15:20 UTC at 203.860384, 123 shares).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from vibe.common.clock import SimulatedClock
from vibe.common.models import Bar, ExitReason, Fill, OrderSide, PositionSide, Trade
from vibe.trading_bot.api.events import EventCursor
from vibe.trading_bot.api.queries import (
    fills_after,
    health_changes_after,
    last_health_id,
    recent_trades_json,
)
from vibe.trading_bot.api.schemas import TradeOut
from vibe.trading_bot.api.serialize import trade_out
from vibe.trading_bot.core.bar_tape import BarTape
from vibe.trading_bot.core.health_reporter import STATE_CHANGED
from vibe.trading_bot.storage.log_store import LogStore
from vibe.trading_bot.storage.trade_store import TradeStore

OPEN = datetime(2025, 6, 5, 13, 30, tzinfo=UTC)
ENTRY, EXIT = OPEN + timedelta(minutes=20), OPEN + timedelta(minutes=110)


@pytest.fixture
def store(tmp_path: Path) -> TradeStore:
    trades = TradeStore.in_data_dir(tmp_path, SimulatedClock(OPEN))
    entry = Fill("o1", "AAPL", OrderSide.SELL, 123, 202.489749, ENTRY, 1.0, 2.4909, "f1")
    trades.upsert_fill(entry)
    trade_id = trades.insert_trade(
        Trade("AAPL", PositionSide.SHORT, 123, ENTRY, 202.489749, "orb", fees=1.0)
    )
    trades.insert_trade(Trade("MSFT", PositionSide.LONG, 50, EXIT, 465.1, "orb"))
    exit_fill = Fill("o2", "AAPL", OrderSide.BUY, 123, 203.860384, EXIT, 1.0, 2.5072, "f2")
    trades.upsert_fill(exit_fill)
    trades.update_trade(
        trade_id,
        exit_time=EXIT,
        exit_price=203.860384,
        exit_reason=ExitReason.STOP_LOSS,
        fees=2.0,
        slippage_cost=4.9981,
    )
    return trades


def test_trades_built_by_sqlite_are_the_trade_models(store: TradeStore):
    as_json = TypeAdapter(list[TradeOut]).validate_json(recent_trades_json(store, None, None, 10))
    expected = [trade_out(trade) for trade in store.get_trades()]
    assert [t.model_dump(exclude={"entry_price", "exit_price"}) for t in as_json] == [
        t.model_dump(exclude={"entry_price", "exit_price"}) for t in expected
    ]
    assert as_json[0].pnl_usd == pytest.approx(-170.59) and as_json[0].status == "closed"
    assert as_json[0].entry_price == pytest.approx(expected[0].entry_price, abs=1e-9)
    newest = TypeAdapter(list[TradeOut]).validate_json(recent_trades_json(store, None, None, 1))
    assert [t.symbol for t in newest] == ["MSFT"]
    since = recent_trades_json(store, "AAPL", EXIT, 10)
    assert since == "[]"


def test_a_fill_comes_with_the_trade_it_closed(store: TradeStore):
    stored = fills_after(store, 0, 10)
    assert [(s.fill.fill_id, s.closed is not None) for s in stored] == [("f1", False), ("f2", True)]
    assert stored[1].closed is not None and stored[1].closed.exit_reason is ExitReason.STOP_LOSS
    assert [s.fill.fill_id for s in fills_after(store, stored[0].rowid, 10)] == ["f2"]


def bar(minute: int, high: float, low: float) -> Bar:
    start = OPEN + timedelta(minutes=minute)
    return Bar("AAPL", start, low + 0.1, high, low, high - 0.1, 100_000, 300)


def test_the_tape_keeps_bars_in_order_with_the_opening_range_so_far():
    tape = BarTape(orb_minutes=15, max_bars_per_symbol=3)
    tape.begin_session(OPEN)
    for minute, high, low in ((0, 203.0, 202.0), (5, 204.0, 202.5), (10, 203.5, 201.5)):
        tape.record_group([bar(minute, high, low)], OPEN + timedelta(minutes=minute + 5), 1e5)
    tape.record_group([bar(15, 209.0, 200.0)], OPEN + timedelta(minutes=20), 100_010.0)
    taped = tape.bars("AAPL")
    assert [t.seq for t in taped] == [2, 3, 4]  # at most 3 kept
    assert taped[-1].opening_range == taped[-2].opening_range  # a bar after the range
    ranges = tape.opening_ranges(taped)
    assert [(r.high, r.low) for r in ranges] == [(204.0, 201.5)]
    assert [t.seq for t in tape.after(3)] == [4] and tape.after(4) == []
    assert tape.marks(OPEN + timedelta(minutes=20)) == [(OPEN + timedelta(minutes=20), 100_010.0)]
    with pytest.raises(ValueError, match="orb_minutes=0"):
        BarTape(orb_minutes=0)


def test_event_ids_round_trip_and_restart_bars_for_another_process():
    cursor = EventCursor("a1b2c3d4", 17, True, 340, 88)
    assert cursor.text == "a1b2c3d4.17t.340.88"
    assert EventCursor.parse(cursor.text, "a1b2c3d4") == cursor
    assert EventCursor.parse("a1b2c3d4.17.340.88", "ffff0000").bar == 0
    with pytest.raises(ValueError, match="Last-Event-ID='17'"):
        EventCursor.parse("17", "a1b2c3d4")


def test_health_changes_are_read_from_the_service_log(tmp_path: Path):
    logs = LogStore.in_data_dir(tmp_path, SimulatedClock(OPEN))
    logs.insert_log("INFO", "vibe.trading_bot.core.health_reporter", "heartbeat")
    change = {"component": "market_data", "previous": "healthy", "state": "degraded"}
    line = logs.insert_log(
        "WARNING", "vibe.trading_bot.core.health_reporter", STATE_CHANGED, {**change, "reason": "x"}
    )
    assert last_health_id(logs, 0) == line and last_health_id(logs, line) == line
    (found,) = health_changes_after(logs, 0, 10)
    assert (found.id, found.component, found.state, found.at) == (
        line,
        "market_data",
        "degraded",
        OPEN,
    )
    assert health_changes_after(logs, line, 10) == []
