"""Cloud sync throughput: snapshot (online backup + gzip + SHA-256) and upload, then restore.

Fills a SQLite database with the real 1-minute bars under ``../shared/data/bars_1m``
(about 200k rows per pass, repeated until the file reaches the target size), then
times ``CloudSync.upload`` and ``CloudSync.restore_if_newer`` against the local
directory backend. Prints MB/s of database bytes (uncompressed). No thresholds.
"""

from __future__ import annotations

import asyncio
import csv
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from vibe.common.clock import SimulatedClock
from vibe.trading_bot.core.health_reporter import RecordingHealthReporter
from vibe.trading_bot.storage.sqlite import SQLiteDatabase
from vibe.trading_bot.storage.sync import CloudSync, LocalDirectoryBackend, RestoreStatus

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bars_1m"
SCHEMA = [
    "CREATE TABLE bars (symbol TEXT, ts TEXT, open REAL, high REAL, low REAL, close REAL,"
    " volume INTEGER, pass INTEGER);"
]
TARGET_MB = 64


def load_rows() -> list[tuple[str, str, float, float, float, float, int]]:
    rows = []
    for path in sorted(DATA.glob("*/*_1m.csv")):
        symbol = path.name.split("_")[0]
        with path.open() as handle:
            for rec in csv.DictReader(handle):
                rows.append(
                    (
                        symbol,
                        rec["timestamp"],
                        float(rec["open"]),
                        float(rec["high"]),
                        float(rec["low"]),
                        float(rec["close"]),
                        int(float(rec["volume"])),
                    )
                )
    return rows


def build_db(path: Path) -> int:
    rows = load_rows()
    if not rows:
        sys.exit(f"no bars found under {DATA}")
    db = SQLiteDatabase(path, SCHEMA)
    n = 0
    while path.stat().st_size < TARGET_MB * 1024 * 1024:
        with db.transaction() as conn:
            conn.executemany(
                "INSERT INTO bars VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [(*r, n) for r in rows]
            )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        n += 1
    db.close()
    return path.stat().st_size


async def run(work: Path) -> None:
    source = work / "bars.db"
    size = build_db(source)
    mb = size / 1e6
    clock = SimulatedClock(datetime(2099, 1, 1, tzinfo=UTC))
    backend = LocalDirectoryBackend(work / "cloud")
    health = RecordingHealthReporter()
    sync = CloudSync(backend, {"bars": source}, clock, prefix="bench", keep=3, health=health)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        result = await sync.upload("bars")
        timings.append(time.perf_counter() - start)
        clock.advance(60)
    best = min(timings)
    ratio = result.metadata.compressed_size / size
    print(f"database            {mb:8.1f} MB (real 1m bars), gzip ratio {ratio:.2f}")
    print(f"snapshot + upload   {mb / best:8.1f} MB/s  ({best:.2f} s best of 3)")
    target = work / "restored" / "bars.db"
    restorer = CloudSync(backend, {"bars": target}, clock, prefix="bench", keep=3, health=health)
    start = time.perf_counter()
    status = (await restorer.restore_if_newer("bars")).status
    elapsed = time.perf_counter() - start
    assert status == RestoreStatus.RESTORED, status
    print(f"download + restore  {mb / elapsed:8.1f} MB/s  ({elapsed:.2f} s, verify included)")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as work:
        asyncio.run(run(Path(work)))


if __name__ == "__main__":
    main()
