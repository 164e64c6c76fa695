"""Stores opened read-only (``show-status``) and the per-dimension metric sums it reads."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.errors import StorageError
from vibe.trading_bot.storage.metrics_store import MetricRecord, MetricsStore
from vibe.trading_bot.storage.run_state import RunStateStore
from vibe.trading_bot.storage.trade_store import TradeStore

T0 = datetime(2025, 6, 6, 14, 0, tzinfo=UTC)


def _metrics(path: Path) -> None:
    store = MetricsStore(path, SimulatedClock(T0))
    store.record_many(
        [
            MetricRecord("trading", "entry_rejected", 1.0, {"rule": "zero_quantity"}, T0),
            MetricRecord("trading", "entry_rejected", 1.0, {"rule": "zero_quantity"}, T0),
            MetricRecord("trading", "entry_rejected", 1.0, {"rule": "volume_filter"}, T0),
            MetricRecord(
                "trading", "entry_rejected", 1.0, {"rule": "volume_filter"}, T0 + timedelta(days=1)
            ),
            MetricRecord("trading", "entry_rejected", 1.0, {"symbol": "SPY"}, T0),
            MetricRecord("trading", "equity", 5.0, {"rule": "zero_quantity"}, T0),
        ]
    )
    store.close()


def test_sum_by_dimension_groups_one_metric_in_a_time_range(tmp_path: Path) -> None:
    _metrics(tmp_path / "metrics.db")
    store = MetricsStore(tmp_path / "metrics.db", SimulatedClock(T0))
    day = (T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert store.sum_by_dimension("trading", "entry_rejected", "rule", *day) == {
        "zero_quantity": 2.0,
        "volume_filter": 1.0,
    }
    assert store.sum_by_dimension("trading", "entry_rejected", "rule") == {
        "volume_filter": 2.0,
        "zero_quantity": 2.0,
    }
    store.close()


def test_read_only_store_reads_and_refuses_writes_and_creates_nothing(tmp_path: Path) -> None:
    _metrics(tmp_path / "metrics.db")
    before = sorted(p.name for p in tmp_path.iterdir())
    store = MetricsStore(tmp_path / "metrics.db", SimulatedClock(T0), read_only=True)
    assert store.count() == 6
    with pytest.raises(StorageError, match="read-only"):
        store.record_metric("trading", "equity", 1.0)
    store.close()
    assert store.db.read_only
    with pytest.raises(StorageError, match=r"missing\.db: no such database file"):
        RunStateStore(tmp_path / "missing.db", SimulatedClock(T0), read_only=True)
    assert not (tmp_path / "missing.db").exists()
    trades = TradeStore(tmp_path / "t.db", SimulatedClock(T0))
    trades.close()
    again = TradeStore(tmp_path / "t.db", SimulatedClock(T0), read_only=True)
    assert again.checkpointer is None and again.get_trades() == []
    again.close()
    assert set(before) <= {p.name for p in tmp_path.iterdir()}


def test_read_only_store_on_a_read_only_file_system(tmp_path: Path) -> None:
    """A read-only bind mount (a user and mount namespace of its own, via ``unshare``)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    folder = tmp_path / "ro"
    folder.mkdir()
    _metrics(folder / "metrics.db")
    script = (
        "from datetime import UTC, datetime; from pathlib import Path;"
        "from vibe.common.clock import SimulatedClock;"
        "from vibe.trading_bot.storage.metrics_store import MetricsStore;"
        f"s = MetricsStore(Path({str(folder)!r}) / 'metrics.db',"
        " SimulatedClock(datetime(2025, 6, 6, tzinfo=UTC)), read_only=True);"
        "print(s.count()); s.close()"
    )
    mount = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"{mount} && touch {folder}/x"],
        capture_output=True,
        text=True,
        check=False,
    )
    if "Read-only file system" not in probe.stderr:
        pytest.skip(f"no read-only bind mount here: {probe.stderr.strip()}")
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f'{mount} && exec "$0" -c "$1"', sys.executable, script],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "6"
