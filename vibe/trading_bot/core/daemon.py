"""The finished daemon: its parts (:class:`Daemon`) and what is known before start-up.

:class:`RunContext` holds the configuration, the run plan, the two kinds of time
(trading :class:`~vibe.common.clock.Clock`, waiting
:class:`~vibe.common.clock.Timer`) and the wall clock the outside world's data
is judged by, the calendar, the health monitor and the
shutdown registry; :class:`~.components.ComponentBuilder` turns it into a
:class:`Daemon`, a frozen set of built parts in which only the genuinely
optional ones (cloud sync, the health server, Prometheus metrics) may be
missing. The drivers, the session loop and the commands read their parts from it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from vibe.common.clock import Clock, MonotonicTimer, Timer
from vibe.common.strategies.base import Strategy
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.bar_processor import BarProcessor
from vibe.trading_bot.core.bar_tape import BarTape
from vibe.trading_bot.core.health_monitor import HealthMonitor
from vibe.trading_bot.core.metrics_bridge import MetricsBridge
from vibe.trading_bot.core.run_plan import RunPlan
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.core.service import Service
from vibe.trading_bot.core.trading_stack import TradingStack
from vibe.trading_bot.data.manager import DataManager
from vibe.trading_bot.data.market_health import MarketDataHealth
from vibe.trading_bot.execution.notifier import Notifier
from vibe.trading_bot.storage.log_handler import SQLiteLogHandler
from vibe.trading_bot.storage.log_store import LogStore
from vibe.trading_bot.storage.metrics_store import MetricsStore
from vibe.trading_bot.storage.run_state import SYNC_NOTE, RunStateStore
from vibe.trading_bot.storage.trade_store import TradeStore

if TYPE_CHECKING:
    from vibe.trading_bot.api.health import HealthServer
    from vibe.trading_bot.api.metrics import TradingMetrics
    from vibe.trading_bot.storage.sync import CloudSync, SyncScheduler


@dataclass
class Stores:
    """The SQLite stores in ``DATA_DIR``."""

    trades: TradeStore
    metrics: MetricsStore
    state: RunStateStore

    def close(self) -> None:
        """Close every store (idempotent)."""
        for store in (self.trades, self.metrics, self.state):
            store.close()


@dataclass(frozen=True)
class RunContext:
    """What is known before start-up: the configuration, the plan and the run's services.

    Attributes:
        settings: the validated configuration.
        plan: live, replay or backtest, and its options.
        clock: trading time (live or simulated).
        scheduler: the market calendar.
        monitor: health of the components and the start-up phases.
        service: the shutdown registry and the stop flag.
        timer: waiting time, the real monotonic timer in every mode.
        strategy: replaces the configured ORB strategy (research variants, tests).
        wall_clock: the outside world's time, for what Yahoo has and how old cached bars
            are (:func:`~vibe.trading_bot.data.factory.build_data_manager`): the trading
            clock itself in a live run, a :class:`~vibe.common.clock.LiveClock` in a
            replay or backtest (never their simulated clock).
    """

    settings: AppSettings
    plan: RunPlan
    clock: Clock
    scheduler: MarketScheduler
    monitor: HealthMonitor
    service: Service
    timer: Timer = field(default_factory=MonotonicTimer)
    strategy: Strategy | None = None
    wall_clock: Clock = field(kw_only=True)


@dataclass(frozen=True, kw_only=True)
class Daemon(RunContext):
    """The finished daemon, built by :meth:`ComponentBuilder.build` (see module doc).

    A :class:`RunContext` (settings, plan, clock, timer, calendar, monitor,
    service) with every part built from it.

    Attributes:
        stores: ``trades.db``, ``metrics.db``, ``state.db``.
        logs: ``logs.db``, fed by ``log_handler``.
        data: the market data manager; ``data_health`` its ``market_data`` reporter.
        notifier: where alerts go (Discord, the log, or kept in memory in backtests).
        stack: strategy, risk, venue, orders, executor.
        processor: bar -> venue -> strategy -> executor.
        cloud, sync: cloud sync (``None`` when off).
        server: the health and API server (``None`` when not served).
        metrics, bridge: the Prometheus collectors and their feed (``None`` in backtests).
        tape: traded bars and equity marks for the dashboard (``None`` when not served).
        trading_lock: held while a bar group is traded off the event loop; the
            dashboard's commands take it (see :mod:`vibe.trading_bot.api.control`).
    """

    stores: Stores
    logs: LogStore
    log_handler: SQLiteLogHandler
    data: DataManager
    data_health: MarketDataHealth
    notifier: Notifier
    stack: TradingStack
    processor: BarProcessor
    cloud: CloudSync | None = None
    sync: SyncScheduler | None = None
    server: HealthServer | None = None
    metrics: TradingMetrics | None = None
    bridge: MetricsBridge | None = None
    tape: BarTape | None = None
    trading_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def context(self) -> RunContext:
        """What was known before start-up (this daemon is one)."""
        return self


def open_stores(data_dir: Path, clock: Clock, *, scratch: bool = False) -> Stores:
    """Open (creating when missing) ``trades.db``, ``metrics.db`` and ``state.db``.

    ``scratch``: files thrown away after the run (a backtest's temporary folder),
    never synced to the disk.

    Raises:
        StorageError: a file exists but is not a readable database of this bot.
    """
    return Stores(
        TradeStore.in_data_dir(data_dir, clock, scratch=scratch),
        MetricsStore.in_data_dir(data_dir, clock, scratch=scratch),
        RunStateStore.in_data_dir(data_dir, clock, scratch=scratch),
    )


def synced_files(context: RunContext) -> dict[str, Path]:
    """The databases this configuration produces, by logical name (what cloud sync covers).

    ``notifications.db`` only exists with Discord alerts on; a database the
    configuration does not produce is not synced, so its absence is no failure.
    """
    data_dir = context.plan.data_dir
    names = ["trades", "metrics", "state"]
    if context.plan.notify and context.settings.notifications.discord_webhook_url is not None:
        names.append("notifications")
    names.append("logs")
    return {name: data_dir / f"{name}.db" for name in names}


def note_sync(
    ok: bool,
    monitor: HealthMonitor,
    state: RunStateStore | None,
    bridge: MetricsBridge | None,
    at: datetime,
) -> None:
    """Record a cloud sync outcome: health, ``state.db`` (read by ``show-status``), metrics.

    ``at`` is when it ended (trading time); ``state`` and ``bridge`` may be missing
    (a start-up that failed before they were built).
    """
    monitor.record_sync(ok, "" if ok else "see the cloud_sync component")
    if bridge is not None:
        bridge.on_sync(ok, at)
    if state is not None:
        state.set_note(*SYNC_NOTE, "ok" if ok else "failed")
