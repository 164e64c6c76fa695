"""Building the daemon's parts in start-up phases, each reported to the startup probe.

Phases, in order (:data:`STARTUP_PHASES`): ``config`` -> ``logging`` ->
``cloud_restore`` -> ``stores`` -> ``data`` -> ``exchange`` (executor and
reconciliation with the stored orders) -> ``notifier`` -> ``health_server``.
The cloud restore runs before any store opens (or creates) its file, so a new
volume starts from the cloud's data, never from empty files of its own.
A phase that fails is marked failed (the startup probe shows which and why)
and the error propagates: the daemon does not start half-built.

Two kinds of time (see :mod:`vibe.common.clock`): every part gets the run's
trading :class:`~vibe.common.clock.Clock` (live or simulated) for what it
stamps, and every part that waits on the outside world (the Discord notifier,
cloud-sync retries, the Yahoo rate limit and polling, Finnhub backoff) gets
``Components.timer``, the real monotonic timer, in every mode.

Every part that needs stopping registers its shutdown step with the
:class:`~vibe.trading_bot.core.service.Service` as it is built, with the time
it needs (its reserve); the service runs them in reverse, so the trading
shutdown (registered last, see the orchestrator) runs first and the log
handler (registered first) last. The notifier is told its budget: every
second the other steps do not reserve, to deliver what is queued.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from vibe.common.clock import Clock, MonotonicTimer, Timer
from vibe.common.strategies.base import Strategy
from vibe.trading_bot.config.logging_config import configure_logging
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.bar_processor import BarProcessor
from vibe.trading_bot.core.bar_tape import BarTape
from vibe.trading_bot.core.health_monitor import HealthMonitor
from vibe.trading_bot.core.health_reporter import HealthReporter, HealthState
from vibe.trading_bot.core.metrics_bridge import MetricsBridge, watch_components
from vibe.trading_bot.core.run_plan import RunMode, RunPlan
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.core.service import Service
from vibe.trading_bot.core.trading_stack import (
    TradingStack,
    build_trading_stack,
    execution_reporter,
)
from vibe.trading_bot.data.factory import build_data_manager
from vibe.trading_bot.data.manager import DataManager
from vibe.trading_bot.data.market_health import MarketDataHealth
from vibe.trading_bot.execution.notifier import Notifier, RecordingNotifier
from vibe.trading_bot.notifications.log_notifier import LogNotifier
from vibe.trading_bot.storage.folder_mode import claim_folder_mode
from vibe.trading_bot.storage.log_handler import SQLiteLogHandler
from vibe.trading_bot.storage.log_store import LogStore
from vibe.trading_bot.storage.metrics_store import MetricsStore
from vibe.trading_bot.storage.run_state import SYNC_NOTE, RunStateStore, stored_progress
from vibe.trading_bot.storage.trade_store import TradeStore
from vibe.trading_bot.utils.logger import get_logger

if TYPE_CHECKING:
    from vibe.trading_bot.api.health import HealthServer
    from vibe.trading_bot.api.metrics import TradingMetrics
    from vibe.trading_bot.storage.sync import CloudSync, SyncScheduler

_log = get_logger(__name__)

STARTUP_PHASES = (
    "config",
    "logging",
    "cloud_restore",
    "stores",
    "data",
    "exchange",
    "notifier",
    "health_server",
)
#: Shutdown reserves (seconds kept for a step while earlier steps run; see core.service).
#: The final sync uploads every database; the notifier needs only to close its client
#: and outbox, and delivers what is queued in whatever time the other steps leave.
FINAL_SYNC_RESERVE_SECONDS = 5.0
NOTIFIER_RESERVE_SECONDS = 1.0
#: Databases restored from the cloud at start-up (the log file is not: logs are operational).
RESTORED = ("trades", "metrics", "state", "notifications")


_T = TypeVar("_T")


def built(value: _T | None, what: str) -> _T:
    """``value``, or a ``RuntimeError`` saying which start-up phase has not built ``what``."""
    if value is None:
        raise RuntimeError(f"{what} is not built yet: the start-up phases run out of order")
    return value


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


@dataclass
class Components:
    """Everything the orchestrator drives (built by :class:`ComponentBuilder`)."""

    settings: AppSettings
    plan: RunPlan
    clock: Clock
    scheduler: MarketScheduler
    monitor: HealthMonitor
    service: Service
    metrics: TradingMetrics | None = None  # Prometheus collectors (not in backtests)
    stores: Stores | None = None
    logs: LogStore | None = None
    log_handler: SQLiteLogHandler | None = None
    cloud: CloudSync | None = None
    sync: SyncScheduler | None = None
    data: DataManager | None = None
    stack: TradingStack | None = None
    processor: BarProcessor | None = None
    notifier: Notifier = field(default_factory=RecordingNotifier)
    server: HealthServer | None = None
    data_health: HealthReporter | None = None
    strategy: Strategy | None = None  # None: the configured ORB strategy
    bridge: MetricsBridge | None = None  # Prometheus feed (not in backtests)
    timer: Timer = field(default_factory=MonotonicTimer)  # waiting time, real in every mode
    tape: BarTape | None = None  # traded bars and equity marks for the dashboard API
    trading_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # see api/control.py


def prometheus(parts: Components) -> TradingMetrics:
    """The run's Prometheus collectors, created on first use (backtests never need them)."""
    if parts.metrics is None:
        from vibe.trading_bot.api.metrics import TradingMetrics

        parts.metrics = TradingMetrics()
    return parts.metrics


