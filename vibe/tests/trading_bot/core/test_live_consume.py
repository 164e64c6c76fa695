"""Live bars queued while the daemon was busy all reach their bar (no early close of a bucket).

The real orchestrator builds the live components for QQQ at 5-minute bars on a
simulated clock; the live driver's consumer then gets the real 1-minute bars of
10:15-10:19 ET on 2024-07-11 (``bars_1m/alpaca_chunks_2022-2024``) all queued at
once, with the clock already past the 10:15 bucket's grace, as after a stall of a
loaded machine. The bucket must hold all five minutes (the take-profit of the
live faketime test filled at another price when two of them were dropped).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.models import Bar
from vibe.trading_bot.config.loader import load_settings
from vibe.trading_bot.core.bar_columns import BarColumns
from vibe.trading_bot.core.components import ComponentBuilder
from vibe.trading_bot.core.historical_feed import TradingDay
from vibe.trading_bot.core.live_driver import RESAMPLE_GRACE_SECONDS, LiveDriver
from vibe.trading_bot.core.orchestrator import Orchestrator
from vibe.trading_bot.core.run_plan import RunMode, RunPlan
from vibe.trading_bot.data.bar_table import BarTable
from vibe.trading_bot.execution.notifier import RecordingNotifier

from ...support import free_port

DAY = date(2024, 7, 11)
FIRST, LAST = "2024-07-11 14:15", "2024-07-11 14:19"  # 10:15-10:19 ET


def _minutes(shared_data) -> list[Bar]:
    frame = pd.read_csv(shared_data / "bars_1m" / "alpaca_chunks_2022-2024" / "QQQ_1m.csv")
    frame.index = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return BarColumns.of("QQQ", BarTable.from_frame(frame.loc[FIRST:LAST]), 60).bars()


@pytest.mark.asyncio
async def test_minutes_queued_during_a_stall_all_reach_their_bucket(shared_data, tmp_path):
    minutes = _minutes(shared_data)
    assert len(minutes) == 5
    bucket_end = datetime(2024, 7, 11, 14, 20, tzinfo=UTC)
    late = bucket_end.timestamp() + RESAMPLE_GRACE_SECONDS + 30  # past the bucket's grace
    settings = load_settings(
        None,
        {
            "data_dir": tmp_path / "data",
            "symbols": ["QQQ"],
            "timeframe": "5m",
            "health_check_host": "127.0.0.1",
            "health_check_port": free_port(),
        },
    )
    plan = RunPlan(RunMode.LIVE, settings.storage.data_dir, ("QQQ",), "5m", notify=False,
                   cloud_sync=False)  # fmt: skip
    clock = SimulatedClock(datetime.fromtimestamp(late, UTC))
    orchestrator = Orchestrator(settings, plan, clock=clock, handle_signals=False)
    daemon = await ComponentBuilder(orchestrator.context, RecordingNotifier()).build()
    try:
        driver = LiveDriver(daemon)
        session = daemon.scheduler.session(DAY)
        assert session is not None
        traded: list[list[Bar]] = []

        async def record(day: TradingDay, group: list[Bar]) -> bool:
            traded.append(group)
            daemon.service.request_stop("test: one group is enough")
            return False

        driver._trade_group = record  # type: ignore[method-assign]
        queue: asyncio.Queue[Bar] = asyncio.Queue()
        for bar in minutes:
            queue.put_nowait(bar)
        await asyncio.wait_for(driver._consume(TradingDay(DAY, *session), queue), 30)
    finally:
        await daemon.service.shutdown()
    (bar,) = traded[0]
    assert bar.timestamp == minutes[0].timestamp and bar.interval_seconds == 300
    assert (bar.open, bar.high, bar.low, bar.close) == (
        minutes[0].open,
        max(m.high for m in minutes),
        min(m.low for m in minutes),
        minutes[-1].close,
    )
    assert bar.volume == sum(m.volume for m in minutes)
