"""Live session latency: bar closed -> order submitted -> fill persisted, 8 symbols.

Run with ``.venv/bin/python benchmarks/bench_live_session.py`` (``make bench`` runs it).

The daemon's real components are built for ``run`` (live mode, stores in a
temporary ``DATA_DIR``) on a simulated clock, with ``YAHOO_BASE_URL`` pointed at
the chart-v8 stand-in on 127.0.0.1 serving the real 5-minute bars of
``../shared/data/bars_5m/yfinance_2025-06_2025-08`` (the 7 symbols there, plus
SPY's bars again as ``SPYB`` to make 8). For each session of ``DAYS``: the live
driver's warm-up (history from the stand-in, concurrently), then every bar group
is handed over as the live driver does it (each bar to the bar processor in a
worker thread, then the group's book-keeping), with the clock at the bar's end.
Filters are relaxed (no trend or volume filter, up to 20 positions) so the
strategy trades on most symbols.

Orders of the session close (the flatten) are not counted: no bar is handed
over then. Measured from the moment a bar group is handed over ("bar closed": the
aggregator's close delay, ~1 s of grace after the minute boundary, comes
before it and is not included):

* group processed (every bar of the group through exchange, strategy, executor, SQLite);
* order submitted (the ``accepted`` event, announced after it is committed);
* fill persisted (the ``filled`` event, announced after the fill and its booking commit).

Target (issue 20): p99 < 50 ms beyond the aggregator's close delay.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import yfinance as yf

from vibe.common.clock import SimulatedClock
from vibe.tests.trading_bot.data.yahoo_chart_standin import YahooChartStandIn
from vibe.trading_bot.config.loader import load_settings
from vibe.trading_bot.core.components import ComponentBuilder
from vibe.trading_bot.core.historical_feed import sessions_between
from vibe.trading_bot.core.live_driver import LiveDriver
from vibe.trading_bot.core.orchestrator import Orchestrator
from vibe.trading_bot.core.run_plan import RunMode, RunPlan
from vibe.trading_bot.data.frames import frame_to_bars
from vibe.trading_bot.data.providers.replay import ReplayProvider
from vibe.trading_bot.exchange.base import OrderEvent, OrderEventKind

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
FOLDER = DATA / "bars_5m" / "yfinance_2025-06_2025-08"
REAL = ["AAPL", "AMZN", "GOOGL", "MSFT", "QQQ", "SPY", "TSLA"]
SYMBOLS = [*REAL, "SPYB"]
DAYS = (date(2025, 7, 7), date(2025, 7, 11))  # five sessions


def _bar_folder(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for symbol in REAL:
        shutil.copy(FOLDER / f"{symbol}_5m.csv", target / f"{symbol}_5m.csv")
    shutil.copy(FOLDER / "SPY_5m.csv", target / "SPYB_5m.csv")
    return target


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _line(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name}: no samples"
    return (
        f"  {name}: p50 {_pct(values, 0.5):.2f} ms, p99 {_pct(values, 0.99):.2f} ms, "
        f"max {max(values):.2f} ms ({len(values)} samples)"
    )


async def measure(tmp: Path) -> dict[str, list[float]]:
    """Run the sessions; returns latencies in ms per stage."""
    folder = _bar_folder(tmp / "bars")
    yf.set_tz_cache_location(str(tmp / "yf_tz"))
    out: dict[str, list[float]] = {"group": [], "submitted": [], "filled": [], "warmup_s": []}
    with YahooChartStandIn(folder) as yahoo:
        settings = load_settings(
            None,
            {
                "data_dir": tmp / "data",
                "symbols": SYMBOLS,
                "timeframe": "5m",
                "yahoo_base_url": yahoo.url,
                "yahoo_rate_limit": 1000,
                "trend_filter": False,
                "volume_filter": False,
                "max_open_positions": 20,
                "max_trades_per_day": 50,
                "max_position_pct": 12,
                "log_level": "WARNING",
            },
        )
        plan = RunPlan(
            RunMode.LIVE,
            settings.storage.data_dir,
            tuple(SYMBOLS),
            "5m",
            serve_health=False,
            notify=False,
            cloud_sync=False,
        )
        days = sessions_between(Orchestrator(settings, plan).scheduler, *DAYS)
        clock = SimulatedClock(days[0].open - timedelta(minutes=25))
        orchestrator = Orchestrator(settings, plan, clock=clock, handle_signals=False)
        parts = await ComponentBuilder(orchestrator.context).build()
        handed_over = [0.0]

        def on_event(event: OrderEvent) -> None:
            now = time.perf_counter()
            if not handed_over[0]:
                return  # the session close's flatten: not a bar being handed over
            if event.kind is OrderEventKind.ACCEPTED:
                out["submitted"].append((now - handed_over[0]) * 1000)
            elif event.kind is OrderEventKind.FILLED:
                out["filled"].append((now - handed_over[0]) * 1000)

        parts.stack.orders.subscribe(on_event)
        replay = ReplayProvider(folder, orchestrator.scheduler, timeframe="5m")
        frames = {s: replay.load(s, "5m") for s in SYMBOLS}
        driver = LiveDriver(parts)
        try:
            for day in days:
                clock.advance_to(day.open - timedelta(minutes=25))
                started = time.perf_counter()
                await driver._warm_up(day)
                out["warmup_s"].append(time.perf_counter() - started)
                await _session(driver, clock, day, frames, handed_over, out["group"])
        finally:
            await orchestrator.service.shutdown()
    return out


async def _session(
    driver: LiveDriver,
    clock: SimulatedClock,
    day: object,
    frames: dict[str, pd.DataFrame],
    handed_over: list[float],
    group_ms: list[float],
) -> None:
    open_, close = day.open, day.close  # type: ignore[attr-defined]
    bars = []
    for symbol, frame in frames.items():
        today = frame[(frame.index >= open_) & (frame.index < close)]
        bars.extend(frame_to_bars(symbol, today, 300))
    bars.sort(key=lambda bar: (bar.timestamp, bar.symbol))
    groups: dict[object, list] = {}
    for bar in bars:
        groups.setdefault(bar.timestamp, []).append(bar)
    processor = driver.sessions.processor
    for group in groups.values():
        end = group[0].end
        clock.advance_to(end + timedelta(seconds=1))
        handed_over[0] = time.perf_counter()
        for bar in group:
            await asyncio.to_thread(processor.process, bar)
            await driver.sessions.group_done(end)
        group_ms.append((time.perf_counter() - handed_over[0]) * 1000)
        handed_over[0] = 0.0
    clock.advance_to(close + timedelta(seconds=1))
    await driver.sessions.end(day)  # type: ignore[arg-type]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(measure(Path(tmp)))
    sessions = len(figures["warmup_s"])
    print(
        f"live session, {len(SYMBOLS)} symbols, 5m, {sessions} sessions "
        f"({DAYS[0]}..{DAYS[1]}), from bar closed (handed over)   target p99 < 50 ms:"
    )
    print(_line("bar group processed", figures["group"]))
    print(_line("order submitted (committed)", figures["submitted"]))
    print(_line("fill persisted (committed)", figures["filled"]))
    print(
        f"  warm-up (8 symbols from the Yahoo stand-in, concurrent): "
        f"median {statistics.median(figures['warmup_s']):.2f} s"
    )


if __name__ == "__main__":
    main()
