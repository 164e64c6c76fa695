"""SQLite stores: committed trade inserts, log lines through the handler, metric aggregation.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_storage.py``). Files go to a
temporary directory on the same disk as the system temp dir. Prints figures next to the
targets of issue 3; no thresholds are enforced here.
"""

from __future__ import annotations

import io
import logging
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vibe.common.clock import SimulatedClock
from vibe.common.models import PositionSide, Trade
from vibe.trading_bot.config.logging_config import configure_logging
from vibe.trading_bot.storage.log_handler import SQLiteLogHandler
from vibe.trading_bot.storage.log_store import LogStore
from vibe.trading_bot.storage.metrics_store import MetricRecord, MetricsStore
from vibe.trading_bot.storage.trade_store import TradeStore
from vibe.trading_bot.utils.logger import get_logger

T0 = datetime(2025, 7, 3, 13, 30, tzinfo=UTC)


def bench_trade_inserts(folder: Path, n: int = 10_000) -> float:
    store = TradeStore(folder / "trades.db", SimulatedClock(T0))
    trades = [
        Trade("SPY", PositionSide.LONG, 100, T0 + timedelta(seconds=i), 500.0 + i % 7, "orb")
        for i in range(n)
    ]
    start = time.perf_counter()
    for trade in trades:
        store.insert_trade(trade)
    elapsed = time.perf_counter() - start
    store.close()
    return n / elapsed


def _records(n: int) -> list[logging.LogRecord]:
    """Fresh records: each gets its own increasing ``created`` time, as real ones do."""
    records = []
    for i in range(n):
        event = {
            "event": "order filled",
            "symbol": "SPY",
            "quantity": 100 + i % 50,
            "price": 512.25 + (i % 13) * 0.01,
            "order_id": f"{i:032x}",
            "timestamp": "2025-07-03T13:45:00.000000Z",
            "level": "info",
            "logger": "vibe.trading_bot.execution",
        }
        records.append(
            logging.LogRecord("vibe.trading_bot.execution", logging.INFO, "", 0, event, (), None)
        )
    return records


def bench_log_drain(folder: Path, n: int = 100_000) -> tuple[float, int]:
    """End to end: n handle() calls on this thread, then flush; lines/s committed."""
    store = LogStore(folder / "drain.db", SimulatedClock(T0))
    handler = SQLiteLogHandler(store, queue_size=n + 10)
    records = _records(n)
    start = time.perf_counter()
    for record in records:
        handler.handle(record)
    handler.flush(timeout=120)
    elapsed = time.perf_counter() - start
    written = handler.written
    handler.close()
    store.close()
    return written / elapsed, handler.dropped


def bench_caller_cost(folder: Path, calls: int = 100_000) -> dict[str, float]:
    """Microseconds per handle() on the caller while the writer drains a backlog."""
    store = LogStore(folder / "caller.db", SimulatedClock(T0))
    handler = SQLiteLogHandler(store, queue_size=1_000_000)
    backlog = _records(100_000)
    records = _records(calls)
    for record in backlog:  # the writer is busy for the whole measurement
        handler.handle(record)
    chunk = 1_000
    per_chunk: list[float] = []
    cpu_start = time.thread_time()
    wall_start = time.perf_counter()
    for c in range(0, calls, chunk):
        t = time.perf_counter()
        for record in records[c : c + chunk]:
            handler.handle(record)
        per_chunk.append((time.perf_counter() - t) / chunk * 1e6)
    wall = (time.perf_counter() - wall_start) / calls * 1e6
    cpu = (time.thread_time() - cpu_start) / calls * 1e6
    busy = handler.queue_depth > 0
    handler.close()
    store.close()
    return {"median": statistics.median(per_chunk), "mean": wall, "cpu": cpu, "busy": busy}


