"""The first hour of a new user, with the real processes: ``make run`` twice, ``make status``,
``make clean``, the printed next command, a replay run again, and live vs replay folders.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from vibe.common.clock import LiveClock
from vibe.tests.conftest import REPO_ROOT
from vibe.tests.trading_bot.test_cli_errors import bot, one_error_line, user_env
from vibe.trading_bot.commands.progress import SessionProgress
from vibe.trading_bot.storage.folder_mode import MODE_NOTE, FolderMode, claim_folder_mode
from vibe.trading_bot.storage.run_state import RunStateStore

SAMPLE = REPO_ROOT / "examples" / "data"
WINDOW = ("--symbols", "AAPL", "--start", "2025-06-05", "--end", "2025-06-06")
HINT = re.compile(r"^\s+(.*-m vibe\.trading_bot show-status.*)$", re.MULTILINE)


def trades_in(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "trades.db") as conn:
        return int(conn.execute("SELECT count(*) FROM trades").fetchone()[0])


def round_trips(rows: list[tuple[Any, ...]]) -> list[tuple[object, ...]]:
    """``(symbol, side, shares, entry UTC, entry price, exit UTC, exit price)`` by entry, symbol."""
    utc = [(datetime.fromisoformat(row[3]), datetime.fromisoformat(row[5])) for row in rows]
    trips = [
        (row[0], row[1], row[2], entry.astimezone(UTC), round(row[4], 6),
         exit_.astimezone(UTC), round(row[6], 6))
        for row, (entry, exit_) in zip(rows, utc, strict=True)
    ]  # fmt: skip
    return sorted(trips, key=lambda trip: (trip[3], trip[0]))


def stored_round_trips(data_dir: Path) -> list[tuple[object, ...]]:
    query = (
        "SELECT symbol, side, quantity, entry_time, entry_price, exit_time, exit_price FROM trades"
    )
    with sqlite3.connect(data_dir / "trades.db") as conn:
        return round_trips(conn.execute(query).fetchall())


def reported_round_trips(report: Path) -> list[tuple[object, ...]]:
    keys = ("symbol", "side", "quantity", "entry_time", "entry_price", "exit_time", "exit_price")
    trades = json.loads(report.read_text())["trades"]
    return round_trips([tuple(t[k] for k in keys) for t in trades])


def sources_in(data_dir: Path) -> set[str]:
    with sqlite3.connect(data_dir / "state.db") as conn:
        return {str(row[0]) for row in conn.execute("SELECT source FROM run_state")}


def noted_mode(data_dir: Path) -> str:
    with sqlite3.connect(data_dir / "state.db") as conn:
        row = conn.execute(
            "SELECT value FROM run_state WHERE source = ? AND key = ?", MODE_NOTE
        ).fetchone()
    return str(row[0])


def fake_checkout(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The Makefile beside the sample data, with a ``.venv`` that is this test's Python.

    The stamp is newer than ``pyproject.toml``, so ``make`` installs nothing.
    """
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(REPO_ROOT / "Makefile", repo / "Makefile")
    shutil.copy(REPO_ROOT / "pyproject.toml", repo / "pyproject.toml")
    (repo / "examples").symlink_to(REPO_ROOT / "examples")
    python = repo / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    os.utime(repo / "pyproject.toml", (time.time() - 3600, time.time() - 3600))
    (repo / ".venv" / ".stamp-run").touch()
    env = user_env(tmp_path, COLUMNS="200")
    del env["DATA_DIR"]  # the Makefile chooses the demo's folder
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return repo, env


