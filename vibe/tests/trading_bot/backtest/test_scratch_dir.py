"""A backtest's throw-away stores go to RAM (``/dev/shm``) only when it has room for them.

The chooser is asked about real folders (``tmp_path`` stands in for ``/dev/shm``);
the last test runs a real backtest and looks, while it runs, for its stores in the
folder the chooser picked.
"""

from __future__ import annotations

import asyncio
import os
from datetime import date
from pathlib import Path

import pytest

from vibe.tests.trading_bot.e2e.test_replay_daemon import SAMPLE, settings_for
from vibe.trading_bot.backtest.runner import BacktestRequest, run_backtest
from vibe.trading_bot.backtest.scratch_dir import (
    BYTES_PER_SYMBOL_DAY,
    HEADROOM_BYTES,
    SHARED_MEMORY,
    scratch_parent,
)


def free_bytes(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def test_a_writable_folder_with_room_is_chosen(tmp_path: Path) -> None:
    assert scratch_parent(7, 400, candidate=tmp_path, environ={}) == tmp_path


def test_a_folder_without_room_for_the_worst_case_is_not(tmp_path: Path) -> None:
    days = (free_bytes(tmp_path) - HEADROOM_BYTES) // BYTES_PER_SYMBOL_DAY + 1
    assert scratch_parent(1, days, candidate=tmp_path, environ={}) is None
    assert scratch_parent(1, days - 2, candidate=tmp_path, environ={}) == tmp_path


def test_tmpdir_set_by_the_user_wins(tmp_path: Path) -> None:
    chosen = {"TMPDIR": str(tmp_path / "mine")}
    assert scratch_parent(1, 10, candidate=tmp_path, environ=chosen) is None
    assert scratch_parent(1, 10, candidate=tmp_path, environ={"TMPDIR": ""}) == tmp_path


def test_a_missing_folder_or_a_file_is_not_chosen(tmp_path: Path) -> None:
    assert scratch_parent(1, 10, candidate=tmp_path / "missing", environ={}) is None
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert scratch_parent(1, 10, candidate=a_file, environ={}) is None


@pytest.mark.skipif(
    scratch_parent(3, 90) != SHARED_MEMORY, reason="no room in /dev/shm or TMPDIR set"
)
def test_a_backtest_keeps_its_stores_in_ram_while_it_runs_and_removes_them(
    shared_data: Path, tmp_path: Path
) -> None:
    seen: set[Path] = set()

    def progress(done: int, total: int, bars: int) -> None:
        # the folders of the trades.db this process has open: another test's backtest,
        # run meanwhile by another pytest worker, has its own folder in /dev/shm
        for fd in Path("/proc/self/fd").iterdir():
            try:
                target = Path(os.readlink(fd))
            except OSError:  # closed meanwhile
                continue
            folder = target.parent
            if target.name == "trades.db" and folder.parent == SHARED_MEMORY:
                assert folder.name.startswith("vibe-backtest-")
                seen.add(folder)

    symbols = ("SPY", "QQQ", "AAPL")
    settings = settings_for(tmp_path, list(symbols))
    request = BacktestRequest(
        date(2025, 6, 5), date(2025, 8, 28), symbols, "5m", shared_data / SAMPLE, {}
    )
    result = asyncio.run(run_backtest(settings, request, progress))
    assert result.trades
    assert len(seen) == 1
    assert not any(folder.exists() for folder in seen)
    assert not list(tmp_path.glob("**/trades.db"))  # the user's DATA_DIR was never written
