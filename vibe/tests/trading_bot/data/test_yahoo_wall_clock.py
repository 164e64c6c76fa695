"""What Yahoo has is judged on the wall clock, never on a simulated trading clock.

The data layer is built as a backtest builds it: a trading clock far in the
past (2000-01-03) and, standing for the wall clock, a simulated clock at
2025-07-10 12:02 ET. The chart-v8 stand-in on 127.0.0.1 serves the real
5-minute bars of ``bars_5m/yfinance_2025-06_2025-08``. Which bars have closed,
Yahoo's 60-day retention of 5-minute bars and the cache's TTL all follow the
wall clock; the trading clock changes none of them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
import yfinance as yf

from vibe.common.clock import LiveClock, SimulatedClock
from vibe.common.errors import NoDataError
from vibe.tests.kit import replay_plan
from vibe.trading_bot.config.loader import load_settings
from vibe.trading_bot.core.health_reporter import RecordingHealthReporter
from vibe.trading_bot.core.orchestrator import Orchestrator
from vibe.trading_bot.core.run_plan import RunMode, RunPlan
from vibe.trading_bot.data.factory import build_data_manager
from vibe.trading_bot.data.providers.replay import ReplayProvider
from vibe.trading_bot.data.providers.yahoo import forget_yfinance_memo

from .yahoo_chart_standin import YahooChartStandIn

FIVE_MIN = "bars_5m/yfinance_2025-06_2025-08"
FAR_PAST = datetime(2000, 1, 3, tzinfo=UTC)
WALL_NOW = datetime(2025, 7, 10, 16, 2, tzinfo=UTC)  # 12:02 ET, mid-session
NOON = datetime(2025, 7, 10, 16, tzinfo=UTC)  # 12:00 ET: the last bar closed by then starts 11:55
TODAY_ET = datetime(2025, 7, 10, 4, tzinfo=UTC)  # 00:00 ET
START = datetime(2025, 7, 9, 13, 30, tzinfo=UTC)  # the open of the session before
TTL_SECONDS = 60
OLD_END = datetime(2025, 5, 9, tzinfo=UTC)  # 62 days before the wall clock


@pytest.fixture
def standin(shared_data, tmp_path):
    yf.set_tz_cache_location(str(tmp_path / "yf_tz"))
    forget_yfinance_memo()  # every request reaches the stand-in
    with YahooChartStandIn(shared_data / FIVE_MIN) as server:
        yield server


def _ranged(standin: YahooChartStandIn) -> list[dict[str, str]]:
    with standin.state.lock:
        return [query for _, query in standin.state.requests if "period1" in query]


@pytest.mark.asyncio
async def test_closed_bars_retention_and_cache_age_follow_the_wall_clock(
    standin, shared_data, scheduler, tmp_path
):
    settings = load_settings(
        None,
        {
            "data_dir": str(tmp_path / "data"),
            "yahoo_base_url": standin.url,
            "yahoo_rate_limit": 1000,
            "data_cache_ttl_seconds": TTL_SECONDS,
        },
    )
    wall = SimulatedClock(WALL_NOW)
    health = RecordingHealthReporter()
    trading = SimulatedClock(FAR_PAST)
    data = build_data_manager(settings, trading, health, scheduler, wall_clock=wall)
    recorded = ReplayProvider(shared_data / FIVE_MIN, scheduler, timeframe="5m").load("QQQ", "5m")
    end = datetime(2025, 7, 10, 20, tzinfo=UTC)
    await data.connect()
    try:
        # closed by 12:02 ET: the session before and today's bars up to the 11:55 one
        frame = await data.get_history("QQQ", "5m", START, end)
        expected = recorded[(recorded.index >= START) & (recorded.index < NOON)]
        assert len(frame) == len(expected) == 78 + 30
        pd.testing.assert_frame_equal(frame, expected, check_dtype=False, check_freq=False)
        assert len(_ranged(standin)) == 1

        # the cache covers what existed at 12:02: a range inside it asks Yahoo nothing
        again = await data.get_history("QQQ", "5m", START, NOON)
        pd.testing.assert_frame_equal(again, frame, check_dtype=False, check_freq=False)
        assert len(_ranged(standin)) == 1

        # after the TTL on the wall clock, today's part (only) is fetched again
        wall.advance(TTL_SECONDS + 2.5 * 3600)  # 14:32 ET
        later = await data.get_history("QQQ", "5m", START, end)
        assert len(later) == 78 + 60
        queries = _ranged(standin)
        assert len(queries) == 2
        assert int(queries[1]["period1"]) == int(TODAY_ET.timestamp())

        # 5-minute bars older than 60 days before the wall clock: refused without a request
        with pytest.raises(NoDataError, match="Yahoo keeps 5m bars for 60 days"):
            await data.get_history("QQQ", "5m", datetime(2025, 4, 1, tzinfo=UTC), OLD_END)
        assert len(_ranged(standin)) == 2
    finally:
        await data.close()


def test_the_orchestrator_reads_the_outside_world_on_the_wall_clock(tmp_path):
    settings = load_settings(None, {"data_dir": str(tmp_path / "data")})
    backtest = replay_plan(
        settings, tmp_path, ["SPY"], date(2025, 7, 9), date(2025, 7, 10), mode=RunMode.BACKTEST
    )
    context = Orchestrator(settings, backtest, handle_signals=False).context
    assert isinstance(context.clock, SimulatedClock)
    assert isinstance(context.wall_clock, LiveClock)
    live = RunPlan(RunMode.LIVE, tmp_path, ("SPY",), "5m", notify=False, cloud_sync=False)
    trading = SimulatedClock(WALL_NOW - timedelta(hours=3))  # a test's stand-in wall clock
    context = Orchestrator(settings, live, clock=trading, handle_signals=False).context
    assert context.wall_clock is trading
