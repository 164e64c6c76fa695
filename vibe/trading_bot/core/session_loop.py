"""The per-session steps every driver shares: open, bar groups, close, after-close work.

A *bar group* is every symbol's bar for one timestamp. After each group the
loop records the equity point (backtests), moves the resume cursor (so a
restart never trades a bar twice), tells the health monitor and the metrics a
bar arrived, puts the group on the dashboard's bar tape, and hands queued
alerts to the notifier.

After the close: the end-of-day flatten of anything still open
(:meth:`BarProcessor.end_session`), the daily summary alert (trades, P&L,
equity, win rate), the daily metrics, the log-retention cleanup and a cloud
sync; then the session is marked closed in ``state.db`` so a restart does not
repeat it.

The close is resumable: a ``kill -9`` anywhere inside it leaves the cursor at
the session's last bar group and the session not marked closed, and the next
run repeats the close (:meth:`SessionLoop.resume_close`). Each step is
idempotent or recorded: the flatten reuses the stored close orders (same
client order ids) and fills only what is still working; day orders expire
once; the summary alert is recorded as queued (``state.db``) before the
metrics; the daily metrics replace the session's earlier copy; log cleanup,
cloud sync and checkpoint can run twice.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

from vibe.trading_bot.core.bar_processor import BarProcessor
from vibe.trading_bot.core.bar_tape import BarTape
from vibe.trading_bot.core.daemon import Daemon, RunContext, Stores, note_sync
from vibe.trading_bot.core.daily_summary import daily_figures
from vibe.trading_bot.core.historical_feed import TradingDay
from vibe.trading_bot.core.metrics_bridge import MetricsBridge
from vibe.trading_bot.core.run_plan import RunMode
from vibe.trading_bot.execution.trade_executor import TradeExecutor
from vibe.trading_bot.storage.log_store import LogStore
from vibe.trading_bot.storage.metrics_store import MetricRecord
from vibe.trading_bot.utils.logger import get_logger

if TYPE_CHECKING:
    from vibe.trading_bot.storage.sync import SyncScheduler

_log = get_logger(__name__)
PDT_WINDOW = 5
SYNC_AT_CLOSE_SECONDS = 300.0  # real seconds the after-close cloud sync may take


class SessionLoop:
    """Session open/close and bar-group bookkeeping for one run (see module doc).

    Args:
        processor: the bar processor (strategy, venue, executor for each bar).
        executor: the trade executor (daily counters, alerts, portfolio).
        stores: the run's SQLite stores (cursor and close marks in ``state.db``).
        context: the run's plan (mode, source, resume flag), clock (the daily
            summary's and metrics' time), calendar (the PDT window's sessions) and
            health monitor (told of each bar group and each cloud sync).
        logs: ``logs.db``, cleaned up after each close (``None``: no cleanup).
        sync: the cloud sync, run after each close (``None``: off).
        bridge: the Prometheus feed (``None``: no ``/metrics``).
        tape: the dashboard's record of traded bars and equity (``None``: no dashboard).
    """

    def __init__(
        self,
        processor: BarProcessor,
        executor: TradeExecutor,
        stores: Stores,
        context: RunContext,
        *,
        logs: LogStore | None = None,
        sync: SyncScheduler | None = None,
        bridge: MetricsBridge | None = None,
        tape: BarTape | None = None,
    ) -> None:
        self.processor = processor
        self.executor = executor
        self.stores = stores
        plan = context.plan
        self._monitor = context.monitor
        self._scheduler = context.scheduler
        self._clock = context.clock
        self._resume = plan.resume
        self._backtest = plan.mode is RunMode.BACKTEST
        self._logs, self._sync, self._bridge, self._tape = logs, sync, bridge, tape
        self._source = plan.source
        self._persist_cursor = not self._backtest
        self.current: TradingDay | None = None

    @classmethod
    def of(cls, daemon: Daemon) -> SessionLoop:
        """The session loop of a finished daemon."""
        return cls(
            daemon.processor,
            daemon.stack.executor,
            daemon.stores,
            daemon.context,
            logs=daemon.logs,
            sync=daemon.sync,
            bridge=daemon.bridge,
            tape=daemon.tape,
        )

    @property
    def equity_only(self) -> bool:
        """True when :meth:`group_done` only records the equity point (backtests).

        Drivers may then call ``processor.mark_equity`` themselves, without a
        coroutine per bar group.
        """
        return not self._persist_cursor

    def cursor(self) -> datetime | None:
        """End of the last processed bar group of this run's source, if resuming."""
        if not self._resume:
            return None
        return self.stores.state.cursor(self._source)

    def begin(self, day: TradingDay) -> None:
        """Open the session ``day``: strategy contexts and the executor's daily counters."""
        self.current = day
        self.processor.start_session(day.open, day.close)
        if self._tape is not None:
            self._tape.begin_session(day.open)
        self._start_counters(day)

    def _start_counters(self, day: TradingDay) -> None:
        window = self._scheduler.sessions_before(day.day, PDT_WINDOW - 1)
        first = window[0][0] if window else day.day
        self.executor.start_session(day.day, first, opened_at=day.open)

    async def group_done(self, bar_end: datetime) -> None:
        """Book-keeping after the bar group ending at ``bar_end`` (tz-aware UTC)."""
        self.processor.mark_equity(bar_end)
        if not self._persist_cursor:
            return
        self.stores.state.set_cursor(self._source, bar_end)
        self._monitor.record_bar(bar_end)
        last = self.processor.last_bars
        if self._bridge is not None:
            symbols = [s for s, bar in last.items() if bar.end == bar_end]
            self._bridge.on_bars(symbols, self.executor.portfolio)
        if self._tape is not None:
            group = (bar for bar in last.values() if bar.end == bar_end)
            self._tape.record_group(group, bar_end, self.executor.portfolio.equity)
        if self.executor.reporter.pending_alerts:
            await self.executor.flush_alerts()

    async def end(self, day: TradingDay) -> None:
        """Close the session: flatten, expire day orders, then the after-close work."""
        self.processor.end_session(day.close)
        self.current = None
        await self.close_if_pending(day)

    def close_pending(self, day: TradingDay) -> bool:
        """True when ``day``'s after-close work is not recorded as done (never in backtests)."""
        if self._backtest:
            return False
        last = self.stores.state.last_closed_session(self._source)
        return last is None or last < day.day

    async def close_if_pending(self, day: TradingDay) -> None:
        """Run :meth:`after_close` for ``day`` unless it was done (or this is a backtest)."""
        if self.close_pending(day):
            await self.after_close(day)

    async def resume_close(self, day: TradingDay, cursor: datetime | None) -> None:
        """Finish the close of ``day``, whose bars an earlier run processed, if it was cut off.

        Call after the session's bars were shown to the strategy (so the processor
        knows each symbol's last bar). When the cursor is inside the session (the
        earlier run stopped in its close) the end-of-day flatten and the expiry of
        day orders are repeated first: both only act on what is still open. When the
        cursor is past the session, open positions belong to a later session and
        are left alone.
        """
        if not self.close_pending(day):
            return
        self._start_counters(day)
        if cursor is not None and cursor <= day.close:
            self.processor.end_session(day.close)
        await self.after_close(day)

    async def after_close(self, day: TradingDay) -> None:
        """Daily summary alert and metrics, log cleanup, cloud sync; marks ``day`` closed."""
        executor = self.executor
        state = self.stores.state
        trades = self.stores.trades.get_trades(start=day.open, end=day.close)
        if self._bridge is not None:
            self._bridge.on_trades(trades)
        figures = daily_figures(
            day.day, trades, executor.session.start_of_day_equity, executor.portfolio.equity
        )
        now = self._clock.now()
        summarised = state.last_summarised_session(self._source)
        if summarised is None or summarised < day.day:
            executor.reporter.alert_from(figures.to_alert, now)
            await executor.flush_alerts()
            state.set_session_summarised(self._source, day.day)
        session = {"session": day.day.isoformat()}
        records = [
            MetricRecord("daily", name, value, session, now)
            for name, value in figures.metrics().items()
        ]
        self.stores.metrics.replace_many("daily", session, records)
        executor.reporter.flush_metrics()
        if self._logs is not None:
            removed = await asyncio.to_thread(self._logs.cleanup_old_logs)
            _log.info("log retention cleanup", removed=removed)
        if self._sync is not None:
            ok = await self._sync_at_close()
            note_sync(ok, self._monitor, state, self._bridge, self._clock.now())
        await asyncio.to_thread(self.stores.trades.checkpoint)
        self.stores.state.set_session_closed(self._source, day.day)
        _log.info(
            "session closed",
            day=day.day.isoformat(),
            trades=figures.trades,
            net_pnl_usd=round(figures.net_pnl, 2),
            equity_usd=round(figures.ending_equity, 2),
        )

    async def _sync_at_close(self) -> bool:
        """The after-close cloud sync, bounded by ``SYNC_AT_CLOSE_SECONDS``; True when it worked.

        A sync that takes longer is abandoned (reported as failed): the close must
        finish, and the next periodic or shutdown sync uploads the same snapshot.
        """
        sync = self._sync
        if sync is None:
            return True
        try:
            async with asyncio.timeout(SYNC_AT_CLOSE_SECONDS):
                return await sync.on_session_close()
        except TimeoutError:
            _log.error("cloud sync at the close timed out", seconds=SYNC_AT_CLOSE_SECONDS)
            return False
