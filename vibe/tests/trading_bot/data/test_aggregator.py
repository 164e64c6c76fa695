from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from vibe.common.models import Tick
from vibe.trading_bot.data.aggregator import BarAggregator
from vibe.trading_bot.data.frames import bars_to_frame

from .conftest import ticks_from_bars


def _run(agg: BarAggregator, symbol: str, ticks) -> list:
    bars = []
    for ms, price, size in ticks:
        bar = agg.add_trade(symbol, ms, price, size)
        if bar is not None:
            bars.append(bar)
    return bars


def test_ticks_rebuild_real_bars_across_dst_and_early_close(spy_1m, scheduler):
    # 2024-07-03 (early close), and 2024-11-01 / 2024-11-04 around the DST change
    frame = pd.concat([spy_1m.loc["2024-07-03"], spy_1m.loc["2024-11-01":"2024-11-04"]])
    agg = BarAggregator(scheduler)
    bars = _run(agg, "SPY", ticks_from_bars(frame))
    bars += agg.flush_all()
    rebuilt = bars_to_frame(bars)
    assert len(rebuilt) == len(frame) == 210 + 2 * 390
    assert (rebuilt.index == frame.index).all()
    np.testing.assert_array_equal(rebuilt.to_numpy(), frame.to_numpy())
    assert agg.late_ticks == 0 and agg.out_of_session_ticks == 0


def test_out_of_session_and_early_close_ticks_are_dropped(scheduler):
    agg = BarAggregator(scheduler)
    # 2025-07-03 closes 13:00 ET = 17:00 UTC; 12:59:30 ET counts, 13:00:10 ET does not
    inside = int(datetime(2025, 7, 3, 16, 59, 30, tzinfo=UTC).timestamp() * 1000)
    after = int(datetime(2025, 7, 3, 17, 0, 10, tzinfo=UTC).timestamp() * 1000)
    premarket = int(datetime(2025, 7, 3, 13, 0, tzinfo=UTC).timestamp() * 1000)
    assert agg.add_trade("SPY", premarket, 600.0, 10) is None
    assert agg.add_trade("SPY", inside, 620.0, 10) is None
    assert agg.add_trade("SPY", after, 621.0, 10) is None
    assert agg.out_of_session_ticks == 2
    (bar,) = agg.flush_all()
    assert bar.timestamp == datetime(2025, 7, 3, 16, 59, tzinfo=UTC)


def test_late_ticks_are_counted_and_dropped(scheduler):
    agg = BarAggregator(scheduler)
    t0 = int(datetime(2025, 7, 2, 14, 0, tzinfo=UTC).timestamp() * 1000)
    agg.add_trade("SPY", t0 + 1_000, 100.0, 1)
    first = agg.add_trade("SPY", t0 + 61_000, 101.0, 1)
    assert first is not None and first.close == 100.0
    assert agg.add_trade("SPY", t0 + 59_000, 99.0, 5) is None  # minute 14:00 already emitted
    assert agg.late_ticks == 1
    (second,) = agg.flush_all()
    assert (second.low, second.volume) == (101.0, 1)


def test_timer_flush_emits_closed_minute_after_grace(scheduler):
    agg = BarAggregator(scheduler, grace_seconds=1.0)
    ts = datetime(2025, 7, 2, 14, 0, 30, tzinfo=UTC)
    agg.add_tick(Tick("AAPL", ts, 210.0, 5))
    agg.add_tick(Tick("MSFT", ts, 490.0, 7))
    assert agg.flush_due(datetime(2025, 7, 2, 14, 1, 0, 500_000, tzinfo=UTC)) == []
    bars = agg.flush_due(datetime(2025, 7, 2, 14, 1, 1, tzinfo=UTC))
    assert [b.symbol for b in bars] == ["AAPL", "MSFT"]
    assert bars[0].timestamp == datetime(2025, 7, 2, 14, 0, tzinfo=UTC)
    # a tick for the flushed minute arriving afterwards is late
    agg.add_tick(Tick("AAPL", ts, 211.0, 1))
    assert agg.late_ticks == 1