def open_stores(data_dir: Path, clock: Clock) -> Stores:
    """Open (creating when missing) ``trades.db``, ``metrics.db`` and ``state.db``.

    Raises:
        StorageError: a file exists but is not a readable database of this bot.
    """
    return Stores(
        TradeStore.in_data_dir(data_dir, clock),
        MetricsStore.in_data_dir(data_dir, clock),
        RunStateStore.in_data_dir(data_dir, clock),
    )


def synced_files(parts: Components) -> dict[str, Path]:
    """The databases this configuration produces, by logical name (what cloud sync covers).

    ``notifications.db`` only exists with Discord alerts on; a database the
    configuration does not produce is not synced, so its absence is no failure.
    """
    data_dir = parts.plan.data_dir
    names = ["trades", "metrics", "state"]
    if parts.plan.notify and parts.settings.notifications.discord_webhook_url is not None:
        names.append("notifications")
    names.append("logs")
    return {name: data_dir / f"{name}.db" for name in names}


def note_sync(parts: Components, ok: bool) -> None:
    """Record a cloud sync outcome in ``state.db`` (read by ``show-status``)."""
    parts.monitor.record_sync(ok, "" if ok else "see the cloud_sync component")
    if parts.bridge is not None:
        parts.bridge.on_sync(ok, parts.clock.now())
    if parts.stores is not None:
        parts.stores.state.set_note(*SYNC_NOTE, "ok" if ok else "failed")


