"""Real parts for the execution tests: SQLite in tmp_path, the mock exchange, a simulated clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.models import Bar, ExitReason, Signal, SignalAction
from vibe.common.risk import RiskManager, RiskParams
from vibe.trading_bot.core.health_reporter import RecordingHealthReporter
from vibe.trading_bot.exchange.commission import CommissionModel, ZeroCommission
from vibe.trading_bot.exchange.mock_exchange import MockExchange
from vibe.trading_bot.exchange.slippage import NoSlippage, SlippageModel
from vibe.trading_bot.execution.notifier import RecordingNotifier
from vibe.trading_bot.execution.order_manager import OrderManager, RecoveryReport
from vibe.trading_bot.execution.reporting import ExecutionReporter
from vibe.trading_bot.execution.trade_executor import (
    ExecutorConfig,
    TradeExecutor,
    restored_book,
)
from vibe.trading_bot.storage.metrics_store import MetricsStore
from vibe.trading_bot.storage.trade_store import TradeStore

OPEN = datetime(2024, 3, 26, 13, 30, tzinfo=UTC)  # 09:30 ET


def bar(minute: int, o: float, h: float, lo: float, c: float, v: int = 1_000_000, sym="SPY") -> Bar:
    return Bar(sym, OPEN + timedelta(minutes=minute), o, h, lo, c, v)


def entry_signal(
    minute: int, price: float, stop: float, short: bool = False, sym: str = "SPY", **kw: Any
) -> Signal:
    action = SignalAction.OPEN_SHORT if short else SignalAction.OPEN_LONG
    when = OPEN + timedelta(minutes=minute + 1)
    return Signal(sym, action, when, price, stop_price=stop, strategy="orb", **kw)


def close_signal(minute: int, price: float, reason: ExitReason, sym: str = "SPY") -> Signal:
    when = OPEN + timedelta(minutes=minute + 1)
    return Signal(sym, SignalAction.CLOSE, when, price, exit_reason=reason, strategy="orb")


@dataclass
class Rig:
    """One wired execution stack."""

    clock: SimulatedClock
    store: TradeStore
    metrics: MetricsStore
    exchange: MockExchange
    orders: OrderManager
    executor: TradeExecutor
    health: RecordingHealthReporter
    notifier: RecordingNotifier
    report: RecoveryReport | None = None
    events: list[Any] = field(default_factory=list)

    def feed(self, b: Bar) -> None:
        """The driver's order: clock to the bar's start, fill, clock to its close."""
        self.clock.advance_to(b.timestamp)
        self.executor.on_bar(b)
        self.clock.advance_to(b.end)

    def close(self) -> None:
        self.store.close()
        self.metrics.close()


RigFactory = Callable[..., Rig]


@pytest.fixture
def make_rig(tmp_path: Path) -> Iterator[RigFactory]:
    made: list[Rig] = []

    def build(
        name: str = "trades",
        *,
        clock: SimulatedClock | None = None,
        slippage: SlippageModel | None = None,
        commission: CommissionModel | None = None,
        cash: float = 100_000.0,
        risk: RiskParams | None = None,
        max_errors: int = 5,
        recover: bool = False,
        **exchange_kw: Any,
    ) -> Rig:
        clock = clock or SimulatedClock(OPEN)
        health = RecordingHealthReporter()
        store = TradeStore(tmp_path / f"{name}.db", clock)
        metrics = MetricsStore(tmp_path / f"{name}_metrics.db", clock)
        exchange = MockExchange(
            clock, slippage or NoSlippage(), commission or ZeroCommission(), cash, **exchange_kw
        )
        report = None
        if recover:
            from vibe.trading_bot.execution.order_manager import seed_mock_exchange

            seed_mock_exchange(exchange, store, cash)
        orders = OrderManager(store, exchange, clock, health)
        book = None
        if recover:
            report = orders.recover()
            book = restored_book(store, report, cash)
        notifier = RecordingNotifier()
        executor = TradeExecutor(
            orders,
            exchange,
            RiskManager(risk or RiskParams()),
            clock,
            health,
            ExecutionReporter(clock, health, notifier, metrics),
            ExecutorConfig(
                initial_capital=cash, take_profit_r=2.0, max_consecutive_errors=max_errors
            ),
            book,
        )
        rig = Rig(clock, store, metrics, exchange, orders, executor, health, notifier, report)
        made.append(rig)
        return rig

    yield build
    for rig in made:
        rig.close()
