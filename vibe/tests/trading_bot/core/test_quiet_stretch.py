"""A backtest that fast-forwards quiet bars equals one that processes every bar.

The backtest loop takes in stretches of bars that need no decision at once
(``BarProcessor.quiet_end`` / ``pass_quiet``: the strategy idle, no working order
within reach, at most one position open). Here the production orchestrator runs
the same backtest twice on real bars: with the ORB strategy as configured, and with
one that never declares itself idle (so every bar goes through ``process``). Trades,
rejections and the equity curve (every point, to the bit) must be equal, and the
first run must really have skipped bars.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from vibe.common.clock import LiveClock
from vibe.common.models import Order, OrderSide, OrderStatus, OrderType
from vibe.common.strategies.orb import OrbStrategy
from vibe.tests import kit
from vibe.tests.conftest import REPO_ROOT
from vibe.trading_bot.core.bar_columns import BarColumns
from vibe.trading_bot.core.orchestrator import Orchestrator
from vibe.trading_bot.core.run_plan import RunMode, RunPlan
from vibe.trading_bot.core.trading_stack import orb_params
from vibe.trading_bot.data.bar_table import BarTable
from vibe.trading_bot.exchange.commission import ZeroCommission
from vibe.trading_bot.exchange.fill_rules import reference_fill_price
from vibe.trading_bot.exchange.mock_exchange import MockExchange
from vibe.trading_bot.exchange.slippage import NoSlippage
from vibe.trading_bot.storage.trade_store import TradeStore

SAMPLE = REPO_ROOT / "examples" / "data"
SEVEN = ("AAPL", "AMZN", "GOOGL", "MSFT", "QQQ", "SPY", "TSLA")


class NeverIdle(OrbStrategy):
    """The ORB rules without the idle promise: every bar goes through ``on_bar``."""

    def idle_until(self, symbol: str) -> datetime | None:
        return None


@dataclass
class Run:
    """What a backtest left: trades (as rows), equity curve, exposure, rejections, bar counts."""

    trades: list[tuple[Any, ...]]
    curve: list[tuple[datetime, float]]
    in_market: list[bool]
    rejections: dict[str, int]
    bars: int
    quiet: int


def backtest(
    tmp_path: Path, data: Path, symbols: tuple[str, ...], timeframe: str, span: tuple[date, date],
    idle: bool, **overrides: Any,
) -> Run:  # fmt: skip
    folder = tmp_path / ("fast" if idle else "every-bar")
    app = kit.settings(folder, symbols=",".join(symbols), timeframe=timeframe, **overrides)
    strategy = (OrbStrategy if idle else NeverIdle)(orb_params(app))
    plan = RunPlan(
        RunMode.BACKTEST, folder / "data", symbols, timeframe, replay_dir=data,
        start=span[0], end=span[1], serve_health=False, notify=False, cloud_sync=False,
        record_equity=True, resume=False,
    )  # fmt: skip
    outcome = asyncio.run(Orchestrator(app, plan, handle_signals=False, strategy=strategy).run())
    processor = outcome.daemon.processor
    assert processor is not None
    curve = processor.take_equity_curve()  # as run_backtest does: handed over, not copied
    assert curve and processor.equity_curve == []
    store = TradeStore.in_data_dir(folder / "data", LiveClock())
    try:
        trades = [(*dataclasses.astuple(t), t.pnl) for t in store.get_trades()]
    finally:
        store.close()
    return Run(
        trades, curve, processor.in_market, dict(processor.rejections),
        processor.bars_processed, processor.quiet_bars,
    )  # fmt: skip


CASES = {
    # seven symbols at once (bar groups of several symbols, up to several positions),
    # shorts and a tight target: many exits mid-session, then quiet bars until the close
    "seven-5m-shorts": (SAMPLE, SEVEN, "5m", (date(2025, 6, 5), date(2025, 8, 28)),
                        {"trend_filter": "false", "allow_short": "true", "take_profit_r": "1.0",
                         "max_open_positions": "3"}),
    # a cash account that refuses entries at the fill
    "seven-5m-full-size": (SAMPLE, SEVEN, "5m", (date(2025, 6, 5), date(2025, 8, 28)),
                           {"trend_filter": "false", "max_position_pct": "100"}),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_forward_equals_every_bar(tmp_path: Path, case: str) -> None:
    data, symbols, timeframe, span, overrides = CASES[case]
    fast = backtest(tmp_path, data, symbols, timeframe, span, True, **overrides)
    every = backtest(tmp_path, data, symbols, timeframe, span, False, **overrides)
    assert every.quiet == 0
    assert fast.quiet > fast.bars // 4, "the fast path skipped too little to be tested"
    assert len(fast.trades) >= 20
    assert fast.trades == every.trades
    assert fast.rejections == every.rejections
    assert fast.bars == every.bars
    assert fast.in_market == every.in_market
    assert fast.curve == every.curve  # every point, exact floats


def test_fast_forward_equals_every_bar_spy_1m(tmp_path: Path, shared_data: Path) -> None:
    """Two months of real SPY minutes, no volume filter: a trade most sessions."""
    data = shared_data / "bars_1m" / "alpaca_spy_2024-03_2025-04"
    span = (date(2024, 9, 3), date(2024, 10, 31))
    fast = backtest(tmp_path, data, ("SPY",), "1m", span, True, volume_filter="false")
    every = backtest(tmp_path, data, ("SPY",), "1m", span, False, volume_filter="false")
    assert fast.quiet > fast.bars // 2
    assert len(fast.trades) >= 30
    assert (fast.trades, fast.rejections, fast.bars) == (every.trades, every.rejections, every.bars)
    assert fast.in_market == every.in_market
    assert fast.curve == every.curve


def test_quiet_band_never_hides_a_fill(shared_data: Path) -> None:
    """For real bars and bracket legs around them, a bar the band calls quiet fills no leg."""
    from vibe.trading_bot.data.bar_csv import read_bar_csv

    frame, _ = read_bar_csv(shared_data / "bars_1m" / "alpaca_spy_2024-03_2025-04" / "SPY_1m.csv")
    quiet = touched = 0
    for bar in BarColumns.of("SPY", BarTable.from_frame(frame), 60).bars(0, 5000):
        for offset in (0.0, 0.05, 0.2):  # legs at, just beyond and beyond the bar's range
            legs = [
                Order("SPY", OrderSide.SELL, 10, OrderType.STOP, bar.timestamp,
                      stop_price=bar.low - offset),
                Order("SPY", OrderSide.SELL, 10, OrderType.LIMIT, bar.timestamp,
                      limit_price=bar.high + offset),
                Order("SPY", OrderSide.BUY, 10, OrderType.STOP, bar.timestamp,
                      stop_price=bar.high + offset),
                Order("SPY", OrderSide.BUY, 10, OrderType.LIMIT, bar.timestamp,
                      limit_price=bar.low - offset),
            ]  # fmt: skip
            low, high = band_of(legs)
            fills = [reference_fill_price(leg, bar) for leg in legs]
            if bar.low > low and bar.high < high:
                quiet += 1
                assert fills == [None] * 4, (bar, offset)
            elif any(f is not None for f in fills):
                touched += 1
    assert quiet > 1000 and touched > 1000  # both sides of the rule were exercised


def band_of(orders: list[Order]) -> tuple[float, float]:
    """The exchange's quiet band for ``orders`` working (active) in a fresh paper exchange."""

    for order in orders:
        order.transition(OrderStatus.SUBMITTED, order.created_at)
        order.transition(OrderStatus.ACCEPTED, order.created_at)
    exchange = MockExchange(LiveClock(), NoSlippage(), ZeroCommission(), 1e9)
    exchange.restore(orders, [], 1e9)
    return exchange.quiet_band("SPY")
