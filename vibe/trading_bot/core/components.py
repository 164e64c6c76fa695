"""Building the daemon's parts in start-up phases, each reported to the startup probe.

Phases, in order (:data:`STARTUP_PHASES`): ``config`` -> ``logging`` ->
``cloud_restore`` -> ``stores`` -> ``data`` -> ``notifier`` -> ``exchange``
(executor and reconciliation with the stored orders) -> ``health_server``.
The cloud restore runs before any store opens (or creates) its file, so a new
volume starts from the cloud's data, never from empty files of its own. The
notifier is built before the trading stack, which takes it. A phase that fails
is marked failed (the startup probe shows which and why) and the error
propagates: the daemon does not start half-built.

:meth:`ComponentBuilder.build` returns a :class:`Daemon`: a frozen set of the
finished parts, in which only the genuinely optional ones (cloud sync, health
server, Prometheus metrics) may be missing.

Two kinds of time (see :mod:`vibe.common.clock`): every part gets the run's
trading :class:`~vibe.common.clock.Clock` (live or simulated) for what it
stamps, and every part that waits on the outside world (the Discord notifier,
cloud-sync retries, the Yahoo rate limit and polling, Finnhub backoff) gets
``Daemon.timer``, the real monotonic timer, in every mode.

With cloud sync on (not in backtests), the databases are also uploaded every
``CLOUD_SYNC_INTERVAL_SECONDS`` (real seconds) by a background task, stopped at
shutdown before the final sync.

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
from dataclasses import fields
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from vibe.common.clock import LiveClock
from vibe.trading_bot.config.logging_config import configure_logging
from vibe.trading_bot.core.bar_processor import BarProcessor
from vibe.trading_bot.core.bar_tape import BarTape
from vibe.trading_bot.core.daemon import (
    Daemon,
    RunContext,
    Stores,
    note_sync,
    open_stores,
    synced_files,
)
from vibe.trading_bot.core.health_reporter import HealthState
from vibe.trading_bot.core.metrics_bridge import MetricsBridge, watch_components
from vibe.trading_bot.core.run_plan import RunMode
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
from vibe.trading_bot.storage.run_state import stored_progress
from vibe.trading_bot.utils.logger import get_logger
from vibe.trading_bot.utils.tasks import cancel_and_wait

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
    "notifier",
    "exchange",
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


class ComponentBuilder:
    """Runs the start-up phases for one run (see module doc); :meth:`build` returns the daemon.

    The phases keep what they build in private fields until :meth:`build`
    assembles the frozen :class:`Daemon`.

    Args:
        context: what is known before start-up (settings, plan, clock, monitor...).
        notifier: takes the alerts instead of the configured notifier (tests and
            embedding: e.g. a :class:`RecordingNotifier` that keeps them in memory).
    """

    def __init__(self, context: RunContext, notifier: Notifier | None = None) -> None:
        self.context = context
        self._notifier_override = notifier
        self._stores: Stores | None = None
        self._logs: LogStore | None = None
        self._log_handler: SQLiteLogHandler | None = None
        self._cloud: CloudSync | None = None
        self._sync: SyncScheduler | None = None
        self._data: DataManager | None = None
        self._data_health: MarketDataHealth | None = None
        self._notifier: Notifier | None = None
        self._stack: TradingStack | None = None
        self._processor: BarProcessor | None = None
        self._server: HealthServer | None = None
        self._metrics: TradingMetrics | None = None
        self._bridge: MetricsBridge | None = None
        self._tape: BarTape | None = None  # the dashboard's, when the server is served
        self._trading_lock = asyncio.Lock()  # see api/control.py
        self._daemon: Daemon | None = None

    async def build(self) -> Daemon:
        """Run every phase in order; returns the finished daemon.

        Raises:
            VibeError: a phase failed (it is marked failed on the startup probe).
        """
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("config", self._config),
            ("logging", self._logging),
            ("cloud_restore", self._cloud_restore),
            ("stores", self._open_stores),
            ("data", self._market_data),
            ("notifier", self._alerts),
            ("exchange", self._exchange),
            ("health_server", self._health_server),
        ]
        monitor = self.context.monitor
        for name, step in steps:
            monitor.begin_phase(name)
            try:
                await step()
            except Exception as exc:
                monitor.fail_phase(name, f"{type(exc).__name__}: {exc}")
                raise
            monitor.complete_phase(name)
        return self._finished()

    def _finished(self) -> Daemon:
        if self._daemon is None:
            context = {f.name: getattr(self.context, f.name) for f in fields(RunContext)}
            self._daemon = Daemon(
                **context,
                stores=built(self._stores, "stores"),
                logs=built(self._logs, "logs"),
                log_handler=built(self._log_handler, "log handler"),
                data=built(self._data, "data manager"),
                data_health=built(self._data_health, "market data health"),
                notifier=built(self._notifier, "notifier"),
                stack=built(self._stack, "trading stack"),
                processor=built(self._processor, "bar processor"),
                cloud=self._cloud,
                sync=self._sync,
                server=self._server,
                metrics=self._metrics,
                bridge=self._bridge,
                tape=self._tape,
                trading_lock=self._trading_lock,
            )
        return self._daemon

    @property
    def _backtest(self) -> bool:
        return self.context.plan.mode is RunMode.BACKTEST

    def _prometheus(self) -> TradingMetrics:
        """The run's Prometheus collectors, created on first use (backtests never need them)."""
        if self._metrics is None:
            from vibe.trading_bot.api.metrics import TradingMetrics

            self._metrics = TradingMetrics()
        return self._metrics

    async def _config(self) -> None:
        """The settings are loaded and checked by the caller; logged once logging is set up."""

    async def _logging(self) -> None:
        c = self.context
        settings = c.settings
        service = settings.service
        level = service.log_level if not self._backtest else "WARNING"
        log_format = service.log_format or (
            "json" if service.environment == "production" else "console"
        )
        handler_health = c.monitor.register("logging", critical=False)
        self._logs = LogStore.in_data_dir(
            c.plan.data_dir,
            c.clock,
            retention_days=settings.storage.log_retention_days,
            scratch=self._backtest,
        )
        handler = SQLiteLogHandler(
            self._logs,
            queue_size=settings.storage.log_queue_size,
            secrets=settings.secret_values(),
            level=logging.INFO,
            health=handler_health,
        )
        self._log_handler = handler
        configure_logging(level, log_format, settings.secret_values(), service.log_file, [handler])
        _log.info("configuration loaded", mode=c.plan.mode.value)
        handler_health.set_state(HealthState.HEALTHY, "logging to stdout and logs.db")
        c.service.register_shutdown_handler(self._close_logging, "logging")

    def _close_logging(self) -> None:
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
            self._log_handler.close()
        if self._logs is not None:
            self._logs.close()

    async def _open_stores(self) -> None:
        c = self.context
        # a backtest's DATA_DIR is a temporary folder, deleted after the run (backtest.runner)
        self._stores = stores = open_stores(c.plan.data_dir, c.clock, scratch=self._backtest)
        c.service.register_shutdown_handler(stores.close, "close stores")
        c.service.register_shutdown_handler(self._stop_health, "health server")
        if self._sync is not None:  # runs before the stores close (shutdown runs in reverse)
            c.service.register_shutdown_handler(
                self._final_sync, "final cloud sync", reserve_seconds=FINAL_SYNC_RESERVE_SECONDS
            )
        if self._sync is not None and not self._backtest:  # cancelled before the final sync
            periodic = asyncio.create_task(self._sync.run(self._noted), name="cloud-sync")
            c.service.register_shutdown_handler(
                partial(cancel_and_wait, periodic), "periodic cloud sync"
            )
        mode = c.plan.folder_mode  # checked again after the cloud restore, then noted
        if mode is not None:
            claim_folder_mode(stores.state, c.plan.data_dir, mode, c.plan.allow_mode_change)

    async def _stop_health(self) -> None:
        if self._server is not None:
            await self._server.stop()
        await self.context.monitor.stop()

    async def _cloud_restore(self) -> None:
        c = self.context
        cloud = c.settings.cloud
        if not (c.plan.cloud_sync and cloud.enable_cloud_sync):
            _log.info("cloud sync disabled")
            return
        from vibe.trading_bot.storage.sync import CloudSync, SyncScheduler, build_backend

        health = c.monitor.register("cloud_sync", critical=False)
        files = synced_files(c)
        self._cloud = CloudSync(
            build_backend(cloud),
            files,
            c.clock,
            prefix=cloud.cloud_sync_prefix,
            keep=cloud.cloud_sync_keep,
            health=health,
            progress=partial(stored_progress, files["state"]),
        )
        started = time.monotonic()
        report = await self._cloud.restore_all([name for name in RESTORED if name in files])
        seconds = round(time.monotonic() - started, 3)
        for result in report.results:
            _log.info("cloud restore", database=result.database, status=result.status.value)
        _log.info("cloud restore done", seconds=seconds, degraded=report.degraded)
        self._sync = SyncScheduler(
            self._cloud, c.clock, cloud.cloud_sync_interval_seconds, health, timer=c.timer
        )

    async def _final_sync(self) -> None:
        if self._sync is not None:
            self._noted(await self._sync.shutdown())

    def _noted(self, ok: bool) -> None:
        """Record a cloud sync's outcome (health, ``state.db``, metrics)."""
        state = self._stores.state if self._stores is not None else None
        note_sync(ok, self.context.monitor, state, self._bridge, self.context.clock.now())

    async def _market_data(self) -> None:
        c = self.context
        # one component for the data layer, the stream, the feed watchdog and the
        # warm-up history: the worst of their states (see data/market_health.py)
        health = MarketDataHealth(c.monitor.register("market_data", critical=True))
        self._data_health = health
        self._data = data = build_data_manager(
            c.settings,
            c.clock,
            health,
            c.scheduler,
            replay_dir=c.plan.replay_dir,
            timer=c.timer,
            wall_clock=c.wall_clock,
        )
        await data.connect()
        c.service.register_shutdown_handler(data.close, "market data")
        if not self._backtest:
            self._bridge = MetricsBridge(self._prometheus())
            data.validator.on_reject = self._bridge.on_bar_rejected

    async def _alerts(self) -> None:
        c = self.context
        settings = c.settings.notifications
        if self._notifier_override is not None:
            self._notifier = self._notifier_override
            return
        if not c.plan.notify or settings.discord_webhook_url is None:
            self._notifier = RecordingNotifier() if self._backtest else LogNotifier()
            _log.info("discord alerts off: each alert is written to the log as one line")
            return
        from vibe.trading_bot.notifications.discord import build_discord_notifier

        health = c.monitor.register("notifications", critical=False)
        notifier = build_discord_notifier(
            settings, c.plan.data_dir, c.clock, c.timer, health, observer=self._bridge
        )
        await notifier.start()
        self._notifier = notifier
        c.service.register_budgeted_shutdown_handler(
            notifier.stop, "notifier", reserve_seconds=NOTIFIER_RESERVE_SECONDS
        )

    async def _exchange(self) -> None:
        c = self.context
        stores = built(self._stores, "stores")
        health = c.monitor.register("execution", critical=True)
        reporter = execution_reporter(
            c.clock, health, built(self._notifier, "notifier"), stores.metrics,
            backtest=self._backtest,
        )  # fmt: skip
        stack = build_trading_stack(
            c.settings, c.clock, c.scheduler, stores.trades, reporter, health, c.strategy
        )
        self._stack = stack
        report = stack.recovery
        if report.mismatches:
            _log.warning("reconciliation mismatches", count=len(report.mismatches))
        loop_health = c.monitor.register("trading_loop", critical=True)
        self._processor = BarProcessor(
            stack.strategy,
            stack.executor,
            loop_health,
            record_equity=c.plan.record_equity,
            pin_decisions=isinstance(c.clock, LiveClock),
        )
        if self._bridge is not None:
            stack.orders.subscribe(self._bridge.on_order_event)
            self._bridge.refresh_account(stack.executor.portfolio)  # from the stores
        health.set_state(HealthState.HEALTHY, f"{len(report.working)} working orders restored")
        loop_health.set_state(HealthState.HEALTHY, "trading loop ready")

    async def _health_server(self) -> None:
        c = self.context
        if not c.plan.serve_health:
            return
        from vibe.trading_bot.api.context import dashboard_api
        from vibe.trading_bot.api.health import build_health_server

        await c.monitor.start()
        metrics = self._prometheus()
        metrics.track(c.monitor.uptime_seconds, c.monitor.loop_lag_seconds)
        watch_components(metrics, c.monitor, self._data, self._log_handler)
        self._tape = BarTape(c.settings.strategy.orb_minutes)
        stack = built(self._stack, "trading stack")
        dashboard = dashboard_api(c, stack.executor, self._tape, self._trading_lock)
        self._server = build_health_server(c.settings.health, c.monitor, metrics, dashboard)
        await self._server.start()  # logs "health server listening" with its host and port
