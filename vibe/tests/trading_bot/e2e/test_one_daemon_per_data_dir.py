"""One daemon per DATA_DIR, with real processes: the second exits at once, naming the holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from vibe.tests.support import bot, eventually_sync, free_port
from vibe.tests.trading_bot.e2e.test_replay_process import SAMPLE, daemon_env, log_tail

WINDOW = ("--symbols", "AAPL", "--start", "2025-07-03", "--end", "2025-07-03")


def cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return bot(tmp_path, *args, env=env, timeout=60)


def test_second_daemon_on_the_same_data_dir_exits_at_once(tmp_path: Path) -> None:
    env = daemon_env(tmp_path)
    data = Path(env["DATA_DIR"])
    replay = ("run", "--replay", str(SAMPLE), *WINDOW)
    with (tmp_path / "daemon.log").open("ab") as log:
        first = subprocess.Popen(
            [sys.executable, "-m", "vibe.trading_bot", *replay, "--speed", "20"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        lock = data / "daemon.lock"
        eventually_sync(lambda: lock.exists() and lock.read_text() == f"{first.pid}\n", 30)

        started = time.monotonic()
        second_env = {**env, "HEALTH_CHECK_PORT": str(free_port())}
        second = cli(tmp_path, second_env, *replay, "--speed", "max")
        elapsed = time.monotonic() - started
        assert second.returncode == 1, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), second.stderr
        assert str(data) in lines[0] and f"pid {first.pid}" in lines[0]
        assert elapsed < 15, f"the second daemon took {elapsed:.1f} s to give up"

        # the read-only and throw-away commands are not daemons: they still run
        status = cli(tmp_path, env, "show-status")
        assert status.returncode == 0, status.stderr
        output = tmp_path / "bt.json"
        backtest = cli(
            tmp_path, env, "backtest", "--data", str(SAMPLE), *WINDOW, "--output", str(output)
        )
        assert backtest.returncode == 0, backtest.stderr
        assert first.poll() is None, log_tail(tmp_path)
    finally:
        os.kill(first.pid, signal.SIGKILL)  # the kernel drops the lock with the process
        first.wait()

    restarted = cli(tmp_path, env, *replay, "--speed", "max")
    assert restarted.returncode == 0, restarted.stderr[-2000:]