def bench_structlog_call(folder: Path, calls: int = 50_000) -> dict[str, float]:
    """Full ``log.info(...)`` cost in us: structlog chain + stdlib record + handlers.

    Three set-ups: no handler at all (the structlog/stdlib baseline), only the SQLite
    handler, and the SQLite handler plus the JSON stdout handler of production.
    """
    store = LogStore(folder / "structlog.db", SimulatedClock(T0))
    handler = SQLiteLogHandler(store, queue_size=calls * 3 + 10)
    results: dict[str, float] = {}
    try:
        for label, extra, keep_stdout in (
            ("no handler", [], False),
            ("SQLite handler only", [handler], False),
            ("SQLite + JSON stdout", [handler], True),
        ):
            with redirect_stdout(io.StringIO()):
                configure_logging("INFO", "json", extra_handlers=extra)
                root = logging.getLogger()
                if not keep_stdout:
                    for other in [h for h in root.handlers if h is not handler]:
                        root.removeHandler(other)
                log = get_logger("vibe.bench", component="bench")
                start = time.perf_counter()
                for i in range(calls):
                    log.info("order filled", symbol="SPY", quantity=100, price=512.25 + i)
                results[label] = (time.perf_counter() - start) / calls * 1e6
                handler.flush(timeout=120)
                root.removeHandler(handler)  # so configure_logging does not close it
    finally:
        configure_logging("INFO", "console")
        handler.close()
        store.close()
    return results


def bench_aggregate(folder: Path, rows: int = 1_000_000) -> dict[str, float]:
    store = MetricsStore(folder / "metrics.db", SimulatedClock(T0))
    symbols = ("SPY", "QQQ", "AAPL", "TSLA")
    chunk = 100_000
    for base in range(0, rows, chunk):
        store.record_many(
            MetricRecord(
                "trading",
                "fill_latency_ms",
                float(i % 250),
                {"symbol": symbols[i % 4]},
                T0 + timedelta(seconds=i),
            )
            for i in range(base, base + chunk)
        )
    end = T0 + timedelta(seconds=rows)
    out: dict[str, float] = {}
    cases: tuple[tuple[str, dict[str, Any]], ...] = (
        ("avg_all_rows", {}),
        ("sum_all_rows", {"aggregation": "sum"}),
        ("max_half_range", {"aggregation": "max", "end_time": T0 + timedelta(seconds=rows // 2)}),
        ("avg_symbol_filter", {"dimensions": {"symbol": "SPY"}}),
    )
    for label, kwargs in cases:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            store.aggregate_metrics(
                "trading", "fill_latency_ms", **{"start_time": T0, "end_time": end, **kwargs}
            )
            times.append((time.perf_counter() - start) * 1e3)
        out[label] = min(times)
    start = time.perf_counter()
    store.get_metric_stats("trading", "fill_latency_ms", T0, end)
    out["stats_all_rows"] = (time.perf_counter() - start) * 1e3
    store.close()
    return out


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench_storage_") as tmp:
        folder = Path(tmp)
        print(f"files in {folder} (sqlite {__import__('sqlite3').sqlite_version})")
        inserts = bench_trade_inserts(folder)
        print(f"insert_trade (each committed): {inserts:,.0f} trades/s (target >= 5,000)")
        drained, dropped = bench_log_drain(folder)
        print(
            f"log lines through SQLiteLogHandler, end to end: {drained:,.0f} lines/s "
            f"(target >= 100,000; dropped {dropped})"
        )
        cost = bench_caller_cost(folder)
        print(
            f"caller-side handle() while the writer is busy: median {cost['median']:.2f} us, "
            f"mean {cost['mean']:.2f} us wall, {cost['cpu']:.2f} us CPU "
            f"(target <= 10 us; writer still busy at end: {cost['busy']})"
        )
        for label, us in bench_structlog_call(folder).items():
            print(f"full structlog log.info() call, {label}: {us:.1f} us")
        agg = bench_aggregate(folder)
        for label, ms in agg.items():
            print(f"aggregate over 1,000,000 metric rows, {label}: {ms:.1f} ms (target < 200 ms)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
