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
from vibe.tests import kit
from vibe.trading_bot.core.health_reporter import RecordingHealthReporter
from vibe.trading_bot.exchange.mock_exchange import MockExchange
from vibe.trading_bot.execution.notifier import RecordingNotifier
from vibe.trading_bot.execution.order_manager import OrderManager
from vibe.trading_bot.execution.recovery import RecoveryReport
from vibe.trading_bot.execution.trade_executor import TradeExecutor
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
    """Build rigs through the production wiring (:func:`vibe.tests.kit.stack`)."""
    made: list[kit.KitStack] = []

    def build(
        name: str = "trades",
        *,
        clock: SimulatedClock | None = None,
        recover: bool = False,
        **options: Any,
    ) -> Rig:
        # ``recover``: kept for readability at the call sites; every stack is restored
        # from its trades.db, which is empty for a new name
        clock = clock or SimulatedClock(OPEN)
        built = kit.stack(tmp_path, clock, name=name, **options)
        made.append(built)
        s = built.stack
        return Rig(
            clock, built.store, built.metrics, s.exchange, s.orders, s.executor,
            built.health, built.notifier, s.recovery if recover else None,
        )  # fmt: skip

    yield build
    for stack in made:
        stack.close()
