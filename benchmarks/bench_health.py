"""Health and metrics hot paths: bar counting, error reports, /metrics render, probe latency.

Run with ``.venv/bin/python benchmarks/bench_health.py``. Prints figures; no thresholds.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime

import httpx

from vibe.common.clock import LiveClock
from vibe.trading_bot.api.health import HealthServer, create_health_app
from vibe.trading_bot.api.metrics import TradingMetrics
from vibe.trading_bot.config.settings import HealthSettings
from vibe.trading_bot.core.health_monitor import HealthMonitor

SYMBOLS = [f"SYM{i}" for i in range(20)]


def bench_record_bar(n: int = 200_000) -> float:
    metrics = TradingMetrics()
    start = time.perf_counter()
    for i in range(n):
        metrics.record_bar(SYMBOLS[i % len(SYMBOLS)])
    return n / (time.perf_counter() - start)


def bench_record_error(n: int = 200_000) -> float:
    reporter = HealthMonitor(HealthSettings(), LiveClock()).register("data")
    start = time.perf_counter()
    for _ in range(n):
        reporter.record_error("timeout talking to provider")
    return n / (time.perf_counter() - start)


def bench_render(n: int = 500) -> float:
    metrics = TradingMetrics()
    for symbol in SYMBOLS:
        metrics.record_bar(symbol)
        metrics.record_fill(symbol, "buy")
        metrics.record_trade(symbol, 1.0)
    start = time.perf_counter()
    for _ in range(n):
        metrics.render()
    return (time.perf_counter() - start) / n * 1e3


async def bench_probe_latency(n: int = 500) -> tuple[float, float]:
    monitor = HealthMonitor(HealthSettings(), LiveClock())
    for i in range(10):
        monitor.register(f"component{i}").set_state("healthy")  # type: ignore[arg-type]
    monitor.record_bar(datetime.now(UTC))
    server = HealthServer(create_health_app(monitor), host="127.0.0.1", port=0)
    await monitor.start()
    async with server, httpx.AsyncClient(base_url=server.url) as client:
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            await client.get("/health/ready")
            samples.append((time.perf_counter() - t) * 1e3)
    await monitor.stop()
    samples.sort()
    return statistics.median(samples), samples[int(0.99 * len(samples))]


def main() -> None:
    print(f"metrics.record_bar: {bench_record_bar():,.0f} /s")
    print(f"reporter.record_error: {bench_record_error():,.0f} /s")
    print(f"/metrics render (20 symbols): {bench_render():.3f} ms")
    p50, p99 = asyncio.run(bench_probe_latency())
    print(f"/health/ready round trip over 127.0.0.1: p50 {p50:.2f} ms, p99 {p99:.2f} ms")


if __name__ == "__main__":
    main()
