"""Portfolio read-outs while flat and open, and the per-session entry counts from the store."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.models import Fill, OrderSide, PositionSide, Trade
from vibe.trading_bot.execution.portfolio import Portfolio
from vibe.trading_bot.execution.session import SessionCounters
from vibe.trading_bot.storage.trade_store import TradeStore

ET = ZoneInfo("America/New_York")
T0 = datetime(2025, 6, 5, 14, 0, tzinfo=UTC)


def fill(symbol: str, side: OrderSide, quantity: int, price: float, fee: float = 1.0) -> Fill:
    return Fill("o1", symbol, side, quantity, price, T0, fee)


def brute_equity(portfolio: Portfolio) -> float:
    value = sum(
        p.quantity * (p.last_price if p.last_price is not None else p.average_price)
        for p in portfolio._positions.values()
        if p.quantity
    )
    return portfolio.cash + value


def test_readouts_follow_positions_opening_flipping_and_closing() -> None:
    book = Portfolio(100_000.0)
    assert (book.equity, book.quantities(), book.has_open_positions) == (100_000.0, {}, False)
    steps = [
        fill("SPY", OrderSide.BUY, 100, 500.0),
        fill("QQQ", OrderSide.SELL, 50, 400.0),
        fill("SPY", OrderSide.SELL, 100, 501.0),  # SPY flat
        fill("QQQ", OrderSide.BUY, 80, 399.0),  # QQQ flips long 30
        fill("QQQ", OrderSide.SELL, 30, 398.5),  # all flat
    ]
    expected_open = [{"SPY": 100}, {"SPY": 100, "QQQ": -50}, {"QQQ": -50}, {"QQQ": 30}, {}]
    for step, quantities in zip(steps, expected_open, strict=True):
        book.apply_fill(step)
        book.mark(step.symbol, step.price + 0.25)
        assert book.quantities() == quantities
        assert book.has_open_positions is bool(quantities)
        assert book.equity == brute_equity(book)
        assert set(book.positions) == set(quantities)
    assert book.equity == book.cash
    assert book.market_value == 0
    assert book.position("QQQ") is None


def test_rebuilt_portfolio_knows_its_open_positions() -> None:
    fills = [fill("SPY", OrderSide.BUY, 10, 500.0), fill("QQQ", OrderSide.BUY, 5, 400.0)]
    book = Portfolio.from_fills(10_000.0, fills)
    assert book.has_open_positions
    assert book.quantities() == {"SPY": 10, "QQQ": 5}
    pos = book.position("SPY")
    assert pos is not None and pos.side is PositionSide.LONG


def day_trade(store: TradeStore, day: date, hour: int) -> None:
    entry = datetime.combine(day, time(hour), ET).astimezone(UTC)
    store.insert_trade(Trade("SPY", PositionSide.LONG, 10, entry, 500.0, "orb"))


@pytest.fixture
def store(tmp_path):
    db = TradeStore(tmp_path / "trades.db", SimulatedClock(T0))
    yield db
    db.close()


def test_session_counts_come_from_the_store(store: TradeStore) -> None:
    days = [date(2025, 6, d) for d in (2, 3, 4, 5, 6)]
    for day, count in zip(days, (1, 2, 0, 3, 1), strict=True):
        for i in range(count):
            day_trade(store, day, 10 + i)
    counters = SessionCounters(store)
    counters.start(date(2025, 6, 5), 100_000.0, window_start=date(2025, 6, 2))
    # today: the 3 entries of 06-05 plus the later one of 06-06 (entries at or after today)
    assert counters.trades_today == 4
    assert counters.day_trades_in_window == 3 + 4  # 06-02..06-04 plus today's count
    counters.start(date(2025, 6, 6), 100_000.0, window_start=date(2025, 6, 3))
    assert (counters.trades_today, counters.day_trades_in_window) == (1, 2 + 0 + 3 + 1)


def test_session_counts_without_a_window_start(store: TradeStore) -> None:
    day_trade(store, date(2025, 6, 4), 11)
    counters = SessionCounters(store)
    counters.start(date(2025, 6, 5), 50_000.0)  # window: sessions started in this run only
    assert (counters.trades_today, counters.day_trades_in_window) == (0, 0)
    day_trade(store, date(2025, 6, 5) + timedelta(days=1), 11)
    counters.start(date(2025, 6, 6), 50_000.0)
    assert (counters.trades_today, counters.day_trades_in_window) == (1, 1)
    assert counters.start_of_day_equity == 50_000.0
