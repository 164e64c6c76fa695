"""Concurrent writers and readers on all three stores; kill -9 of a writing process."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.models import ExitReason, PositionSide, Trade
from vibe.tests.support import kill_9_after
from vibe.trading_bot.storage.log_handler import SQLiteLogHandler
from vibe.trading_bot.storage.log_store import LogStore
from vibe.trading_bot.storage.metrics_store import MetricsStore
from vibe.trading_bot.storage.trade_store import TradeStore

T0 = datetime(2025, 7, 3, 13, 30, tzinfo=UTC)
WRITERS = 8
READERS = 4
OPS_PER_WRITER = 300  # 100 trades + 100 metrics + 100 log lines each: 2,400 commits


def _trade(i: int, thread: int) -> Trade:
    trade = Trade("SPY", PositionSide.LONG, 10, T0 + timedelta(seconds=i), 100.0, f"t{thread}")
    trade.close(T0 + timedelta(seconds=i + 60), 101.0, ExitReason.TAKE_PROFIT)  # pnl +10
    return trade


class _Workload:
    """8 writer threads over three stores while 4 threads read, recording any error."""

    def __init__(self, tmp_path):
        clock = SimulatedClock(T0)
        self.trades = TradeStore(tmp_path / "trades.db", clock)
        self.metrics = MetricsStore(tmp_path / "metrics.db", clock)
        self.logs = LogStore(tmp_path / "logs.db", clock)
        self.errors: list[BaseException] = []
        self.ids: list[int] = []
        self.reads = [0] * READERS
        self._ids_lock = threading.Lock()
        self._writers_done = threading.Event()

    def write(self, thread: int) -> None:
        try:
            for i in range(OPS_PER_WRITER):
                if i % 3 == 0:
                    trade_id = self.trades.insert_trade(_trade(i, thread))
                    with self._ids_lock:
                        self.ids.append(trade_id)
                elif i % 3 == 1:
                    self.metrics.record_metric("trading", "fills", 1.0, {"thread": thread})
                else:
                    self.logs.insert_log("INFO", f"writer.{thread}", f"line {i}", {"i": i})
        except BaseException as exc:
            self.errors.append(exc)

    def read(self, reader: int) -> None:
        try:
            while not self._writers_done.is_set():
                self.trades.get_trades(strategy="t1", limit=50)
                self.trades.get_pnl_stats()
                self.metrics.aggregate_metrics("trading", "fills", "count")
                self.logs.get_logs(level="INFO", limit=20)
                self.reads[reader] += 1
        except BaseException as exc:
            self.errors.append(exc)

    def run(self) -> None:
        writers = [threading.Thread(target=self.write, args=(n,)) for n in range(WRITERS)]
        readers = [threading.Thread(target=self.read, args=(n,)) for n in range(READERS)]
        for t in readers + writers:
            t.start()
        for t in writers:
            t.join()
        self._writers_done.set()
        for t in readers:
            t.join()


def test_concurrent_writers_and_readers_lose_nothing(tmp_path):
    work = _Workload(tmp_path)
    work.run()
    trades, metrics, logs, errors, ids, reads = (
        work.trades,
        work.metrics,
        work.logs,
        work.errors,
        work.ids,
        work.reads,
    )
    assert errors == []
    assert all(count > 0 for count in reads)
    per_kind = WRITERS * OPS_PER_WRITER // 3
    assert len(set(ids)) == per_kind
    assert trades.db.query("SELECT count(*) FROM trades")[0][0] == per_kind
    stats = trades.get_pnl_stats()
    assert (stats.count, stats.wins) == (per_kind, per_kind)
    assert stats.total_pnl == pytest.approx(10.0 * per_kind)
    assert metrics.aggregate_metrics("trading", "fills", "sum") == per_kind
    assert metrics.aggregate_metrics("trading", "fills", "count", dimensions={"thread": 3}) == (
        OPS_PER_WRITER // 3
    )
    assert logs.count() == per_kind
    assert len(logs.get_logs(logger="writer.5", limit=None)) == OPS_PER_WRITER // 3
    for store in (trades, metrics, logs):
        assert store.db.integrity_check() == "ok"
        store.close()


def test_many_threads_logging_through_the_handler(tmp_path):
    store = LogStore(tmp_path / "logs.db", SimulatedClock(T0))
    handler = SQLiteLogHandler(store, queue_size=20_000, batch_size=256)
    logger = logging.getLogger("vibe.test.durability")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)

    def spam(thread: int) -> None:
        for i in range(1_000):
            logger.info("line %d from %d", i, thread)

    threads = [threading.Thread(target=spam, args=(n,)) for n in range(WRITERS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert handler.dropped == 0
    assert handler.written == store.count() == WRITERS * 1_000
    store.close()


CHILD = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vibe.common.clock import SimulatedClock
from vibe.common.models import PositionSide, Trade
from vibe.trading_bot.storage.trade_store import TradeStore

t0 = datetime(2025, 7, 3, 13, 30, tzinfo=UTC)
store = TradeStore(Path(sys.argv[1]), SimulatedClock(t0))
i = 0
while True:
    trade = Trade("SPY", PositionSide.LONG, 1 + i % 100, t0 + timedelta(seconds=i), 500.0, "crash")
    print(store.insert_trade(trade), flush=True)
    i += 1
"""


@pytest.mark.slow
def test_every_reported_trade_survives_kill_9(tmp_path):
    path = tmp_path / "trades.db"
    printed = kill_9_after(CHILD, [str(path)], after=300)
    # a second writer recovers the file, then dies
    printed += kill_9_after(CHILD, [str(path)], after=150)
    store = TradeStore(path, SimulatedClock(T0))
    assert store.db.integrity_check() == "ok"
    stored = {row[0] for row in store.db.query("SELECT id FROM trades")}
    missing = set(printed) - stored
    assert not missing, f"{len(missing)} reported trades lost, e.g. {sorted(missing)[:5]}"
    assert len(printed) >= 450
    store.close()
