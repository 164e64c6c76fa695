from __future__ import annotations

import math
import socket
from datetime import UTC, datetime, timedelta

import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.errors import NoDataError
from vibe.common.models import Bar
from vibe.trading_bot.core.health_reporter import HealthState, RecordingHealthReporter
from vibe.trading_bot.data.cache import ParquetCache
from vibe.trading_bot.data.frames import frame_to_bars
from vibe.trading_bot.data.manager import DataManager
from vibe.trading_bot.data.providers.replay import ReplayProvider
from vibe.trading_bot.data.providers.yahoo import YahooProvider

from .yahoo_server import LocalYahooSession


class CountingReplay(ReplayProvider):
    """The real replay provider, remembering every history request it served."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[datetime, datetime]] = []

    async def get_history(self, symbol, timeframe, start, end):
        self.calls.append((start, end))
        return await super().get_history(symbol, timeframe, start, end)


class ListStream:
    """A streaming provider that plays a fixed list of bars (for validation tests)."""

    name = "list"
    reconnects = 0

    def __init__(self, bars: list[Bar]):
        self.bars = bars

    async def connect(self):
        pass

    async def close(self):
        pass

    async def stream_bars(self, symbols):
        for bar in self.bars:
            yield bar


def d(day: int, month: int = 7, hour: int = 0) -> datetime:
    return datetime(2024, month, day, hour, tzinfo=UTC)


@pytest.fixture
def clock():
    return SimulatedClock(datetime(2025, 5, 1, tzinfo=UTC))


@pytest.fixture
def replay(spy_dir, scheduler):
    return CountingReplay(spy_dir, scheduler)


def _manager(scheduler, clock, replay, cache, **kwargs):
    return DataManager(
        scheduler,
        clock,
        RecordingHealthReporter(),
        history_providers=[replay],
        cache=cache,
        **kwargs,
    )


@pytest.mark.asyncio
async def test_covered_range_makes_no_provider_call(tmp_path, scheduler, clock, replay, spy_1m):
    manager = _manager(scheduler, clock, replay, ParquetCache(tmp_path, clock))
    first = await manager.get_history("SPY", "1m", d(1), d(6))
    assert len(replay.calls) == 1 and len(first) == 4 * 390 - 180  # Jul 3 early close, Jul 4 shut
    again = await manager.get_history("SPY", "1m", d(2), d(4))
    assert len(replay.calls) == 1
    assert again.equals(spy_1m.loc[d(2) : d(4) - timedelta(seconds=1)])
    # a weekend has no rows but is still covered after one fetch
    await manager.get_history("SPY", "1m", d(13), d(15))
    await manager.get_history("SPY", "1m", d(13), d(15))
    assert len(replay.calls) == 2


@pytest.mark.asyncio
async def test_partial_coverage_fetches_only_the_missing_part(
    tmp_path, scheduler, clock, replay, spy_1m
):
    cache = ParquetCache(tmp_path, clock)
    manager = _manager(scheduler, clock, replay, cache)
    await manager.get_history("SPY", "1m", d(8), d(11))
    frame = await manager.get_history("SPY", "1m", d(1), d(16))
    assert replay.calls[1:] == [(d(1), d(8)), (d(11), d(16))]
    assert frame.equals(spy_1m.loc[d(1) : d(16) - timedelta(seconds=1)])
    assert cache.coverage("SPY", "1m") == [(d(1), d(16))]


@pytest.mark.asyncio
async def test_today_expires_after_ttl(tmp_path, scheduler, replay):
    clock = SimulatedClock(datetime(2024, 7, 9, 18, 0, tzinfo=UTC))  # 14:00 ET, mid-session
    manager = _manager(scheduler, clock, replay, ParquetCache(tmp_path, clock, ttl_seconds=60))
    frame = await manager.get_history("SPY", "1m", d(8), d(10))
    assert frame.index[-1] < clock.now()  # coverage and rows stop at "now"
    clock.advance(30)
    await manager.get_history("SPY", "1m", d(8), d(9, hour=17))
    assert len(replay.calls) == 1
    clock.advance(60)
    await manager.get_history("SPY", "1m", d(8), d(9, hour=17))
    assert replay.calls[1][0] == datetime(2024, 7, 9, 4, tzinfo=UTC)  # from today's 00:00 ET


@pytest.mark.asyncio
async def test_offline_serves_cache_only(tmp_path, scheduler, clock, replay):
    cache = ParquetCache(tmp_path, clock)
    online = _manager(scheduler, clock, replay, cache)
    await online.get_history("SPY", "1m", d(8), d(11))
    offline = _manager(scheduler, clock, replay, cache, offline=True)
    await offline.connect()
    frame = await offline.get_history("SPY", "1m", d(1), d(16))
    assert len(replay.calls) == 1 and len(frame) == 3 * 390
    with pytest.raises(NoDataError, match="offline"):
        await offline.get_history("QQQ", "1m", d(1), d(16))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.asyncio
async def test_history_falls_back_when_yahoo_is_down(scheduler, replay, spy_1m):
    clock = SimulatedClock(datetime(2024, 7, 12, tzinfo=UTC))
    yahoo = YahooProvider(
        scheduler, clock, rate_limit_per_second=100, session=LocalYahooSession(_closed_port())
    )
    health = RecordingHealthReporter()
    manager = DataManager(scheduler, clock, health, history_providers=[yahoo, replay])
    frame = await manager.get_history("SPY", "1m", d(8), d(9))
    assert frame.equals(spy_1m.loc[d(8) : d(9) - timedelta(seconds=1)])
    assert manager.health_report().fallbacks == 1
    assert any("yahoo" in e for e in health.errors)


@pytest.mark.asyncio
async def test_no_provider_has_data(scheduler, clock, replay):
    manager = _manager(scheduler, clock, replay, None)
    with pytest.raises(NoDataError, match="QQQ"):
        await manager.get_history("QQQ", "1m", d(8), d(9))


@pytest.mark.asyncio
async def test_every_bad_bar_is_rejected_and_counted(scheduler, spy_1m):
    real = list(frame_to_bars("SPY", spy_1m.loc[d(8, hour=13) : d(8, hour=14)], 60))[:6]
    bad_high = real[1]._replace(high=real[1].open - 1)
    bad_low = real[2]._replace(low=max(real[2].open, real[2].close) + 1)
    nan_price = real[3]._replace(close=math.nan)
    negative = real[3]._replace(volume=-5)
    stream = [
        real[0],
        bad_high,
        real[1],
        bad_low,
        real[2],
        nan_price,
        negative,
        real[3],
        real[3],
        real[1],
        real[4],
        real[5],
    ]
    clock = SimulatedClock(d(8, hour=15))
    manager = DataManager(
        scheduler, clock, RecordingHealthReporter(), live_providers=[ListStream(stream)]
    )
    bars = [bar async for bar in manager.stream_bars(["SPY"])]
    assert bars == real
    report = manager.health_report()
    assert report.rejections == {
        "high_below_body": 1,
        "low_above_body": 1,
        "bad_price": 1,
        "negative_volume": 1,
        "duplicate": 1,
        "out_of_order": 1,
    }
    assert report.rejected_bars == 6
    assert report.last_bar_time == real[-1].timestamp
    assert report.last_bar_age_seconds == (clock.now() - real[-1].end).total_seconds()


def test_history_frames_are_cleaned(scheduler, spy_1m):
    from vibe.trading_bot.data.validation import BarValidator

    frame = spy_1m.iloc[:10].copy()
    frame.iloc[3, frame.columns.get_loc("high")] = 1.0
    frame.iloc[5, frame.columns.get_loc("open")] = -2.0
    validator = BarValidator()
    clean = validator.clean_frame("SPY", frame)
    assert len(clean) == 8 and validator.rejections == {"high_below_body": 1, "bad_price": 1}


@pytest.mark.asyncio
async def test_report_health_flags_stale_bars_in_session(scheduler, spy_1m):
    real = list(frame_to_bars("SPY", spy_1m.loc[d(8, hour=14) : d(8, hour=15)], 60))[:2]
    clock = SimulatedClock(real[-1].end)
    health = RecordingHealthReporter()
    manager = DataManager(scheduler, clock, health, live_providers=[ListStream(real)])
    assert [bar async for bar in manager.stream_bars(["SPY"])] == real
    manager.report_health(max_bar_age_seconds=180)
    assert health.state is HealthState.HEALTHY
    clock.advance(181)
    report = manager.report_health(max_bar_age_seconds=180)
    assert health.state is HealthState.DEGRADED
    assert report.last_bar_age_seconds == 181


@pytest.mark.asyncio
async def test_replay_reads_parquet_files(tmp_path, scheduler, spy_1m):
    spy_1m.loc[d(8) : d(10)].to_parquet(tmp_path / "SPY_1m.parquet")
    provider = ReplayProvider(tmp_path, scheduler)
    frame = await provider.get_history("SPY", "1m", d(8), d(10))
    assert frame.equals(spy_1m.loc[d(8) : d(10) - timedelta(seconds=1)])
    assert provider.symbols() == ["SPY"]
