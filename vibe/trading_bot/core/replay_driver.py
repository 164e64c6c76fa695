"""The loop on a simulated clock: ``run --replay`` and ``backtest``.

Sessions come from the calendar between the run's start and end dates; their
bars from a :class:`HistoricalFeed`. The simulated clock jumps to
``WARMUP_MINUTES_BEFORE_OPEN`` before each open (the live daemon's wake-up
time), then to each bar group's close as the group is processed. With a
``speed`` the loop sleeps (real time) ``bar length / speed`` per group; without
one it runs as fast as it can, yielding to the event loop between groups so
the health probes keep answering (backtests skip even that).

Resume: bars that end at or before the stored cursor were processed by an
earlier run on the same ``DATA_DIR``; they are shown to the strategy only
(rebuilding its state) and trading resumes with the next bar group. A session
without any bar (a data gap day) is logged, reported to health and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta

from vibe.common.clock import SimulatedClock
from vibe.common.models import Bar
from vibe.trading_bot.core.daemon import Daemon
from vibe.trading_bot.core.historical_feed import HistoricalFeed, TradingDay
from vibe.trading_bot.core.run_plan import RunMode
from vibe.trading_bot.core.session_loop import SessionLoop
from vibe.trading_bot.data.frames import timeframe_seconds
from vibe.trading_bot.utils.collector import paused_gc
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)


class ReplayDriver:
    """Drives the session loop through a feed of recorded bars (see module doc).

    Args:
        daemon: the finished daemon; ``daemon.clock`` must be a :class:`SimulatedClock`.
        feed: the loaded feed of the run's sessions.
    """

    def __init__(self, daemon: Daemon, feed: HistoricalFeed) -> None:
        if not isinstance(daemon.clock, SimulatedClock):
            raise TypeError("ReplayDriver needs a SimulatedClock")
        self.daemon = daemon
        self.clock: SimulatedClock = daemon.clock
        self.feed = feed
        self.sessions = SessionLoop.of(daemon)
        self._interval = timedelta(seconds=timeframe_seconds(daemon.plan.timeframe))
        speed = daemon.plan.speed
        self._pause = self._interval.total_seconds() / speed if speed else None
        self._yield = daemon.plan.mode is not RunMode.BACKTEST
        self._fast = self._pause is None and not self._yield and self.sessions.equity_only
        self._warmup = timedelta(minutes=daemon.settings.trading.warmup_minutes_before_open)
        self.sessions_done = 0

    @property
    def _stopping(self) -> bool:
        return self.daemon.service.stop_requested

    async def run(self) -> None:
        """Replay every session until the data ends or a stop is requested.

        A backtest replays with the cyclic garbage collector paused (see
        :func:`~vibe.trading_bot.utils.collector.paused_gc`): it is bounded and runs flat out.
        """
        if self._fast:
            with paused_gc():
                await self._replay()
        else:
            await self._replay()

    async def _replay(self) -> None:
        cursor = self.sessions.cursor()
        for day in self.feed.warmup_days():
            self.sessions.processor.start_session(day.open, day.close)
            for bar in self.feed.bars(day):
                self.sessions.processor.warm_up(bar)
        total = len(self.feed.days)
        progress = self.daemon.plan.progress
        for day in self.feed.days:
            if self._stopping:
                break
            await self._run_day(day, cursor)
            if self.sessions.current is not None:
                break  # a stop cut this session short: it is not counted as run
            self.sessions_done += 1
            if progress is not None:
                progress(self.sessions_done, total, self.sessions.processor.bars_processed)
            if self._fast:
                await asyncio.sleep(0)  # let a SIGINT/SIGTERM handler run between sessions
        _log.info("replay finished", sessions=self.sessions_done, stopped=self._stopping)

    def _advance(self, to: datetime) -> None:
        if to > self.clock.now():
            self.clock.advance_to(to)

    async def _run_day(self, day: TradingDay, cursor: datetime | None) -> None:
        bars = self.feed.bars(day)
        if cursor is not None and bars and bars[-1].timestamp + self._interval <= cursor:
            await self._replayed_day(day, bars, cursor)
            return
        self._advance(day.open - self._warmup)
        if not bars:
            message = f"no bars for the session of {day.day.isoformat()}: data gap, skipped"
            if self.feed.data_ended_before(day):  # warned once by the feed, not every day
                _log.info("no data left", day=day.day.isoformat())
            else:
                _log.warning("data gap", day=day.day.isoformat())
            self.daemon.data_health.record_error(message)
            return
        self.sessions.begin(day)
        if self._fast and cursor is None:
            self._trade_bars_now(bars)
        elif await self._trade_bars(bars, cursor):
            return  # stop requested: the shutdown closes what is open
        self._advance(day.close)
        await self.sessions.end(day)

    def _groups(self, bars: list[Bar], cursor: datetime | None) -> Iterator[datetime]:
        """Trade the session's bars group by group, yielding each group's end (UTC).

        The one bar loop of replays and backtests: for each group of bars with the
        same end, the clock advances to that end, every bar of the group is
        processed, and the end is yielded for the caller's book-keeping (the
        clock moves on only when the caller asks for the next group). Bars that
        end at or before ``cursor`` (a resume point) are shown to the strategy only.
        """
        processor = self.sessions.processor
        process, warm_up = processor.process, processor.warm_up
        advance_to = self.clock.advance_to  # ignores a time before now
        interval = self._interval
        group_end: datetime | None = None
        for bar in bars:
            end = bar.timestamp + interval
            if cursor is not None and end <= cursor:
                warm_up(bar)
                continue
            if end != group_end:
                if group_end is not None:
                    yield group_end
                group_end = end
                advance_to(end)
            process(bar)
        if group_end is not None:
            yield group_end

    async def _trade_bars(self, bars: list[Bar], cursor: datetime | None) -> bool:
        """Trade the session's bars, book-keeping and pacing each group; True on a stop."""
        for group_end in self._groups(bars, cursor):
            if await self._group_done(group_end):
                return True
        return False

    def _trade_bars_now(self, bars: list[Bar]) -> None:
        """:meth:`_trade_bars` for a backtest: only the equity point per group, quiet bars skipped.

        No coroutine per group: a backtest's group book-keeping is only the
        equity point (:attr:`SessionLoop.equity_only`). Stretches of bars that need
        no decision (:meth:`BarProcessor.quiet_end`: the strategy idle, no order
        within reach) are taken in at once (:meth:`BarProcessor.pass_quiet`), the
        others group by group as in :meth:`_groups`. A stop cannot arrive inside
        this synchronous loop: signal handlers run on the event loop, which
        :meth:`_replay` yields to after each session and then checks for a stop.
        """
        processor = self.sessions.processor
        quiet_end, pass_quiet = processor.quiet_end, processor.pass_quiet
        process, mark_equity = processor.process, processor.mark_equity
        advance_to, interval = self.clock.advance_to, self._interval
        i, n = 0, len(bars)
        while i < n:
            j = quiet_end(bars, i)
            if j > i:
                advance_to(pass_quiet(bars[i:j], interval))
                i = j
                continue
            start = bars[i].timestamp
            end = start + interval
            advance_to(end)
            while i < n and bars[i].timestamp == start:
                process(bars[i])
                i += 1
            mark_equity(end)

    async def _replayed_day(self, day: TradingDay, bars: list[Bar], cursor: datetime) -> None:
        """A session whose bars an earlier run traded: rebuild the strategy's state.

        If that run stopped before finishing the session's close (a crash inside
        it), the close is finished now (:meth:`SessionLoop.resume_close`).
        """
        self.sessions.processor.start_session(day.open, day.close)
        for bar in bars:
            self.sessions.processor.warm_up(bar)
        self._advance(day.close)
        await self.sessions.resume_close(day, cursor)

    async def _group_done(self, bar_end: datetime) -> bool:
        """Book-keep the finished group and pace; True when a stop was requested."""
        await self.sessions.group_done(bar_end)
        if self._pause is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.daemon.service.wait_for_stop(), self._pause)
        elif self._yield:
            await asyncio.sleep(0)
        return self._stopping
