"""The daemon: start-up phases, the trading loop, and the ordered shutdown.

``Orchestrator.run()``:

1. builds the components in phases (:mod:`.components`), each reported to the
   startup probe; SIGTERM/SIGINT are routed to a graceful stop;
2. runs the loop: :class:`~.replay_driver.ReplayDriver` on a simulated clock
   (``run --replay``, ``backtest``) or :class:`~.live_driver.LiveDriver` on the
   wall clock (``run``);
3. shuts down in reverse order of start-up within ``SHUTDOWN_TIMEOUT_SECONDS``:
   the trading step first (no new entries; unfilled entries cancelled; open
   positions closed at the last known bar close when
   ``CLOSE_POSITIONS_ON_SHUTDOWN``, reason ``shutdown``; alerts handed to the
   notifier), then the notifier (delivering the queue in the time the later
   steps do not reserve, see :mod:`.service`), the data feeds, the final cloud
   sync, the health server, the stores and finally the log handler.

The outcome (:class:`RunOutcome`) says whether the run ended because the data
ended, a stop was requested, or an error stopped it; how many sessions were
completed and which one a stop cut short (not counted as run).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import TYPE_CHECKING

from vibe.common.clock import Clock, LiveClock, MonotonicTimer, SimulatedClock
from vibe.common.errors import InvalidInputError
from vibe.common.models import ExitReason
from vibe.common.strategies.base import Strategy
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.components import STARTUP_PHASES, ComponentBuilder
from vibe.trading_bot.core.daemon import Daemon, RunContext
from vibe.trading_bot.core.feed_watchdog import FeedWatchdog
from vibe.trading_bot.core.health_monitor import HealthMonitor
from vibe.trading_bot.core.health_reporter import PositionsSummary
from vibe.trading_bot.core.historical_feed import (
    HistoricalFeed,
    sessions_before,
    warmup_sessions_needed,
)
from vibe.trading_bot.core.run_plan import RunMode, RunPlan
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.core.service import Service, ShutdownResult
from vibe.trading_bot.data.frames import timeframe_seconds
from vibe.trading_bot.notifications.payloads import SystemAlert, SystemEvent
from vibe.trading_bot.utils.logger import get_logger
from vibe.trading_bot.utils.tasks import cancel_and_wait

if TYPE_CHECKING:
    from vibe.trading_bot.core.replay_driver import ReplayDriver

_log = get_logger(__name__)
LOOP_STOP_GRACE_SECONDS = 5.0


@dataclass
class RunOutcome:
    """How a run ended.

    Attributes:
        daemon: the daemon that ran (stores closed; in-memory results such as the
            processor's equity curve remain readable).
        stop_reason: the signal or request that stopped it, ``None`` when the data ended.
        shutdown: what each shutdown step did.
        sessions: complete sessions traded (replay/backtest); a session cut short by a
            stop is not counted but reported in ``interrupted``.
        interrupted: the session a stop cut short, if any.
        feed: the replay's or backtest's bar feed (``None`` live); a backtest's keeps
            the bars it read (:attr:`HistoricalFeed.tables`).
    """

    daemon: Daemon
    stop_reason: str | None
    shutdown: list[ShutdownResult]
    sessions: int = 0
    interrupted: InterruptedSession | None = None
    feed: HistoricalFeed | None = None


@dataclass(frozen=True, slots=True)
class InterruptedSession:
    """A session a stop cut short (replay): not counted in :attr:`RunOutcome.sessions`.

    Attributes:
        day: the session's date (America/New_York).
        bar_groups_done: bar groups traded before the stop.
        bar_groups: bar groups the session has in the data.
    """

    day: date
    bar_groups_done: int
    bar_groups: int


def initial_time(scheduler: MarketScheduler, plan: RunPlan, lookback_bars: int) -> datetime:
    """Start of the simulated clock: midnight UTC of the first warm-up session."""
    start = plan.start or date(2000, 1, 3)
    count = warmup_sessions_needed(lookback_bars, plan.timeframe)
    warmup = sessions_before(scheduler, start, count)
    first = warmup[0].day if warmup else start
    return datetime.combine(first, time(0), UTC)


def _years(plan: RunPlan) -> tuple[int, int]:
    """The calendar years a run needs first (more load on demand): a dated run's own.

    A backtest or replay of past dates then reads the sessions shipped with the
    package (:mod:`.calendar_history`), with no calendar build.
    """
    if plan.start is None:
        return 2015, 2027
    first = plan.start.year - 1  # warm-up sessions before the start
    return first, plan.end.year if plan.end is not None else max(first + 1, 2027)


class Orchestrator:
    """Builds, runs and stops the daemon for one :class:`RunPlan` (see module doc).

    Args:
        settings: the validated configuration.
        plan: live, replay or backtest, and its options.
        clock: trading time; default :class:`LiveClock` (live) or a
            :class:`SimulatedClock` at the first warm-up session (replay, backtest).
            What exists in the outside world (Yahoo's bars, the bar cache's age) is
            read on the wall clock: ``clock`` itself in a live run, else a
            :class:`LiveClock`.
            Waiting time (rate limits, back-off, uptime) is always a real
            :class:`~vibe.common.clock.MonotonicTimer`, whatever the clock.
        scheduler: market calendar; default ``MARKET_CALENDAR``.
        handle_signals: route SIGTERM/SIGINT to a graceful stop (main thread only).
        strategy: replaces the configured ORB strategy (research variants, tests).
        service: the shutdown registry and stop flag to use (a
            :class:`~vibe.trading_bot.core.service.TradingService` passes itself);
            default a new :class:`~vibe.trading_bot.core.service.Service`.
    """

    def __init__(
        self,
        settings: AppSettings,
        plan: RunPlan,
        clock: Clock | None = None,
        scheduler: MarketScheduler | None = None,
        *,
        handle_signals: bool = True,
        strategy: Strategy | None = None,
        service: Service | None = None,
    ) -> None:
        self.settings = settings
        self.plan = plan
        self.scheduler = scheduler or MarketScheduler.for_settings(settings, *_years(plan))
        lookback = settings.strategy.volume_lookback_bars
        if clock is None:
            if plan.mode is RunMode.LIVE:
                clock = LiveClock()
            else:
                clock = SimulatedClock(initial_time(self.scheduler, plan, lookback))
        self.clock = clock
        self.service = (
            service if service is not None else Service(settings.service.shutdown_timeout_seconds)
        )
        self._handle_signals = handle_signals
        timer = MonotonicTimer()  # waiting time: real in every mode (see vibe.common.clock)
        self.monitor = HealthMonitor(
            settings.health,
            clock,
            mode=f"paper-{plan.mode.value}",
            startup_phases=STARTUP_PHASES,
            secrets=settings.secret_values(),
            timer=timer,
        )
        wall_clock = clock if plan.mode is RunMode.LIVE else LiveClock()
        self.context = RunContext(
            settings, plan, clock, self.scheduler, self.monitor, self.service, timer, strategy,
            wall_clock=wall_clock,
        )  # fmt: skip
        self.daemon: Daemon | None = None  # set once every start-up phase has run
        self._driver: ReplayDriver | None = None
        self._interrupted: InterruptedSession | None = None
        self._feed: HistoricalFeed | None = None

    async def run(self) -> RunOutcome:
        """Start, trade until the data ends or a stop is requested, then shut down.

        Raises:
            VibeError: start-up failed or the data cannot be read (after shutting
                down what was started).
        """
        if self._handle_signals:
            self.service.install_signal_handlers()
        try:
            daemon = self.daemon = await ComponentBuilder(self.context).build()
            self._wire_status(daemon)
            self._watch_feed(daemon)
            self.service.register_shutdown_handler(self._trading_shutdown, "trading")
            self._system_alert(SystemEvent.STARTUP, f"started ({self.plan.mode.value})")
            await self._flush_alerts()  # in the outbox (or the log) now, not at the first bar
            await self._loop_until_stopped(daemon)
            self._interrupted = self._interrupted_session()
        finally:
            results = await self.service.shutdown()
            if self._handle_signals:
                self.service.remove_signal_handlers()
        sessions = 0 if self._driver is None else self._driver.sessions_done
        return RunOutcome(
            daemon, self.service.stop_reason, results, sessions, self._interrupted, self._feed
        )

    def _interrupted_session(self) -> InterruptedSession | None:
        """The replay session a stop cut short (logged), or ``None``."""
        driver = self._driver
        if driver is None or driver.sessions.current is None:
            return None
        day = driver.sessions.current
        interval = timedelta(seconds=timeframe_seconds(self.plan.timeframe))
        starts = {bar.timestamp for bar in driver.feed.bars(day)}
        now = self.clock.now()
        done = sum(1 for start in starts if start + interval <= now)
        session = InterruptedSession(day.day, done, len(starts))
        _log.warning(
            "session interrupted by a stop; not counted as run",
            day=day.day.isoformat(),
            bar_groups_done=done,
            bar_groups=len(starts),
        )
        return session

    async def _loop_until_stopped(self, daemon: Daemon) -> None:
        """Run the loop; on a stop request give it ``LOOP_STOP_GRACE_SECONDS`` at most to end.

        The grace comes out of the shutdown budget (counted from the stop request)
        and never eats into the time the shutdown steps reserved.

        The drivers check for a stop between bar groups; a step that waits on the
        network (a history request, a quiet feed) is cancelled after the grace, so
        a SIGTERM never waits for a remote server.
        """
        loop = asyncio.create_task(self._loop(daemon), name="trading-loop")
        stop = asyncio.create_task(self.service.wait_for_stop(), name="stop-request")
        try:
            await asyncio.wait({loop, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not loop.done():
                grace = min(LOOP_STOP_GRACE_SECONDS, self.service.spare_seconds())
                await asyncio.wait({loop}, timeout=grace)
            if not loop.done():
                _log.warning("trading loop step cancelled at shutdown")
                loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop
                return
            loop.result()  # raises what stopped the loop
        finally:
            stop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stop

    async def _loop(self, daemon: Daemon) -> None:
        plan = self.plan
        if plan.mode is RunMode.LIVE:
            from vibe.trading_bot.core.live_driver import LiveDriver

            await LiveDriver(daemon).run()
            return
        from vibe.trading_bot.core.replay_driver import ReplayDriver

        if plan.start is None or plan.end is None:
            raise InvalidInputError("a replay or backtest needs a start and an end date")
        feed = HistoricalFeed(
            daemon.data,
            self.scheduler,
            plan.symbols,
            plan.timeframe,
            plan.start,
            plan.end,
            warmup_sessions_needed(self.settings.strategy.volume_lookback_bars, plan.timeframe),
            keep_tables=plan.record_equity,
        )
        self._feed = feed
        await feed.load()
        self._driver = ReplayDriver(daemon, feed)
        await self._driver.run()

    def _wire_status(self, daemon: Daemon) -> None:
        self.monitor.set_positions_provider(self._positions)
        clock, scheduler = self.clock, self.scheduler

        def session_open() -> datetime | None:
            bounds = scheduler.session_bounds_at(clock.now().timestamp())
            return None if bounds is None else datetime.fromtimestamp(bounds[0], UTC)

        self.monitor.set_market_providers(
            session_open=session_open,
            next_open=lambda: scheduler.next_open(clock.now()),
            missing_history=lambda: daemon.data.missing_history,
        )

    def _positions(self) -> PositionsSummary | None:
        if self.daemon is None:
            return None
        portfolio = self.daemon.stack.executor.portfolio
        positions = portfolio.positions
        return PositionsSummary(
            open_positions=len(positions),
            symbols=tuple(sorted(positions)),
            market_value_usd=round(portfolio.market_value, 2),
            unrealized_pnl_gross_usd=round(portfolio.unrealized_pnl, 2),
            equity_usd=round(portfolio.equity, 2),
            realized_pnl_net_usd=round(portfolio.net_realized_pnl, 2),
        )

    def _system_alert(self, event: SystemEvent, message: str) -> None:
        if self.daemon is None or self.plan.mode is RunMode.BACKTEST:
            return
        self.daemon.stack.executor.reporter.alert_from(
            SystemAlert, timestamp=self.clock.now(), event=event, message=message
        )

    def _watch_feed(self, daemon: Daemon) -> None:
        """Start the :class:`FeedWatchdog` (not in backtests); stopped at shutdown."""
        if self.plan.mode is RunMode.BACKTEST:
            return
        watchdog = FeedWatchdog(
            self.monitor.bar_age_seconds,
            daemon.data_health.part("feed"),
            self._alert_now,
            timeframe_seconds=timeframe_seconds(self.plan.timeframe),
            grace_seconds=self.settings.health.feed_quiet_grace_seconds,
            unhealthy_after_seconds=self.settings.health.readiness_max_bar_age_seconds,
        )
        task = asyncio.create_task(watchdog.run(), name="feed-watchdog")
        self.service.register_shutdown_handler(partial(cancel_and_wait, task), "feed watchdog")

    async def _alert_now(self, event: SystemEvent, message: str) -> None:
        self._system_alert(event, message)
        await self._flush_alerts()

    async def _flush_alerts(self) -> None:
        if self.daemon is not None and self.plan.mode is not RunMode.BACKTEST:
            await self.daemon.stack.executor.flush_alerts()

    async def _trading_shutdown(self) -> None:
        """Stop trading: cancel unfilled entries, close positions (per setting), flush alerts."""
        if self.daemon is None:
            return
        executor, processor = self.daemon.stack.executor, self.daemon.processor
        close_all = self.settings.service.close_positions_on_shutdown
        for symbol in executor.open_symbols():
            has_position = executor.portfolio.position(symbol) is not None
            if has_position and not close_all:
                continue  # kept open with its protective legs; restored at the next start
            executor.close_position(symbol, ExitReason.SHUTDOWN)
            last = processor.last_bars.get(symbol)
            if has_position and last is not None:
                executor.fill_at_close(last)
        executor.reporter.flush_metrics()
        reason = self.service.stop_reason or "data ended"
        message = f"stopped ({reason})"
        if (cut := self._interrupted) is not None:
            done = f"{cut.bar_groups_done} of {cut.bar_groups} bars"
            message += f"; session {cut.day.isoformat()} interrupted after {done}"
        self._system_alert(SystemEvent.SHUTDOWN, message)
        await executor.flush_alerts()
        await asyncio.to_thread(executor.reporter.close)
