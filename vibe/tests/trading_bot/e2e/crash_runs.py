"""Running the real daemon to a crash point and comparing what it stored with a clean run.

The crash point is the storage layer's ``VIBE_CRASH_AFTER_COMMIT`` (see
``vibe.trading_bot.storage.crash_point``): the process kills itself with SIGKILL
right after its N-th commit. :func:`records` reads what a user relies on from
``DATA_DIR``: trades, fills, every order's final state, open positions and the
daily metrics, keyed by values that do not depend on random ids.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibe.tests.conftest import REPO_ROOT
from vibe.tests.trading_bot.e2e.test_replay_process import daemon_env

SAMPLE = REPO_ROOT / "examples" / "data"


@dataclass(frozen=True)
class Window:
    """What one replay covers."""

    symbols: str
    start: str
    end: str


def replay(
    folder: Path, window: Window, timeout: float = 120, **env_extra: str
) -> subprocess.CompletedProcess[bytes]:
    """Run ``run --replay`` at max speed in ``folder`` (DATA_DIR ``folder/data``) to its end.

    The daemon's output goes to ``folder/daemon.log`` (appended across runs).
    """
    proc = start(folder, window, **env_extra)
    try:
        returncode = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, returncode)


def start(folder: Path, window: Window, **env_extra: str) -> subprocess.Popen[bytes]:
    """Start ``run --replay`` at max speed in ``folder``; output to ``folder/daemon.log``."""
    folder.mkdir(parents=True, exist_ok=True)
    env = daemon_env(folder, **env_extra)
    command = [
        sys.executable, "-m", "vibe.trading_bot", "run", "--replay", str(SAMPLE),
        "--speed", "max", "--symbols", window.symbols,
        "--start", window.start, "--end", window.end,
    ]  # fmt: skip
    with (folder / "daemon.log").open("ab") as log:
        return subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)


def kill_at(folder: Path, window: Window, after_seconds: float) -> int:
    """Start the replay, SIGKILL it from outside after ``after_seconds``; its exit code.

    Returns ``-SIGKILL`` when it was killed, ``0`` when it ended first.
    """
    proc = start(folder, window)
    try:
        proc.wait(timeout=after_seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=30)


def crash_then_resume(folder: Path, window: Window, commit: int) -> tuple[int, int]:
    """Kill the replay right after its ``commit``-th commit, then run it again to the end.

    Returns:
        ``(exit code of the crashed run, exit code of the resumed run)``; the first
        is ``-SIGKILL`` when the crash point was reached.
    """
    crashed = replay(folder, window, VIBE_CRASH_AFTER_COMMIT=str(commit))
    resumed = replay(folder, window)
    return crashed.returncode, resumed.returncode


def commit_trace(folder: Path, window: Window) -> list[str]:
    """Run the replay uninterrupted; the database name of each of its commits, in order."""
    trace = folder / "commits.txt"
    done = replay(folder, window, VIBE_COMMIT_TRACE=str(trace))
    assert done.returncode == 0, log_tail(folder)
    return [line.split()[1] for line in trace.read_text().splitlines()]


def log_tail(folder: Path, chars: int = 4000) -> str:
    """The end of the daemon's output in ``folder``."""
    path = folder / "daemon.log"
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return [tuple(row) for row in conn.execute(sql).fetchall()]


def _rounded(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(round(v, 6) if isinstance(v, float) else v for v in row)


def records(data: Path) -> dict[str, Any]:
    """What a user relies on in ``data`` (a DATA_DIR), comparable across runs."""
    trades_db = data / "trades.db"
    trades = _rows(
        trades_db,
        "SELECT symbol, side, quantity, entry_time, entry_price, exit_time, exit_price,"
        " exit_reason, status, fees, slippage_cost, pnl FROM trades ORDER BY entry_time, symbol",
    )
    fills = _rows(
        trades_db,
        "SELECT o.client_order_id, f.symbol, f.side, f.quantity, f.price, f.commission,"
        " f.slippage_cost, f.timestamp FROM fills f JOIN orders o ON o.id = f.order_id"
        " ORDER BY f.timestamp, o.client_order_id",
    )
    orders = _rows(
        trades_db,
        "SELECT client_order_id, order_type, side, quantity, limit_price, stop_price, status,"
        " filled_quantity, created_at FROM orders ORDER BY client_order_id",
    )
    positions = _rows(
        trades_db,
        "SELECT symbol, sum(CASE side WHEN 'buy' THEN quantity ELSE -quantity END) AS q"
        " FROM fills GROUP BY symbol HAVING q != 0 ORDER BY symbol",
    )
    daily = _rows(
        data / "metrics.db",
        "SELECT metric_name, metric_value, dimensions FROM metrics"
        " WHERE metric_type = 'daily' ORDER BY dimensions, metric_name",
    )
    state = _rows(data / "state.db", "SELECT source, key, value FROM run_state ORDER BY 1, 2")
    return {
        "trades": [_rounded(r) for r in trades],
        "fills": [_rounded(r) for r in fills],
        "orders": [_rounded(r) for r in orders],
        "open_positions": positions,
        "daily_metrics": [_rounded(r) for r in daily],
        "progress": [r for r in state if r[1] in ("last_bar_end", "last_closed_session")],
    }


def differences(expected: dict[str, Any], got: dict[str, Any]) -> dict[str, Any]:
    """The record kinds that differ, with both sides (empty when equal)."""
    return {
        kind: {"expected": expected[kind], "got": got[kind]}
        for kind in expected
        if expected[kind] != got[kind]
    }


def describe(diff: dict[str, Any], limit: int = 3000) -> str:
    """A readable, bounded rendering of :func:`differences`."""
    return json.dumps(diff, default=str, indent=1)[:limit]


KILLED = -signal.SIGKILL
