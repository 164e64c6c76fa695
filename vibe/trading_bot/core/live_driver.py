"""The loop on the wall clock: ``run`` (live paper trading).

* **Market closed**: sleep until ``WARMUP_MINUTES_BEFORE_OPEN`` before the next
  open (the health state shows the next open); a stop request wakes it at once.
* **Warm-up**: load the history the strategy needs (the sessions its volume
  average needs and today's bars so far) and show it to the strategy only: a
  restart continues at the current time, it never trades bars from the past.
  Symbols are fetched concurrently (at most ``history_concurrency`` requests
  in flight, each limited to ``history_timeout_seconds`` real seconds). The
  symbols that failed are asked again, ``history_retries`` times at most and
  ``history_retry_seconds`` (real seconds) apart, as long as the session has not
  opened (before the first live bar, so late history still comes first). A
  symbol whose history cannot be loaded still trades, but never silently:
  ``market_data`` turns DEGRADED naming it (``/health/state`` lists it under
  ``market.symbols_without_history``) and an alert is sent.
* **Session**: the data manager's live stream (Finnhub, else Yahoo polling)
  runs as a task feeding a queue of closed 1-minute bars. They are rolled up
  to ``TIMEFRAME`` (:class:`~vibe.trading_bot.data.live_resample.LiveResampler`,
  session-anchored as in a replay) and collected into bar groups
  (:class:`~.bar_groups.BarGroups`: every symbol's bar of one time, in symbol
  order); each group goes through the :class:`~.bar_processor.BarProcessor`
  in a worker thread (it writes SQLite), then the group's book-keeping runs
  once. Decisions are made at the bar's close (trading time pinned to it, see
  :mod:`vibe.common.clock`), so live trades the bars as a replay of the same
  bars does: same signals, same orders, same fills. The session ends when the
  group ending at the close is done, or ``CLOSE_WAIT_SECONDS`` (real seconds,
  waiting on the feed) after the trading clock passed the close; what came by
  then is traded.
* **After the close**: the stream task is cancelled and awaited for at most
  ``STREAM_STOP_SECONDS`` (a stream that ignores the cancellation is left
  behind and logged: the close never hangs on it), then the session loop's
  flatten and after-close work.
* **Restart after a cut-off close**: if the previous run traded the last
  session and died inside its close (cursor in that session, session not
  marked closed), the close is finished first, on that session's bars from
  history (:meth:`SessionLoop.resume_close`), before anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from vibe.common.errors import VibeError
from vibe.common.models import Bar
from vibe.trading_bot.core.bar_groups import BarGroups
from vibe.trading_bot.core.daemon import Daemon
from vibe.trading_bot.core.historical_feed import (
    TradingDay,
    sessions_before,
    warmup_sessions_needed,
)
from vibe.trading_bot.core.session_loop import SessionLoop
from vibe.trading_bot.data.frames import timeframe_seconds
from vibe.trading_bot.data.history_batch import (
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT_SECONDS,
    HistoryBatch,
    fetch_history,
)
from vibe.trading_bot.data.live_resample import LiveResampler
from vibe.trading_bot.data.market_health import describe_missing
from vibe.trading_bot.notifications.payloads import SystemAlert, SystemEvent
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)
CLOSE_WAIT_SECONDS = 120.0  # real seconds after the close to wait for the last bars
MAX_SLEEP_SECONDS = 300.0
STREAM_STOP_SECONDS = 5.0  # real seconds per cancellation of the stream task at the close
GROUP_WAIT_SECONDS = 15.0  # real seconds a bar group waits for a silent symbol's bar
RESAMPLE_GRACE_SECONDS = 60.0  # trading seconds after a bucket's end before it goes without
POLL_SECONDS = 0.25  # real seconds between checks for due groups when no bar comes
HISTORY_RETRIES = 5  # warm-up requests again for symbols whose history failed (before the open)
HISTORY_RETRY_SECONDS = 60.0  # real seconds between them (a warm-up starts 30 min before)
NEW_YORK = ZoneInfo("America/New_York")


class LiveDriver:
    """Drives the session loop from live market data (see module doc).

    Args:
        daemon: the finished daemon (live data manager, wall clock).

    Attributes:
        history_concurrency: history requests in flight at once during a warm-up.
        history_timeout_seconds: real seconds allowed per symbol's history request.
        history_retries: further requests for the symbols whose history failed, before
            the open only.
        history_retry_seconds: real seconds between those requests.
    """

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.sessions = SessionLoop.of(daemon)
        self.data = daemon.data
        self._symbols: Sequence[str] = daemon.plan.symbols
        self._timeframe = daemon.plan.timeframe
        self._interval = timeframe_seconds(self._timeframe)
        self._warmup = timedelta(minutes=daemon.settings.trading.warmup_minutes_before_open)
        self._last_end: datetime | None = None
        self._seen: dict[str, datetime] = {}
        self.history_concurrency = DEFAULT_CONCURRENCY
        self.history_timeout_seconds = DEFAULT_TIMEOUT_SECONDS
        self.history_retries = HISTORY_RETRIES
        self.history_retry_seconds = HISTORY_RETRY_SECONDS

    @property
    def _stopping(self) -> bool:
        return self.daemon.service.stop_requested

    async def run(self) -> None:
        """Trade session after session until a stop is requested."""
        await self._finish_cut_off_close()
        while not self._stopping:
            day = self._current_or_next()
            wake = day.open - self._warmup
            if self.daemon.clock.now() < wake:
                _log.info("market closed", next_open=day.open.isoformat())
                await self._sleep_until(wake)
                continue
            await self._session(day)

    def _current_or_next(self) -> TradingDay:
        now = self.daemon.clock.now()
        scheduler = self.daemon.scheduler
        bounds = scheduler.session_bounds_at(now.timestamp())
        if bounds is None:
            open_ = scheduler.next_open(now)
        else:
            open_ = datetime.fromtimestamp(bounds[0], now.tzinfo)
        day = open_.astimezone(NEW_YORK).date()
        session = scheduler.session(day)
        if session is None:  # cannot happen: next_open is a session open
            raise VibeError(f"calendar has no session on {day.isoformat()}")
        return TradingDay(day, *session)

    async def _finish_cut_off_close(self) -> None:
        """Finish the close of the last ended session if the previous run died inside it."""
        cursor = self.sessions.cursor()
        if cursor is None:
            return
        previous = sessions_before(self.daemon.scheduler, self._current_or_next().day, 1)
        if not previous:
            return
        day = previous[-1]
        if not (day.open < cursor <= day.close) or not self.sessions.close_pending(day):
            return
        _log.warning("finishing a session close cut off by a restart", day=day.day.isoformat())
        processor = self.sessions.processor
        processor.start_session(day.open, day.close)
        for bar in (await self._history(day.open, day.close)).bars:
            processor.warm_up(bar)
        await self.sessions.resume_close(day, cursor)

    async def _sleep_until(self, when: datetime) -> None:
        seconds = min((when - self.daemon.clock.now()).total_seconds(), MAX_SLEEP_SECONDS)
        await self._wait(max(seconds, 0.0))

    async def _wait(self, seconds: float) -> None:
        """Wait ``seconds`` of real time (the event loop's clock); a stop request ends it."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.daemon.service.wait_for_stop(), seconds)

    async def _session(self, day: TradingDay) -> None:
        await self._warm_up(day)
        queue: asyncio.Queue[Bar] = asyncio.Queue()
        pump = asyncio.create_task(self._pump(queue), name="live-bars")
        try:
            await self._consume(day, queue)
        finally:
            await _stop_task(pump)
        if not self._stopping:
            await self.sessions.end(day)

    async def _warm_up(self, day: TradingDay) -> None:
        processor = self.sessions.processor
        count = warmup_sessions_needed(
            self.daemon.settings.strategy.volume_lookback_bars, self._timeframe
        )
        now = self.daemon.clock.now()
        days = [*sessions_before(self.daemon.scheduler, day.day, count), day]
        start, end = days[0].open, min(day.close, now)
        batch = await self._retry_missing(await self._history(start, end), day, start, end)
        for past in days:
            processor.start_session(past.open, past.close)
            for bar in batch.bars:
                if past.open <= bar.timestamp < past.close and bar.end <= now:
                    processor.warm_up(bar)
                    self._seen[bar.symbol] = bar.timestamp
        await self._report_history(batch.failures)
        self.sessions.begin(day)

    async def _retry_missing(
        self, batch: HistoryBatch, day: TradingDay, start: datetime, end: datetime
    ) -> HistoryBatch:
        """Ask again for the symbols ``batch`` lacks while ``day`` has not opened (module doc)."""
        for _ in range(self.history_retries):
            if not batch.failures or self._stopping or self.daemon.clock.now() >= day.open:
                break
            _log.warning("warm-up history retry", symbols=sorted(batch.failures))
            await self._wait(self.history_retry_seconds)
            again = await self._history(start, end, sorted(batch.failures))
            bars = sorted([*batch.bars, *again.bars], key=lambda bar: (bar.timestamp, bar.symbol))
            batch = HistoryBatch(bars, again.failures)
        return batch

    async def _history(
        self, start: datetime, end: datetime, symbols: Sequence[str] | None = None
    ) -> HistoryBatch:
        """Bars of ``symbols`` (default all) in ``[start, end)``, fetched concurrently.

        See :mod:`vibe.trading_bot.data.history_batch`.
        """
        if end <= start:
            return HistoryBatch()
        return await fetch_history(
            self.data,
            self._symbols if symbols is None else symbols,
            self._timeframe,
            start,
            end,
            concurrency=self.history_concurrency,
            timeout_seconds=self.history_timeout_seconds,
        )

    async def _report_history(self, missing: dict[str, str]) -> None:
        """Health (``market_data`` DEGRADED, naming them) and an alert for symbols lacking history.

        A warm-up that loads every symbol after one that did not clears the state
        and says so (``component_recovered``).
        """
        had_missing = bool(self.data.missing_history)
        self.data.report_missing_history(missing)
        if not missing and not had_missing:
            return
        if missing:
            event = SystemEvent.COMPONENT_DEGRADED
            message = (
                f"warm-up history missing for {len(missing)} of {len(self._symbols)} "
                f"symbol(s); they trade without it: {describe_missing(missing)}"
            )
            details = {"symbols": ", ".join(sorted(missing))[:1000]}
        else:
            event, message, details = SystemEvent.COMPONENT_RECOVERED, "warm-up history loaded", {}
        executor = self.daemon.stack.executor
        executor.reporter.alert_from(
            SystemAlert,
            timestamp=self.daemon.clock.now(),
            event=event,
            component="market_data",
            message=message[:1500],
            details=details,
        )
        await executor.flush_alerts()

    async def _pump(self, queue: asyncio.Queue[Bar]) -> None:
        try:
            async for bar in self.data.stream_bars(self._symbols):
                await queue.put(bar)
        except VibeError as exc:
            _log.error("live data stopped", error=str(exc))

    async def _consume(self, day: TradingDay, queue: asyncio.Queue[Bar]) -> None:
        """Trade the live bars of ``day`` group by group until its close (see module doc)."""
        clock, timer = self.daemon.clock, self.daemon.timer
        resampler = LiveResampler(self._timeframe, self.daemon.scheduler, RESAMPLE_GRACE_SECONDS)
        groups = BarGroups(self._symbols, GROUP_WAIT_SECONDS)
        closed_at: float | None = None  # monotonic time the trading clock passed the close
        while not self._stopping:
            arrived: list[Bar] = []
            try:
                async with asyncio.timeout(POLL_SECONDS):
                    arrived.append(await queue.get())
            except TimeoutError:
                pass
            now, waited = clock.now(), timer.monotonic()
            # every bar already queued goes in before a bucket is closed on time: after a
            # stall (a busy machine) the clock may be past a bucket's grace while its
            # last minutes still wait in the queue, and closing it first would drop them
            while not queue.empty():
                arrived.append(queue.get_nowait())
            bars = [b for bar in arrived if self._fresh(day, bar) for b in resampler.add(bar)]
            ready = [g for b in (*bars, *resampler.flush_due(now)) for g in groups.add(b, waited)]
            for group in (*ready, *groups.due(waited)):
                if await self._trade_group(day, group):
                    return
            if now >= day.close:
                closed_at = waited if closed_at is None else closed_at
                if waited - closed_at >= CLOSE_WAIT_SECONDS:
                    break
        if not self._stopping:  # the close's last bars never completed: trade what came
            await self._trade_leftovers(day, queue, resampler, groups)

    async def _trade_leftovers(
        self,
        day: TradingDay,
        queue: asyncio.Queue[Bar],
        resampler: LiveResampler,
        groups: BarGroups,
    ) -> None:
        waited = self.daemon.timer.monotonic()
        bars: list[Bar] = []
        while not queue.empty():
            bar = queue.get_nowait()
            if self._fresh(day, bar):
                bars.extend(resampler.add(bar))
        bars.extend(resampler.flush_all())
        ready = [g for b in bars for g in groups.add(b, waited)]
        _log.warning("session close without every last bar", late_bars=groups.late_bars)
        for group in (*ready, *groups.flush()):
            await self._trade_group(day, group)

    def _fresh(self, day: TradingDay, bar: Bar) -> bool:
        """True for a bar of the session whose time was not traded or warmed up yet."""
        if bar.timestamp < day.open or bar.timestamp >= day.close:
            return False
        seen = self._seen.get(bar.symbol)
        return seen is None or bar.timestamp >= seen + timedelta(seconds=self._interval)

    async def _trade_group(self, day: TradingDay, group: list[Bar]) -> bool:
        """Trade one bar group and book-keep it once; True when it ends at the close."""
        for bar in group:
            self._seen[bar.symbol] = bar.timestamp
        async with self.daemon.trading_lock:  # the dashboard's commands wait for the group
            await asyncio.to_thread(self._process_group, group)
        end = max(bar.end for bar in group)
        self._last_end = max(self._last_end or end, end)
        await self.sessions.group_done(end)
        return end >= day.close

    def _process_group(self, group: list[Bar]) -> None:
        process = self.sessions.processor.process
        for bar in group:
            process(bar)


async def _stop_task(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it, at most ``STREAM_STOP_SECONDS`` per attempt, 3 attempts.

    Cancellation-safe: a task that swallows a cancellation (``asyncio.wait_for``
    on Python 3.11, CPython issue 86296) is cancelled again, and one that never
    stops is left behind with an error in the log instead of hanging the close.
    """
    for _ in range(3):
        task.cancel()
        done, _pending = await asyncio.wait({task}, timeout=STREAM_STOP_SECONDS)
        if done:
            if not task.cancelled() and task.exception() is not None:
                _log.error("live stream task failed", error=repr(task.exception()))
            return
    _log.error("live stream task ignored its cancellation; left behind", task=task.get_name())
