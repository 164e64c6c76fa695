"""The DATA_DIR lock: exclusive, names the holder, released on close and on process death."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vibe.common.errors import StorageError
from vibe.tests.support import eventually_sync
from vibe.trading_bot.storage.data_dir_lock import LOCK_FILENAME, DataDirInUseError, DataDirLock

HOLD = """
import sys, time
from pathlib import Path
from vibe.trading_bot.storage.data_dir_lock import DataDirLock
lock = DataDirLock(Path(sys.argv[1]))
lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


def test_second_lock_is_refused_with_the_folder_and_pid(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    with DataDirLock(data) as first:
        assert first.held
        assert (data / LOCK_FILENAME).read_text() == f"{os.getpid()}\n"
        with pytest.raises(DataDirInUseError) as refused:
            DataDirLock(data).acquire()
        assert refused.value.holder_pid == os.getpid()
        assert str(data) in str(refused.value) and f"pid {os.getpid()}" in str(refused.value)
    assert not first.held
    with DataDirLock(data):  # released on exit: the next daemon gets it
        pass


def test_lock_file_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="cannot create the lock file"):
        DataDirLock(blocker / "data").acquire()


def test_kill_9_releases_the_lock(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, env=env
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        with pytest.raises(DataDirInUseError) as refused:
            DataDirLock(tmp_path).acquire()
        assert refused.value.holder_pid == holder.pid
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    lock = DataDirLock(tmp_path)
    eventually_sync(lambda: _try(lock), within=5)
    lock.release()


def _try(lock: DataDirLock) -> bool:
    try:
        lock.acquire()
    except DataDirInUseError:
        return False
    return True