class ComponentBuilder:
    """Runs the start-up phases for one :class:`RunPlan` (see module doc).

    Args:
        parts: the components known before start-up (settings, plan, clock, monitor...).
    """

    def __init__(self, parts: Components) -> None:
        self.parts = parts

    async def build(self) -> Components:
        """Run every phase in order; returns the completed components.

        Raises:
            VibeError: a phase failed (it is marked failed on the startup probe).
        """
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("config", self._config),
            ("logging", self._logging),
            ("cloud_restore", self._cloud_restore),
            ("stores", self._stores),
            ("data", self._data),
            ("exchange", self._exchange),
            ("notifier", self._notifier),
            ("health_server", self._health_server),
        ]
        monitor = self.parts.monitor
        for name, step in steps:
            monitor.begin_phase(name)
            try:
                await step()
            except Exception as exc:
                monitor.fail_phase(name, f"{type(exc).__name__}: {exc}")
                raise
            monitor.complete_phase(name)
        return self.parts

    async def _config(self) -> None:
        """The settings are loaded and checked by the caller; logged once logging is set up."""

    async def _logging(self) -> None:
        p = self.parts
        settings = p.settings
        service = settings.service
        level = service.log_level if p.plan.mode is not RunMode.BACKTEST else "WARNING"
        log_format = service.log_format or (
            "json" if service.environment == "production" else "console"
        )
        handler_health = p.monitor.register("logging", critical=False)
        p.logs = LogStore.in_data_dir(
            p.plan.data_dir, p.clock, retention_days=settings.storage.log_retention_days
        )
        handler = SQLiteLogHandler(
            p.logs,
            queue_size=settings.storage.log_queue_size,
            secrets=settings.secret_values(),
            level=logging.INFO,
            health=handler_health,
        )
        p.log_handler = handler
        configure_logging(level, log_format, settings.secret_values(), service.log_file, [handler])
        _log.info("configuration loaded", mode=p.plan.mode.value)
        handler_health.set_state(HealthState.HEALTHY, "logging to stdout and logs.db")
        p.service.register_shutdown_handler(self._close_logging, "logging")

    def _close_logging(self) -> None:
        p = self.parts
        if p.log_handler is not None:
            logging.getLogger().removeHandler(p.log_handler)
            p.log_handler.close()
        if p.logs is not None:
            p.logs.close()

    async def _stores(self) -> None:
        p = self.parts
        p.stores = open_stores(p.plan.data_dir, p.clock)
        p.service.register_shutdown_handler(self._close_stores, "close stores")
        p.service.register_shutdown_handler(self._stop_health, "health server")
        if p.sync is not None:  # runs before the stores close (shutdown runs in reverse)
            p.service.register_shutdown_handler(
                self._final_sync, "final cloud sync", reserve_seconds=FINAL_SYNC_RESERVE_SECONDS
            )
        mode = p.plan.folder_mode  # checked again after the cloud restore, then noted
        if mode is not None:
            claim_folder_mode(p.stores.state, p.plan.data_dir, mode, p.plan.allow_mode_change)

    def _close_stores(self) -> None:
        if self.parts.stores is not None:
            self.parts.stores.close()

    async def _stop_health(self) -> None:
        p = self.parts
        if p.server is not None:
            await p.server.stop()
        await p.monitor.stop()

    async def _cloud_restore(self) -> None:
        p = self.parts
        cloud = p.settings.cloud
        if not (p.plan.cloud_sync and cloud.enable_cloud_sync):
            _log.info("cloud sync disabled")
            return
        from vibe.trading_bot.storage.sync import CloudSync, SyncScheduler, build_backend

        health = p.monitor.register("cloud_sync", critical=False)
        files = synced_files(p)
        p.cloud = CloudSync(
            build_backend(cloud),
            files,
            p.clock,
            prefix=cloud.cloud_sync_prefix,
            keep=cloud.cloud_sync_keep,
            health=health,
            progress=partial(stored_progress, files["state"]),
        )
        started = time.monotonic()
        report = await p.cloud.restore_all([name for name in RESTORED if name in files])
        seconds = round(time.monotonic() - started, 3)
        for result in report.results:
            _log.info("cloud restore", database=result.database, status=result.status.value)
        _log.info("cloud restore done", seconds=seconds, degraded=report.degraded)
        p.sync = SyncScheduler(
            p.cloud, p.clock, cloud.cloud_sync_interval_seconds, health, timer=p.timer
        )

    async def _final_sync(self) -> None:
        if self.parts.sync is not None:
            note_sync(self.parts, await self.parts.sync.shutdown())

    async def _data(self) -> None:
        p = self.parts
        # one reporter for the data layer and the feed watchdog, which stays DEGRADED
        # while symbols lack warm-up history (see data/market_health.py)
        health = p.data_health = MarketDataHealth(p.monitor.register("market_data", critical=True))
        p.data = build_data_manager(
            p.settings, p.clock, health, p.scheduler, replay_dir=p.plan.replay_dir, timer=p.timer
        )
        await p.data.connect()
        p.service.register_shutdown_handler(p.data.close, "market data")

    async def _exchange(self) -> None:
        p = self.parts
        stores = built(p.stores, "stores")
        health = p.monitor.register("execution", critical=True)
        p.stack = build_trading_stack(
            p.settings,
            p.clock,
            p.scheduler,
            stores.trades,
            execution_reporter(
                p.clock,
                health,
                p.notifier,
                stores.metrics,
                backtest=p.plan.mode is RunMode.BACKTEST,
            ),
            health,
            p.strategy,
        )
        report = p.stack.recovery
        if report.mismatches:
            _log.warning("reconciliation mismatches", count=len(report.mismatches))
        loop_health = p.monitor.register("trading_loop", critical=True)
        p.processor = BarProcessor(
            p.stack.strategy, p.stack.executor, loop_health, record_equity=p.plan.record_equity
        )
        if p.plan.mode is not RunMode.BACKTEST:
            p.bridge = MetricsBridge(prometheus(p), p.stack.executor)
            p.stack.orders.subscribe(p.bridge.on_order_event)
            p.bridge.refresh_account()  # equity from the stores, before the first bar
            if p.data is not None:
                p.data.validator.on_reject = p.bridge.on_bar_rejected
        health.set_state(HealthState.HEALTHY, f"{len(report.working)} working orders restored")
        loop_health.set_state(HealthState.HEALTHY, "trading loop ready")

    async def _notifier(self) -> None:
        p = self.parts
        settings = p.settings.notifications
        if not p.plan.notify or settings.discord_webhook_url is None:
            if p.plan.mode is not RunMode.BACKTEST:
                p.notifier = LogNotifier()
                built(p.stack, "trading stack").executor.reporter.notifier = p.notifier
            _log.info("discord alerts off: each alert is written to the log as one line")
            return
        from vibe.trading_bot.notifications.discord import build_discord_notifier

        health = p.monitor.register("notifications", critical=False)
        notifier = build_discord_notifier(settings, p.plan.data_dir, p.clock, p.timer, health)
        notifier.observer = p.bridge
        await notifier.start()
        p.notifier = notifier
        built(p.stack, "trading stack").executor.reporter.notifier = notifier
        p.service.register_budgeted_shutdown_handler(
            notifier.stop, "notifier", reserve_seconds=NOTIFIER_RESERVE_SECONDS
        )

    async def _health_server(self) -> None:
        p = self.parts
        if not p.plan.serve_health:
            return
        from vibe.trading_bot.api.context import dashboard_api
        from vibe.trading_bot.api.health import build_health_server

        await p.monitor.start()
        metrics = prometheus(p)
        metrics.track(p.monitor.uptime_seconds, p.monitor.loop_lag_seconds)
        watch_components(metrics, p.monitor, p.data, p.log_handler)
        p.tape = BarTape(p.settings.strategy.orb_minutes)
        p.server = build_health_server(p.settings.health, p.monitor, metrics, dashboard_api(p))
        await p.server.start()  # logs "health server listening" with its host and port
