"""Data-layer hot paths on the real SPY 1-minute year.

Data: ``../shared/data/bars_1m/alpaca_spy_2024-03_2025-04/SPY_1m.csv``.

Run with ``.venv/bin/python benchmarks/bench_data.py``. Prints:

* ticks/s through :class:`BarAggregator` (ticks derived from the real bars, 10 per minute);
* 1m -> 5m resampling time for the year (~99,000 bars);
* cold history load (CSV parse + validation + Parquet cache write, through the
  DataManager) vs cached load (DataManager answering from the Parquet cache).

Targets (issue 4): >= 500,000 ticks/s; resample < 100 ms; cached year < 100 ms.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from vibe.common.clock import SimulatedClock
from vibe.trading_bot.core.health_reporter import RecordingHealthReporter
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.data.aggregator import BarAggregator
from vibe.trading_bot.data.cache import ParquetCache
from vibe.trading_bot.data.frames import dt_index
from vibe.trading_bot.data.manager import DataManager
from vibe.trading_bot.data.providers.replay import ReplayProvider
from vibe.trading_bot.data.resample import resample_bars

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
SPY_DIR = DATA / "bars_1m" / "alpaca_spy_2024-03_2025-04"
START, END = datetime(2024, 3, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC)
TICKS_PER_BAR = 10


def make_ticks(frame: pd.DataFrame) -> tuple[list[int], list[float], list[int]]:
    """Ticks spread over each real minute, walking open -> high -> low -> close."""
    n = len(frame)
    base = dt_index(frame).as_unit("ms").asi8
    offsets = np.linspace(0, 59_000, TICKS_PER_BAR).astype(np.int64)
    ms = (base[:, None] + offsets[None, :]).ravel()
    o, h, lo, c = (frame[col].to_numpy() for col in ("open", "high", "low", "close"))
    path = np.stack([o, h, lo, c], axis=1)
    prices = np.repeat(path, [3, 3, 2, 2], axis=1).reshape(n * TICKS_PER_BAR)
    sizes = np.full(n * TICKS_PER_BAR, 100, dtype=np.int64)
    return ms.tolist(), prices.tolist(), sizes.tolist()


def bench_ticks(frame: pd.DataFrame, scheduler: MarketScheduler) -> tuple[float, int]:
    ms, prices, sizes = make_ticks(frame)
    agg = BarAggregator(scheduler)
    add = agg.add_trade
    start = time.perf_counter()
    bars = 0
    for t, p, s in zip(ms, prices, sizes, strict=True):
        if add("SPY", t, p, s) is not None:
            bars += 1
    elapsed = time.perf_counter() - start
    return len(ms) / elapsed, bars + len(agg.flush_all())


def bench_resample(frame: pd.DataFrame, scheduler: MarketScheduler, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        resample_bars(frame, "5m", scheduler)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def bench_load(scheduler: MarketScheduler) -> tuple[float, float, float, int]:
    clock = SimulatedClock(datetime(2025, 6, 1, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as tmp:
        cache = ParquetCache(tmp, clock)
        manager = DataManager(
            scheduler,
            clock,
            RecordingHealthReporter(),
            history_providers=[ReplayProvider(SPY_DIR)],
            cache=cache,
        )
        start = time.perf_counter()
        cold = await manager.get_history("SPY", "1m", START, END)
        cold_ms = (time.perf_counter() - start) * 1000
        warm = []
        for _ in range(5):
            start = time.perf_counter()
            frame = await manager.get_history("SPY", "1m", START, END)
            warm.append(time.perf_counter() - start)
        start = time.perf_counter()
        cache.load("SPY", "1m", START, END)
        raw_ms = (time.perf_counter() - start) * 1000
        assert frame.equals(cold)
    return cold_ms, statistics.median(warm) * 1000, raw_ms, len(frame)


def main() -> None:
    scheduler = MarketScheduler("XNYS", 2024, 2025)
    frame = ReplayProvider(SPY_DIR, scheduler).load("SPY", "1m")
    rate, bars = bench_ticks(frame, scheduler)
    print(f"aggregator: {rate:,.0f} ticks/s ({bars:,} 1m bars built)   target >= 500,000")
    print(
        f"resample 1m->5m: {bench_resample(frame, scheduler):.1f} ms for {len(frame):,} bars"
        "   target < 100 ms"
    )
    cold, warm, raw, rows = asyncio.run(bench_load(scheduler))
    print(
        f"history load, 1 year of 1m ({rows:,} bars): cold {cold:.0f} ms (CSV + validate + cache)"
    )
    print(
        f"history load, cached: {warm:.1f} ms via DataManager, {raw:.1f} ms raw Parquet"
        "   target < 100 ms"
    )


if __name__ == "__main__":
    main()
