"""Dashboard API under load, on real ``python -m vibe.trading_bot run --replay`` daemons.

1. **SSE at ``--speed max``**: a replay of the 7-symbol sample (``examples/data``,
   5-minute bars, Jun-Aug 2025) with one ``/api/v1/events`` client attached from
   the start (``Last-Event-ID`` of position 0, so nothing before the connection
   is skipped). Checks that no event is lost (every fill and closed trade of
   ``trades.db``, every traded bar of the sample) and measures each fill's lag:
   the time it reached the client minus the time a reader polling ``trades.db``
   every 2 ms first saw it (an upper bound of the lag minus at most 2 ms).
2. **REST latency while a replay runs**: on the same ``DATA_DIR`` (the trades of
   step 1 in ``trades.db``), a ``--speed 600`` replay of the later real sample
   ``../shared/data/bars_5m/yfinance_2025-12_2026-03`` runs while 50 concurrent
   clients ask ``/api/v1/trades?limit=500`` or ``/api/v1/status`` over 127.0.0.1:
   closed loop (each client sends its next request when the answer came) and
   paced (each client every 0.5 s: 100 requests/s in all, 50 dashboards open).

Run with ``PYTHONPATH=. .venv/bin/python benchmarks/bench_api.py``. Prints figures.
The clients run in this process, on the same 2 cores as the daemon.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "data"
LATER = REPO.parent / "shared" / "data" / "bars_5m" / "yfinance_2025-12_2026-03"
SAMPLE_SYMBOLS = "AAPL,AMZN,GOOGL,MSFT,QQQ,SPY,TSLA"
LATER_SYMBOLS = "AAPL,MSFT,NVDA,QQQ,SPY,TSLA"
TOKEN = "bench-token-5d1e"  # noqa: S105 - the benchmark daemon's own token
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CLIENTS = 50
ROUND_SECONDS = 8.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_daemon(
    folder: Path, replay: Path, symbols: str, *args: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(
        os.environ,
        DATA_DIR=str(folder / "data"),
        HEALTH_CHECK_HOST="127.0.0.1",
        HEALTH_CHECK_PORT=str(port),
        LOG_FORMAT="json",
        API_TOKEN=TOKEN,
    )
    command = [sys.executable, "-m", "vibe.trading_bot", "run", "--replay", str(replay)]
    with (folder / "daemon.log").open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [*command, "--symbols", symbols, *args], cwd=folder, env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"daemon exited: {(folder / 'daemon.log').read_text()[-2000:]}")
        try:
            if httpx.get(url + "/health/startup", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise RuntimeError("daemon did not start within 60 s")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


# ----------------------------------------------------------------------------- SSE


@dataclass
class Watch:
    """What the stream delivered and when ``trades.db`` first showed each fill."""

    first_seen: dict[str, float] = field(default_factory=dict)  # fill_id -> monotonic s
    received: dict[str, float] = field(default_factory=dict)
    trades: set[int] = field(default_factory=set)
    bars: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


def poll_fills(db: Path, watch: Watch) -> None:
    """Record when each fill first shows in ``trades.db`` (read-only, every 2 ms)."""
    while not db.exists() and not watch.stop.is_set():
        time.sleep(0.002)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    last = 0
    while not watch.stop.is_set():
        try:
            rows = conn.execute(
                "SELECT rowid, fill_id FROM fills WHERE rowid > ? ORDER BY rowid", (last,)
            ).fetchall()
        except sqlite3.OperationalError:  # schema not there yet
            rows = []
        now = time.monotonic()
        for rowid, fill_id in rows:
            watch.first_seen.setdefault(fill_id, now)
            last = rowid
        time.sleep(0.002)
    conn.close()


def follow_events(url: str, watch: Watch) -> None:
    """Read ``/api/v1/events`` from position 0 until the daemon closes the stream."""
    headers = {**AUTH, "Last-Event-ID": "0.0t.0.0"}
    kind = ""
    try:
        with httpx.stream(
            "GET", url + "/api/v1/events", headers=headers, timeout=httpx.Timeout(10, read=120)
        ) as reply:
            for line in reply.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                    if kind == "fill":
                        watch.received.setdefault(data["fill_id"], time.monotonic())
                    elif kind == "trade":
                        watch.trades.add(data["id"])
                    elif kind == "bar":
                        watch.bars += 1
    except httpx.HTTPError:
        pass  # the daemon stopped


def sample_bars_from(first_day: str) -> int:
    """Bars of the sample at or after ``first_day`` (ET date), the 7 symbols."""
    total = 0
    for path in SAMPLE.glob("*_5m.csv"):
        with path.open() as handle:
            total += sum(1 for row in csv.DictReader(handle) if row["timestamp"][:10] >= first_day)
    return total


def bench_sse(folder: Path) -> None:
    watch = Watch()
    db = folder / "data" / "trades.db"
    poller = threading.Thread(target=poll_fills, args=(db, watch), daemon=True)
    poller.start()
    started = time.monotonic()
    proc, url = start_daemon(folder, SAMPLE, SAMPLE_SYMBOLS, "--speed", "max")
    reader = threading.Thread(target=follow_events, args=(url, watch), daemon=True)
    reader.start()
    proc.wait(timeout=900)
    reader.join(timeout=30)
    watch.stop.set()
    poller.join()
    seconds = time.monotonic() - started
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    stored = {row[0] for row in conn.execute("SELECT fill_id FROM fills")}
    closed = {row[0] for row in conn.execute("SELECT id FROM trades WHERE status = 'closed'")}
    first = conn.execute("SELECT min(entry_time) FROM trades").fetchone()[0]
    conn.close()
    lags = [
        (watch.received[f] - watch.first_seen[f]) * 1e3
        for f in watch.received
        if f in watch.first_seen
    ]
    traded_from = _first_traded_day(folder)
    expected_bars = sample_bars_from(traded_from) if traded_from else 0
    missing_fills = len(stored - set(watch.received))
    missing_trades = len(closed - watch.trades)
    print(f"replay --speed max of the 7-symbol sample: {seconds:.1f} s (start-up included)")
    print(f"  fills: {len(watch.received)} sent / {len(stored)} stored, missing {missing_fills}")
    print(
        f"  closed trades: {len(watch.trades)} sent / {len(closed)} stored, "
        f"missing {missing_trades}"
    )
    print(f"  bars: {watch.bars} sent / {expected_bars} traded (sessions from {traded_from})")
    print(f"  first entry {first}")
    print(
        f"  fill lag (trades.db -> client): p50 {percentile(lags, 0.5):.0f} ms, "
        f"p99 {percentile(lags, 0.99):.0f} ms, max {max(lags, default=float('nan')):.0f} ms"
    )


def _first_traded_day(folder: Path) -> str | None:
    """The first session the replay traded (its ``session closed`` log lines)."""
    for line in (folder / "daemon.log").read_text().splitlines():
        if '"event": "session closed"' in line:
            return str(json.loads(line)["day"])
    return None


# ------------------------------------------------------------------------- latency


async def request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> int:
    """One keep-alive HTTP/1.1 GET; returns the status code (the body is read and dropped).

    A minimal client (a few microseconds per request) so that the load generator,
    which shares the 2 cores with the daemon, takes as little CPU as it can.
    """
    writer.write(head)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def hammer(url: str, path: str, pace_seconds: float | None) -> tuple[list[float], int]:
    """``CLIENTS`` clients on ``path`` for ``ROUND_SECONDS``; latencies (ms) and failures."""
    samples: list[float] = []
    failures = 0
    end = time.monotonic() + ROUND_SECONDS
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    ).encode()

    async def client(index: int) -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, int(port))
        if pace_seconds:
            await asyncio.sleep(pace_seconds * index / CLIENTS)
        while time.monotonic() < end:
            sent = time.perf_counter()
            status = await request(reader, writer, head)
            samples.append((time.perf_counter() - sent) * 1e3)
            failures += status != 200
            if pace_seconds:
                await asyncio.sleep(max(0.0, pace_seconds - (time.perf_counter() - sent)))
        writer.close()

    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    return samples, failures


def bench_latency(folder: Path) -> None:
    replay, symbols = (LATER, LATER_SYMBOLS) if LATER.is_dir() else (SAMPLE, SAMPLE_SYMBOLS)
    proc, url = start_daemon(folder, replay, symbols, "--speed", "600", "--allow-mode-change")
    try:
        rows = len(httpx.get(url + "/api/v1/trades?limit=500", headers=AUTH, timeout=10).json())
        print(f"REST while a --speed 600 replay of {replay.name} runs ({CLIENTS} clients):")
        for path, label in (
            ("/api/v1/trades?limit=500", f"/trades?limit=500 ({rows} rows)"),
            ("/api/v1/status", "/status"),
        ):
            for pace, how in ((None, "closed loop"), (0.5, "each client every 0.5 s")):
                samples, failures = asyncio.run(hammer(url, path, pace))
                print(
                    f"  {label}, {how}: {len(samples) / ROUND_SECONDS:,.0f} req/s, "
                    f"p50 {percentile(samples, 0.5):.1f} ms, p99 {percentile(samples, 0.99):.1f} ms"
                    f", failures {failures}"
                )
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        folder = Path(tmp)
        bench_sse(folder)
        bench_latency(folder)


if __name__ == "__main__":
    main()
