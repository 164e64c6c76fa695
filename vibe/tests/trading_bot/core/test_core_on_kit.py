"""BarProcessor, ReplayDriver and SessionLoop on the test kit: the daemon the builder ships.

Real recorded bars (``examples/data``, 5-minute AAPL, MSFT, SPY, QQQ of June 2025),
real SQLite files in ``tmp_path``, the production builder (:mod:`vibe.tests.kit`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from vibe.common.clock import SimulatedClock
from vibe.tests import kit
from vibe.trading_bot.core.daemon import Daemon
from vibe.trading_bot.core.historical_feed import HistoricalFeed, TradingDay
from vibe.trading_bot.core.replay_driver import ReplayDriver
from vibe.trading_bot.core.run_plan import RunMode
from vibe.trading_bot.core.session_loop import SessionLoop
from vibe.trading_bot.execution.notifier import RecordingNotifier
from vibe.trading_bot.notifications.payloads import DailySummaryAlert

SAMPLE = Path(__file__).resolve().parents[3].parent / "examples" / "data"
SYMBOLS = ("AAPL", "MSFT", "QQQ", "SPY")
START, END = date(2025, 6, 4), date(2025, 6, 13)
FIVE_MINUTES = timedelta(minutes=5)


async def _built(tmp_path: Path, mode: RunMode) -> tuple[Daemon, HistoricalFeed]:
    app = kit.settings(tmp_path, symbols=",".join(SYMBOLS))
    plan = kit.replay_plan(app, SAMPLE, SYMBOLS, START, END, mode=mode)
    daemon, _ = await kit.daemon(app, plan)
    feed = HistoricalFeed(daemon.data, daemon.scheduler, SYMBOLS, "5m", START, END)
    await feed.load()
    return daemon, feed


def _orders(daemon: Daemon) -> int:
    return len(daemon.stores.trades.get_orders())


@pytest.mark.asyncio
async def test_warm_up_never_trades_and_process_trades_and_flattens_by_the_close(tmp_path):
    daemon, feed = await _built(tmp_path, RunMode.BACKTEST)
    processor, clock = daemon.processor, daemon.clock
    assert isinstance(clock, SimulatedClock)
    try:
        for day in feed.days[:3]:  # shown to the strategy only: no order, nothing counted
            processor.start_session(day.open, day.close)
            for bar in feed.bars(day):
                processor.warm_up(bar)
        assert _orders(daemon) == 0 and processor.bars_processed == 0
        traded = 0
        for day in feed.days[3:]:
            processor.start_session(day.open, day.close)
            daemon.stack.executor.start_session(day.day)
            for bar in feed.bars(day):
                clock.advance_to(bar.end)
                processor.process(bar)
                traded += 1
            processor.end_session(day.close)
            assert daemon.stack.executor.portfolio.positions == {}, day.day  # flat each night
        assert processor.bars_processed == traded
        assert _orders(daemon) > 0, "the ORB should trade these four symbols in a week"
    finally:
        await daemon.service.shutdown()


@pytest.mark.asyncio
async def test_replay_groups_advance_the_clock_per_group_and_warm_up_before_the_cursor(tmp_path):
    daemon, feed = await _built(tmp_path, RunMode.BACKTEST)
    driver = ReplayDriver(daemon, feed)
    day = feed.days[0]
    bars = feed.bars(day)
    cursor = day.open + timedelta(hours=1)  # resuming after the first hour
    driver.sessions.begin(day)
    try:
        ends: list[datetime] = []
        for end in driver._groups(bars, cursor):
            assert daemon.clock.now() == end  # the clock is at the group's end while booked
            ends.append(end)
        expected = sorted({b.timestamp + FIVE_MINUTES for b in bars} - _until(cursor, bars))
        assert ends == expected
        after = [b for b in bars if b.timestamp + FIVE_MINUTES > cursor]
        assert daemon.processor.bars_processed == len(after)  # the first hour only warmed up
    finally:
        await daemon.service.shutdown()


def _until(cursor: datetime, bars: list) -> set[datetime]:
    return {b.timestamp + FIVE_MINUTES for b in bars if b.timestamp + FIVE_MINUTES <= cursor}


@pytest.mark.asyncio
async def test_session_loop_records_the_cursor_and_closes_a_session_once(tmp_path):
    daemon, feed = await _built(tmp_path, RunMode.REPLAY)
    notifier = daemon.notifier
    assert isinstance(notifier, RecordingNotifier)
    sessions = SessionLoop.of(daemon)
    day: TradingDay = feed.days[0]
    try:
        assert sessions.cursor() is None  # nothing processed in this DATA_DIR yet
        sessions.begin(day)
        driver = ReplayDriver(daemon, feed)
        for end in driver._groups(feed.bars(day), None):
            await sessions.group_done(end)
        assert sessions.cursor() == day.close
        assert sessions.close_pending(day)
        await sessions.end(day)
        assert not sessions.close_pending(day)
        await sessions.close_if_pending(day)  # a second close does nothing
        await sessions.resume_close(day, day.close)
        summaries = [a for a in notifier.alerts if isinstance(a, DailySummaryAlert)]
        assert len(summaries) == 1 and summaries[0].session_date == day.day
    finally:
        await daemon.service.shutdown()