def make(repo: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    """``make *args`` in ``repo``; output through a file (the daemon logs a lot)."""
    log = repo.parent / "make.log"
    with log.open("wb") as out:
        code = subprocess.run(
            ["make", "--no-print-directory", *args],
            cwd=repo,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
        ).returncode
    return code, log.read_text(errors="replace")


def in_a_shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def summary_figure(output: str, name: str) -> str:
    match = re.search(rf"│ {re.escape(name)}\s+│\s+(.+?)\s+│", output)
    assert match is not None, output[-3000:]
    return match.group(1)


def test_make_run_twice_starts_fresh_then_status_backtest_clean(tmp_path: Path) -> None:
    repo, env = fake_checkout(tmp_path)
    code, first = make(repo, env, "run", "SAMPLE_SYMBOLS=SPY")
    assert code == 0, first[-3000:]
    assert (repo / "data" / "demo" / "trades.db").is_file()  # the demo's own folder
    assert not (repo / "data" / "trades.db").exists()  # never the live ./data databases
    trades = summary_figure(first, "trades (all runs in DATA_DIR)")
    assert summary_figure(first, "sessions run") == "60"
    assert int(trades) > 0

    hint = HINT.search(first)
    assert hint is not None, first[-2000:]
    assert hint.group(1).startswith("DATA_DIR=data/demo ")
    shown = in_a_shell(hint.group(1), repo, env)  # the printed command, typed as it is
    assert shown.returncode == 0, shown.stderr
    assert "from the databases" in shown.stdout and "replay" in shown.stdout

    code, second = make(repo, env, "run", "SAMPLE_SYMBOLS=SPY")
    assert code == 0, second[-3000:]
    assert summary_figure(second, "sessions run") == "60"
    assert summary_figure(second, "trades (all runs in DATA_DIR)") == trades  # not doubled
    assert "nothing replayed" not in second

    code, status = make(repo, env, "status")
    assert code == 0 and "from the databases" in status, status[-2000:]

    code, backtest = make(repo, env, "backtest", "SAMPLE_SYMBOLS=SPY")
    assert code == 0, backtest[-3000:]
    assert (repo / "results" / "demo_backtest.json").is_file()
    assert (repo / "results" / "demo_backtest.html").is_file()
    # the backtest (quiet stretches taken in at once) trades as the replay (every bar)
    replayed = stored_round_trips(repo / "data" / "demo")
    assert len(replayed) == int(trades)
    assert reported_round_trips(repo / "results" / "demo_backtest.json") == replayed

    code, cleaned = make(repo, env, "clean")
    assert code == 0, cleaned
    assert not (repo / "data").exists()
    assert not (repo / "results").exists()
    assert not (repo / ".venv").exists()
    assert (repo / "examples" / "data" / "SPY_5m.csv").is_file()  # the sample stays


def test_a_replay_run_again_says_it_was_complete_and_how_to_start_over(tmp_path: Path) -> None:
    env = user_env(tmp_path, COLUMNS="200")
    data = Path(env["DATA_DIR"])
    first = bot(tmp_path, "run", "--replay", str(SAMPLE), *WINDOW, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "nothing replayed" not in first.stdout
    trades = trades_in(data)

    again = bot(tmp_path, "run", "--replay", str(SAMPLE), *WINDOW, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert trades_in(data) == trades
    note = [line for line in again.stdout.splitlines() if "nothing replayed" in line]
    assert len(note) == 1, again.stdout
    assert str(data) in note[0] and f"rm -rf {data}" in note[0]
    assert "2025-06-06 16:00 EDT" in note[0]  # the last bar it holds

    hint = HINT.search(again.stdout)
    assert hint is not None, again.stdout
    assert hint.group(1).startswith(f"DATA_DIR={data} {sys.executable} -m")
    shell_env = {k: v for k, v in env.items() if k != "DATA_DIR"}  # a new shell
    shown = in_a_shell(hint.group(1), tmp_path, shell_env)
    assert shown.returncode == 0 and "from the databases" in shown.stdout, shown.stderr


def test_a_state_db_a_kill_left_without_its_schema_does_not_stop_the_next_run(
    tmp_path: Path,
) -> None:
    """``kill -9`` between creating ``state.db`` and committing its schema (version 0)."""
    env = user_env(tmp_path)
    data = Path(env["DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(data / RunStateStore.FILENAME) as conn:  # what the open had done
        conn.execute("PRAGMA journal_mode=WAL")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    conn.close()
    done = bot(tmp_path, "run", "--replay", str(SAMPLE), *WINDOW, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    clean_env = user_env(tmp_path / "clean")  # the same replay in a new DATA_DIR
    clean = bot(tmp_path, "run", "--replay", str(SAMPLE), *WINDOW, env=clean_env)
    assert clean.returncode == 0, clean.stderr[-3000:]
    assert stored_round_trips(data) == stored_round_trips(Path(clean_env["DATA_DIR"]))
    again = bot(tmp_path, "run", "--replay", str(SAMPLE), *WINDOW, env=env)
    assert again.returncode == 0 and "nothing replayed" in again.stdout, again.stderr[-3000:]


def test_live_on_a_replay_folder_and_replays_of_other_folders_refuse(tmp_path: Path) -> None:
    env = user_env(tmp_path)
    data = Path(env["DATA_DIR"])
    done = bot(tmp_path, "run", "--replay", str(SAMPLE), *WINDOW, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert noted_mode(data) == f"replay:{SAMPLE.resolve()}"
    before = sources_in(data)

    live = bot(tmp_path, "run", env=env)
    line = one_error_line(live, f"DATA_DIR {data}", f"replay of {SAMPLE.resolve()}", "live run")
    assert "--allow-mode-change" in line
    assert sources_in(data) == before  # nothing written, nothing started

    other = tmp_path / "bars"
    other.mkdir()
    shutil.copy(SAMPLE / "AAPL_5m.csv", other / "AAPL_5m.csv")
    refused = bot(tmp_path, "run", "--replay", str(other), *WINDOW, env=env)
    one_error_line(refused, f"replay of {other.resolve()} run", "--allow-mode-change")

    allowed = bot(tmp_path, "run", "--replay", str(other), *WINDOW, "--allow-mode-change", env=env)
    assert allowed.returncode == 0, allowed.stderr[-3000:]
    assert noted_mode(data) == f"replay:{other.resolve()}"  # the folder is now that replay's
    back = bot(tmp_path, "run", "--replay", str(SAMPLE), *WINDOW, env=env)
    one_error_line(back, f"belongs to a replay of {other.resolve()}")


def test_a_replay_on_a_live_folder_refuses(tmp_path: Path) -> None:
    env = user_env(tmp_path)
    data = Path(env["DATA_DIR"])
    state = RunStateStore.in_data_dir(data, LiveClock())
    claim_folder_mode(state, data, FolderMode.live())  # what a live run notes at start-up
    state.close()
    refused = bot(tmp_path, "run", "--replay", str(SAMPLE), *WINDOW, env=env)
    one_error_line(refused, f"DATA_DIR {data} belongs to a live", "--allow-mode-change")
    assert not (data / "trades.db").exists()


def test_progress_elapsed_time_counts_from_the_start_of_the_run() -> None:
    out = io.StringIO()
    with SessionProgress(Console(file=out, width=120, force_terminal=False)) as progress:
        time.sleep(1.2)  # start-up, warm-up, the first session...
        progress.update(1, 1, 78)
    assert "0:00:01" in out.getvalue(), out.getvalue()
