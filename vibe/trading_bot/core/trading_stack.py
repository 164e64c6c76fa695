"""The trading stack built from settings: exchange, order manager, risk, executor, strategy.

One function builds it the same way for live trading, ``run --replay`` and
``backtest`` (the parity of their trades rests on this). On a database that
already holds orders and fills, the mock exchange is re-seeded from it and the
order manager reconciles both views before the first bar (see
:meth:`OrderManager.recover`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from vibe.common.clock import Clock
from vibe.common.risk import RiskManager, RiskParams
from vibe.common.strategies.base import Strategy
from vibe.common.strategies.orb import OrbStrategy
from vibe.common.strategies.orb_rules import OrbParams
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.health_reporter import HealthReporter
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.exchange.commission import build_commission_model
from vibe.trading_bot.exchange.mock_exchange import MockExchange
from vibe.trading_bot.exchange.slippage import build_slippage_model
from vibe.trading_bot.execution.book import restored_book
from vibe.trading_bot.execution.notifier import Notifier
from vibe.trading_bot.execution.order_manager import OrderManager
from vibe.trading_bot.execution.recovery import RecoveryReport, seed_mock_exchange
from vibe.trading_bot.execution.reporting import DEFAULT_METRICS_BATCH, ExecutionReporter
from vibe.trading_bot.execution.trade_executor import ExecutorConfig, TradeExecutor
from vibe.trading_bot.storage.metrics_store import MetricsStore
from vibe.trading_bot.storage.trade_store import TradeStore

CLOSING_GRACE_SECONDS = 300.0
#: Metrics per writer transaction in a backtest. Nobody reads them before the run ends,
#: and a batch written while the bar loop runs makes the writer thread and the loop
#: trade the GIL at every row (~60 ms of wall for 1,000 rows, against ~12 ms alone):
#: a year of one symbol (~1,500 metrics, ~0.6 MB buffered) is written once, at the end.
BACKTEST_METRICS_BATCH = 16_384


class SessionWindow:
    """When the paper venue accepts orders: in session, plus a grace after the close.

    The grace (``CLOSING_GRACE_SECONDS`` = 300 s) admits the end-of-day flatten
    that the daemon sends once the session's last bar has arrived, just after the
    close; it fills at that last bar's close, like a market-on-close order.

    Args:
        scheduler: the market calendar.
        grace_seconds: seconds after the close during which orders are accepted.
    """

    def __init__(
        self, scheduler: MarketScheduler, grace_seconds: float = CLOSING_GRACE_SECONDS
    ) -> None:
        self._scheduler = scheduler
        self._grace = timedelta(seconds=grace_seconds)

    def __call__(self, at: datetime) -> bool:
        """True when an order sent at ``at`` (tz-aware) is accepted."""
        return self._scheduler.is_open(at) or self._scheduler.is_open(at - self._grace)


@dataclass
class TradingStack:
    """The wired execution path (see module doc)."""

    exchange: MockExchange
    orders: OrderManager
    executor: TradeExecutor
    strategy: Strategy
    recovery: RecoveryReport


def orb_params(settings: AppSettings) -> OrbParams:
    """The strategy parameters from ``settings.strategy`` (same field names)."""
    names = {f.name for f in dataclasses.fields(OrbParams)}
    values = settings.strategy.model_dump()
    return OrbParams(**{k: v for k, v in values.items() if k in names})


def risk_params(settings: AppSettings) -> RiskParams:
    """The risk limits from ``settings.risk`` (same field names).

    ``slippage_reserve_bps`` is the configured slippage model's worst case, so
    sizing reserves cash for the fill the exchange will actually book.
    """
    names = {f.name for f in dataclasses.fields(RiskParams)}
    values = settings.risk.model_dump()
    values["slippage_reserve_bps"] = build_slippage_model(settings.exchange).worst_case_bps
    return RiskParams(**{k: v for k, v in values.items() if k in names})


def execution_reporter(
    clock: Clock,
    health: HealthReporter,
    notifier: Notifier | None,
    metrics: MetricsStore | None,
    *,
    backtest: bool = False,
) -> ExecutionReporter:
    """The executor's alert queue and metrics buffer; a ``backtest`` batches metrics per run.

    Backtest metrics are read only after the run, so they are written in batches
    of :data:`BACKTEST_METRICS_BATCH`, not at every session boundary.
    """
    if backtest:
        return ExecutionReporter(
            clock, health, notifier, metrics, BACKTEST_METRICS_BATCH, flush_at_boundaries=False
        )
    return ExecutionReporter(clock, health, notifier, metrics, DEFAULT_METRICS_BATCH)


def build_trading_stack(
    settings: AppSettings,
    clock: Clock,
    scheduler: MarketScheduler,
    trades: TradeStore,
    reporter: ExecutionReporter,
    health: HealthReporter,
    strategy: Strategy | None = None,
) -> TradingStack:
    """Build and reconcile the stack on ``trades`` (empty or from an earlier run).

    ``reporter`` carries the executor's alerts and metrics (see
    :func:`execution_reporter`); ``strategy`` replaces the configured ORB strategy
    (e.g. a research variant).

    Raises:
        InvalidInputError: a strategy or risk setting is out of its domain.
        StorageError: the trade store cannot be read.
    """
    trading, exchange_settings = settings.trading, settings.exchange
    exchange = MockExchange(
        clock,
        build_slippage_model(exchange_settings),
        build_commission_model(exchange_settings),
        trading.initial_capital,
        max_volume_participation=exchange_settings.max_volume_participation,
        symbols=trading.symbols,
        is_market_open=SessionWindow(scheduler),
    )
    config = ExecutorConfig(
        initial_capital=trading.initial_capital,
        take_profit_r=settings.strategy.take_profit_r,
        max_consecutive_errors=settings.risk.max_consecutive_errors,
    )
    chosen = strategy if strategy is not None else OrbStrategy(orb_params(settings))
    risk = RiskManager(risk_params(settings))
    return assemble_stack(exchange, trades, clock, health, reporter, risk, config, chosen)


def assemble_stack(
    exchange: MockExchange,
    trades: TradeStore,
    clock: Clock,
    health: HealthReporter,
    reporter: ExecutionReporter,
    risk: RiskManager,
    config: ExecutorConfig,
    strategy: Strategy,
) -> TradingStack:
    """Wire the stack around a built venue and reconcile it with ``trades``.

    The venue is re-seeded from the stored fills and orders, the order manager
    reconciles both views (:meth:`OrderManager.recover`), and the executor starts
    from the book rebuilt from the stores (:func:`restored_book`). The one
    wiring of every mode; tests that need a venue of their own (other cost
    models, limits) come through here too (``vibe/tests/kit.py``).

    Raises:
        StorageError: the trade store cannot be read.
    """
    seed_mock_exchange(exchange, trades, config.initial_capital)
    orders = OrderManager(trades, exchange, clock, health)
    report = orders.recover()
    book = restored_book(trades, report, config.initial_capital)
    executor = TradeExecutor(orders, exchange, risk, clock, health, reporter, config, book)
    return TradingStack(exchange, orders, executor, strategy, report)
