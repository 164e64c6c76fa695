"""Live data path: the Finnhub client's sustained trade prints/s with 50 symbols.

Run with ``.venv/bin/python benchmarks/bench_live.py`` (``make bench`` runs it).

A Finnhub-protocol websocket server on 127.0.0.1, in a process of its own (so
the client's event loop is measured alone), streams trade prints rebuilt from
real 1-minute bars: ``../shared/data/bars_1m/alpaca_spy_2024-03_2025-04``, the
first 50 full sessions, one per symbol (``S00``..``S49``), all re-timed onto
the session of 2024-03-26. Each bar becomes ``PRINTS_PER_BAR`` prints walking
open -> high -> low -> close with its volume split between them; a message
carries ``BATCH`` prints (Finnhub batches the prints of many symbols; a second
flat-out run uses ``SMALL_BATCH``, where the per-message cost dominates).

The client is the real :class:`~vibe.trading_bot.data.providers.finnhub.FinnhubProvider`
(parse, validate, aggregate into 1-minute bars, emit them), consumed by an
``async for`` as the data manager does. Two runs:

* **flat out**: the server sends everything as fast as it can; prints/s is the
  client's capacity (every print counted by the aggregator);
* **paced**: the server sends at ``PACED_RATE`` prints/s in 10 ms slices for
  ``PACED_SECONDS``; the client's backlog (prints sent, by the server's own
  schedule, minus prints processed) is sampled every 50 ms. "Not falling
  behind" = the backlog stays within a few slices and the client finishes
  within a few ms of the server's last send.

Target (issue 20): >= 20,000 prints/s with 50 symbols without falling behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
SPY_DIR = DATA / "bars_1m" / "alpaca_spy_2024-03_2025-04"
SESSION_OPEN = datetime(2024, 3, 26, 13, 30, tzinfo=UTC)
SYMBOLS = [f"S{i:02d}" for i in range(50)]
PRINTS_PER_BAR = 8
BATCH = 50
SMALL_BATCH = 5
PACED_RATE = 20_000
PACED_SECONDS = 6.0
SLICE_SECONDS = 0.01


def build_messages(batch: int = BATCH) -> list[str]:
    """Finnhub trade messages for 50 symbols over a whole session, ``batch`` prints each."""
    from vibe.trading_bot.core.scheduler import MarketScheduler
    from vibe.trading_bot.data.providers.replay import ReplayProvider

    scheduler = MarketScheduler("XNYS", 2024, 2025)
    frame = ReplayProvider(SPY_DIR, scheduler).load("SPY", "1m")
    local = pd.DatetimeIndex(frame.index).tz_convert("America/New_York")
    days = [day for day, rows in frame.groupby(local.date) if len(rows) == 390][: len(SYMBOLS)]
    base_ms = int(SESSION_OPEN.timestamp() * 1000)
    offsets = np.linspace(0, 59_000, PRINTS_PER_BAR).astype(np.int64)
    prints: list[tuple[int, str, float, int]] = []
    for symbol, day in zip(SYMBOLS, days, strict=True):
        rows = frame[local.date == day]
        path = rows[["open", "high", "low", "close"]].to_numpy()
        prices = np.repeat(path, [2, 2, 2, 2], axis=1)  # 8 prints per bar
        sizes = np.maximum(rows["volume"].to_numpy() // PRINTS_PER_BAR, 1)
        for minute in range(len(rows)):
            for k in range(PRINTS_PER_BAR):
                ms = base_ms + minute * 60_000 + int(offsets[k])
                prints.append((ms, symbol, float(prices[minute, k]), int(sizes[minute])))
    prints.sort()
    messages = []
    for i in range(0, len(prints), batch):
        data = [
            {"s": s, "p": p, "t": t, "v": v, "c": ["1"]} for t, s, p, v in prints[i : i + batch]
        ]
        messages.append(json.dumps({"type": "trade", "data": data}))
    return messages


def serve(messages: list[str], paced_rate: float | None, ready: Any, report: Any) -> None:
    """Server process: accept one client, wait for its 50 subscriptions, send, report times."""
    from websockets.asyncio.server import ServerConnection, serve

    async def handle(ws: ServerConnection) -> None:
        subscribed = 0
        while subscribed < len(SYMBOLS):
            if json.loads(await ws.recv()).get("type") == "subscribe":
                subscribed += 1
        started = time.time()
        if paced_rate is None:
            for message in messages:
                await ws.send(message)
        else:
            per_slice = max(1, round(paced_rate * SLICE_SECONDS / BATCH))
            for i in range(0, len(messages), per_slice):
                due = started + (i // per_slice) * SLICE_SECONDS
                delay = due - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                for message in messages[i : i + per_slice]:
                    await ws.send(message)
        report.put((started, time.time()))
        await ws.wait_closed()

    async def main() -> None:
        async with serve(handle, "127.0.0.1", 0, max_size=None) as server:
            ready.put(server.sockets[0].getsockname()[1])
            await asyncio.Future()

    asyncio.run(main())


async def consume(port: int, total: int, samples: list[tuple[float, int]]) -> float:
    """Run the real Finnhub client until ``total`` prints are counted; returns the end time."""
    from vibe.common.clock import SimulatedClock
    from vibe.trading_bot.core.health_reporter import RecordingHealthReporter
    from vibe.trading_bot.core.scheduler import MarketScheduler
    from vibe.trading_bot.data.providers.finnhub import FinnhubProvider

    scheduler = MarketScheduler("XNYS", 2024, 2025)
    clock = SimulatedClock(SESSION_OPEN)
    provider = FinnhubProvider(
        "bench-token",
        scheduler,
        clock,
        RecordingHealthReporter(),
        url=f"ws://127.0.0.1:{port}",
        silence_seconds=3600,
    )
    aggregator = provider.aggregator

    async def drain() -> None:
        async for _ in provider.stream_bars(SYMBOLS):
            pass  # bars are what the data manager would take; the prints are counted

    consumer = asyncio.create_task(drain())
    try:
        give_up = time.monotonic() + 120.0
        while aggregator.ticks < total:
            samples.append((time.time(), aggregator.ticks))
            if time.monotonic() > give_up:
                raise RuntimeError(f"only {aggregator.ticks:,} of {total:,} prints in 120 s")
            await asyncio.sleep(0.0005)
        ended = time.time()
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
    return ended


def run(messages: list[str], total: int, paced_rate: float | None) -> dict[str, float]:
    """One server process + the client; returns the figures of the run."""
    ctx = mp.get_context("spawn")
    ready, report = ctx.Queue(), ctx.Queue()
    server = ctx.Process(target=serve, args=(messages, paced_rate, ready, report), daemon=True)
    server.start()
    try:
        port = ready.get(timeout=60)
        samples: list[tuple[float, int]] = []
        ended = asyncio.run(consume(port, total, samples))
        started, sent = report.get(timeout=60)
    finally:
        server.terminate()
        server.join(5)
    elapsed = ended - started
    figures = {"prints": total, "seconds": elapsed, "rate": total / elapsed, "end_lag_ms": 0.0}
    figures["end_lag_ms"] = max(0.0, (ended - sent) * 1000)
    if paced_rate is not None:
        backlogs = [
            max(0.0, min(total, (t - started) * paced_rate) - done)
            for t, done in samples
            if t >= started
        ]
        figures["backlog_p50"] = statistics.median(backlogs) if backlogs else 0.0
        figures["backlog_max"] = max(backlogs) if backlogs else 0.0
    return figures


def main() -> None:
    messages = build_messages()
    total = len(messages) * BATCH
    flat = run(messages, total, None)
    print(
        f"finnhub client, 50 symbols, flat out: {flat['rate']:,.0f} prints/s "
        f"({flat['prints']:,} prints in {len(messages):,} messages of {BATCH}, "
        f"{flat['seconds']:.2f} s)   target >= 20,000"
    )
    small = build_messages(SMALL_BATCH)
    flat_small = run(small, total, None)
    print(
        f"finnhub client, 50 symbols, flat out, {SMALL_BATCH} prints per message: "
        f"{flat_small['rate']:,.0f} prints/s ({len(small):,} messages, "
        f"{flat_small['seconds']:.2f} s)"
    )
    paced_count = min(len(messages), int(PACED_RATE * PACED_SECONDS) // BATCH)
    paced_messages = messages[:paced_count]
    paced = run(paced_messages, paced_count * BATCH, PACED_RATE)
    print(
        f"finnhub client, 50 symbols, paced at {PACED_RATE:,} prints/s for "
        f"{PACED_SECONDS:g} s: kept up at {paced['rate']:,.0f} prints/s, backlog p50 "
        f"{paced['backlog_p50']:,.0f} / max {paced['backlog_max']:,.0f} prints, "
        f"finished {paced['end_lag_ms']:.1f} ms after the last send"
    )


if __name__ == "__main__":
    main()
