"""``run --replay`` as a real process: SIGTERM mid-session, and ``kill -9`` then resume."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from vibe.tests.conftest import REPO_ROOT
from vibe.tests.support import eventually_sync, free_port
from vibe.tests.trading_bot.e2e.test_replay_daemon import open_quantities, stored_trades

SAMPLE = REPO_ROOT / "examples" / "data"
SYMBOLS = "AAPL,AMZN,GOOGL,MSFT,QQQ,SPY,TSLA"


def daemon_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AZURE_"))}
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        HEALTH_CHECK_HOST="127.0.0.1",
        HEALTH_CHECK_PORT=str(free_port()),
        LOG_FORMAT="json",
        SHUTDOWN_TIMEOUT_SECONDS="10",
        **extra,
    )
    return env


def start_replay(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    """Start the daemon; its output goes to ``tmp_path/daemon.log`` (see :func:`log_tail`)."""
    command = [sys.executable, "-m", "vibe.trading_bot", "run", "--replay", str(SAMPLE)]
    with (tmp_path / "daemon.log").open("ab") as log:
        return subprocess.Popen(
            [*command, "--symbols", SYMBOLS, *args],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def log_tail(tmp_path: Path) -> str:
    return (tmp_path / "daemon.log").read_text(errors="replace")[-3000:]


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:  # table not created yet
        return []


def has_open_trade(data: Path) -> bool:
    return bool(query(data / "trades.db", "SELECT 1 FROM trades WHERE status = 'open'"))


def sigterm_with_a_position_open(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Replay from 2025-06-05 at 3000x; SIGTERM once a trade is open; return the ended process."""
    proc = start_replay(tmp_path, env, "--speed", "3000", "--start", "2025-06-05")
    try:
        eventually_sync(lambda: has_open_trade(tmp_path / "data"), within=60)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc


def test_sigterm_mid_replay_closes_positions_persists_fills_and_syncs(tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    env = daemon_env(
        tmp_path, ENABLE_CLOUD_SYNC="true", CLOUD_PROVIDER="local", CLOUD_SYNC_DIR=str(backups)
    )
    proc = sigterm_with_a_position_open(tmp_path, env)
    data = tmp_path / "data"
    assert proc.returncode == 0, log_tail(tmp_path)
    trades = stored_trades(data)
    assert trades and all(t[9] == "closed" for t in trades)
    assert trades[-1][7] == "shutdown"  # CLOSE_POSITIONS_ON_SHUTDOWN defaults to true
    assert open_quantities(data) == {}  # every fill of the closes is in trades.db
    snapshots = list((backups / "vibe-trading-bot" / "trades").rglob("*.gz"))
    assert snapshots, "the final cloud sync did not upload trades.db"
    logged = (tmp_path / "daemon.log").read_text()
    closed = logged.count('"event": "session closed"')
    # the session cut by SIGTERM is reported as interrupted, not counted as run
    assert re.search(rf"sessions run\s+│\s+{closed}\s+│", logged), log_tail(tmp_path)
    cut = re.search(r"interrupted session\s+│\s+(\S+), after (\d+) of (\d+) bars", logged)
    assert cut is not None and 0 < int(cut[2]) < int(cut[3]), log_tail(tmp_path)
    assert '"session interrupted by a stop; not counted as run"' in logged
    assert re.search(r"shutdown\s+│\s+[\d.]+ s of 10 s, \d+ steps ok", logged)
    assert "shutdown step timed out" not in logged


def test_sigterm_keeps_positions_when_told_to(tmp_path: Path) -> None:
    env = daemon_env(tmp_path, CLOSE_POSITIONS_ON_SHUTDOWN="false")
    proc = sigterm_with_a_position_open(tmp_path, env)
    data = tmp_path / "data"
    assert proc.returncode == 0
    assert open_quantities(data)  # the open position is kept (and restored at the next start)
    working = query(data / "trades.db", "SELECT count(*) FROM orders WHERE status = 'accepted'")
    assert int(str(working[0][0])) >= 1  # its protective stop is still working


@pytest.mark.slow
def test_kill_9_then_restart_trades_like_an_uninterrupted_run(tmp_path: Path) -> None:
    window = ("--start", "2025-06-05", "--end", "2025-06-13")
    reference = tmp_path / "reference"
    reference.mkdir()
    env = daemon_env(reference)
    done = start_replay(reference, env, "--speed", "max", *window)
    assert done.wait(timeout=120) == 0

    crashed = tmp_path / "crashed"
    crashed.mkdir()
    env = daemon_env(crashed)
    proc = start_replay(crashed, env, "--speed", "3000", *window)
    data = crashed / "data"

    def mid_run_with_a_position() -> bool:
        cursor = query(data / "state.db", "SELECT value FROM run_state WHERE key='last_bar_end'")
        return bool(cursor) and str(cursor[0][0]) >= "2025-06-06" and has_open_trade(data)

    try:
        eventually_sync(mid_run_with_a_position, within=90)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert has_open_trade(data)
    restarted = start_replay(crashed, env, "--speed", "max", *window)
    assert restarted.wait(timeout=120) == 0, log_tail(crashed)
    assert stored_trades(data) == stored_trades(reference / "data")
    assert open_quantities(data) == {}
