"""The test kit: parts of the daemon built through the production builders.

Like NautilusTrader's ``test_kit/stubs``: tests get their stack, daemon and
settings from here, and the wiring they exercise is the wiring shipped.

* :func:`settings` - :class:`AppSettings` for a ``tmp_path`` (``DATA_DIR`` there,
  no ``.env``), with overrides by setting name;
* :func:`stack` - the trading stack through
  :func:`~vibe.trading_bot.core.trading_stack.assemble_stack` (the one wiring of
  every mode) on a real ``trades.db``, with the venue, risk limits and notifier a
  test chooses (default: no slippage, no commission, any symbol, always open);
* :func:`daemon` - a finished :class:`~vibe.trading_bot.core.components.Daemon`
  from :class:`~vibe.trading_bot.core.components.ComponentBuilder` for a replay
  or backtest plan, alerts kept in a :class:`RecordingNotifier`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from vibe.common.clock import Clock
from vibe.common.risk import RiskManager, RiskParams
from vibe.common.strategies.base import Strategy
from vibe.common.strategies.orb import OrbStrategy
from vibe.common.strategies.orb_rules import OrbParams
from vibe.trading_bot.config.loader import load_settings
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.components import ComponentBuilder, Daemon
from vibe.trading_bot.core.health_reporter import RecordingHealthReporter
from vibe.trading_bot.core.orchestrator import Orchestrator
from vibe.trading_bot.core.run_plan import RunMode, RunPlan
from vibe.trading_bot.core.trading_stack import TradingStack, assemble_stack
from vibe.trading_bot.exchange.commission import CommissionModel, ZeroCommission
from vibe.trading_bot.exchange.mock_exchange import MockExchange
from vibe.trading_bot.exchange.slippage import NoSlippage, SlippageModel
from vibe.trading_bot.execution.notifier import RecordingNotifier
from vibe.trading_bot.execution.reporting import ExecutionReporter
from vibe.trading_bot.execution.trade_executor import ExecutorConfig
from vibe.trading_bot.storage.metrics_store import MetricsStore
from vibe.trading_bot.storage.trade_store import TradeStore


def settings(tmp_path: Path, **overrides: Any) -> AppSettings:
    """Settings with ``DATA_DIR=tmp_path/data`` and no ``.env``; ``overrides`` by setting name."""
    return load_settings(None, {"data_dir": str(tmp_path / "data"), **overrides})


@dataclass
class KitStack:
    """A trading stack on real SQLite files, with what a test inspects.

    Attributes:
        stack: the wired stack (venue, orders, executor, strategy, recovery report).
        store: ``trades.db``; ``metrics``: ``metrics.db``.
        health: what the execution path reported.
        notifier: the alerts, kept in memory.
    """

    stack: TradingStack
    store: TradeStore
    metrics: MetricsStore
    health: RecordingHealthReporter
    notifier: RecordingNotifier

    def close(self) -> None:
        """Close the stores."""
        self.store.close()
        self.metrics.close()


def stack(
    folder: Path,
    clock: Clock,
    *,
    name: str = "trades",
    cash: float = 100_000.0,
    risk: RiskParams | None = None,
    strategy: Strategy | None = None,
    slippage: SlippageModel | None = None,
    commission: CommissionModel | None = None,
    max_errors: int = 5,
    take_profit_r: float = 2.0,
    **venue: Any,
) -> KitStack:
    """The production stack (:func:`assemble_stack`) around a paper venue of the test's choosing.

    ``venue`` goes to :class:`MockExchange` (``symbols``, ``max_volume_participation``,
    ``is_market_open``). On a ``name.db`` that holds orders and fills, the stack
    is restored from it, as at a daemon's restart.
    """
    health = RecordingHealthReporter()
    store = TradeStore(folder / f"{name}.db", clock)
    metrics = MetricsStore(folder / f"{name}_metrics.db", clock)
    exchange = MockExchange(
        clock, slippage or NoSlippage(), commission or ZeroCommission(), cash, **venue
    )
    notifier = RecordingNotifier()
    reporter = ExecutionReporter(clock, health, notifier, metrics)
    config = ExecutorConfig(
        initial_capital=cash, take_profit_r=take_profit_r, max_consecutive_errors=max_errors
    )
    chosen = strategy or OrbStrategy(OrbParams(take_profit_r=take_profit_r))
    built = assemble_stack(
        exchange, store, clock, health, reporter, RiskManager(risk or RiskParams()), config, chosen
    )
    return KitStack(built, store, metrics, health, notifier)


def replay_plan(
    app: AppSettings,
    data: Path,
    symbols: Sequence[str],
    start: date,
    end: date,
    *,
    mode: RunMode = RunMode.REPLAY,
    timeframe: str = "5m",
) -> RunPlan:
    """A replay (or backtest) plan over ``data`` without cloud sync, alerts or probes."""
    return RunPlan(
        mode,
        app.storage.data_dir,
        tuple(symbols),
        timeframe,
        replay_dir=data,
        start=start,
        end=end,
        notify=False,
        cloud_sync=False,
        serve_health=False,
    )


async def daemon(app: AppSettings, plan: RunPlan) -> tuple[Daemon, RecordingNotifier]:
    """A finished daemon for ``plan`` from the production builder, on a simulated clock
    at the first warm-up session (the run context an :class:`Orchestrator` makes).

    Alerts go to the returned :class:`RecordingNotifier`. Call
    ``await daemon.service.shutdown()`` at the end to close what it opened.
    """
    context = Orchestrator(app, plan, handle_signals=False).context  # the production context
    notifier = RecordingNotifier()
    return await ComponentBuilder(context, notifier).build(), notifier
