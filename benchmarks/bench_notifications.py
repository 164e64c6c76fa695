"""Notification hot paths: enqueue cost (what the trading loop pays), formatting, token bucket.

Run with ``.venv/bin/python benchmarks/bench_notifications.py``. Prints microseconds per
operation; no thresholds are enforced here. The enqueue figure is a full
``DiscordNotifier.notify``: toggle check, embed formatting, one SQLite insert in the
outbox's I/O thread (WAL, synchronous=NORMAL) and the wake-up of the worker (not started
here, so no network is involved).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vibe.common.clock import FakeTimer, LiveClock
from vibe.common.models import ExitReason, PositionSide
from vibe.trading_bot.config.settings import NotificationSettings
from vibe.trading_bot.core.health_reporter import RecordingHealthReporter
from vibe.trading_bot.notifications.discord import DiscordNotifier
from vibe.trading_bot.notifications.formatter import format_alert
from vibe.trading_bot.notifications.outbox import OUTBOX_FILENAME, Outbox
from vibe.trading_bot.notifications.payloads import PositionClosedAlert
from vibe.trading_bot.notifications.rate_limiter import TokenBucket

T0 = datetime(2025, 7, 3, 13, 45, tzinfo=UTC)
ALERT = PositionClosedAlert(
    timestamp=T0,
    symbol="SPY",
    side=PositionSide.LONG,
    quantity=100,
    entry_time=T0 - timedelta(minutes=42),
    entry_price=550.12,
    exit_time=T0,
    exit_price=552.30,
    fees=1.0,
    slippage_usd=2.4,
    exit_reason=ExitReason.TAKE_PROFIT,
    strategy="orb",
)


async def bench_enqueue(n: int = 5_000) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = NotificationSettings(
            discord_webhook_url="http://127.0.0.1:9/api/webhooks/1/benchmark-token"
        )
        outbox = Outbox(Path(tmp) / OUTBOX_FILENAME)
        notifier = DiscordNotifier(settings, outbox, LiveClock(), RecordingHealthReporter())
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            await notifier.notify(ALERT)
            samples.append(time.perf_counter() - start)
        await notifier.stop()
    samples.sort()
    return statistics.fmean(samples) * 1e6, samples[int(len(samples) * 0.99)] * 1e6


def bench_format(n: int = 20_000) -> float:
    start = time.perf_counter()
    for _ in range(n):
        format_alert(ALERT)
    return (time.perf_counter() - start) / n * 1e6


def bench_try_acquire(n: int = 500_000) -> float:
    bucket = TokenBucket(5, 2.0, FakeTimer())
    start = time.perf_counter()
    for _ in range(n):
        bucket.try_acquire()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    mean, p99 = asyncio.run(bench_enqueue())
    print(f"notify() enqueue (format + outbox insert): mean {mean:8.1f} us, p99 {p99:8.1f} us")
    print(f"format_alert (position closed):             {bench_format():8.1f} us")
    print(f"TokenBucket.try_acquire:                    {bench_try_acquire():8.3f} us")


if __name__ == "__main__":
    main()
