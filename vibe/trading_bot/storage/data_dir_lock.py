"""One daemon per ``DATA_DIR``: an exclusive lock file held for the daemon's life.

Two daemons on one ``DATA_DIR`` would both write the same databases and count
each other's trades. ``run`` and ``run --replay`` therefore take an exclusive
``fcntl.flock`` on ``DATA_DIR/daemon.lock`` before anything else opens a file
there, and write their pid into it. The kernel releases the lock when the
process ends in any way, ``kill -9`` included, so a stale file never blocks a
restart. ``show-status`` and ``backtest`` (throw-away stores) take no lock.

POSIX only (``fcntl``), like the daemon's deployment (Linux containers).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from vibe.common.errors import StorageError

LOCK_FILENAME = "daemon.lock"


class DataDirInUseError(StorageError):
    """Another live process holds the ``DATA_DIR`` lock.

    Attributes:
        data_dir: the folder.
        holder_pid: the pid written by the holder, or ``None`` when it could not be read.
    """

    def __init__(self, data_dir: Path, holder_pid: int | None) -> None:
        self.data_dir = data_dir
        self.holder_pid = holder_pid
        holder = f"pid {holder_pid}" if holder_pid is not None else "pid unknown"
        super().__init__(
            f"DATA_DIR {data_dir} is in use by another daemon ({holder}); "
            "stop it or set another DATA_DIR"
        )


class DataDirLock:
    """The exclusive lock on one ``DATA_DIR`` (a context manager).

    Args:
        data_dir: the daemon's data folder; created when missing.

    Raises:
        DataDirInUseError: on :meth:`acquire`, when another process holds the lock.
        StorageError: on :meth:`acquire`, when the folder or lock file cannot be created.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / LOCK_FILENAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock without waiting and write this process's pid into the lock file.

        Raises:
            DataDirInUseError: another process holds it (names the folder and its pid).
            StorageError: the folder or the lock file cannot be created or written.
        """
        if self._fd is not None:
            return
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot create the lock file {self.path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise DataDirInUseError(self.data_dir, holder) from None
        except OSError as exc:
            os.close(fd)
            raise StorageError(f"cannot lock {self.path}: {exc}") from exc
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:
            os.close(fd)
            raise StorageError(f"cannot write the pid into {self.path}: {exc}") from exc
        self._fd = fd

    def release(self) -> None:
        """Empty the pid and drop the lock (idempotent). The file stays: deleting it would race."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass  # the lock goes with the descriptor anyway
        finally:
            os.close(fd)

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int, tries: int = 10) -> int | None:
    """The holder's pid; retried briefly, as the holder writes it just after locking."""
    for _ in range(tries):
        try:
            text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
        except OSError:
            return None
        if text.isdigit():
            return int(text)
        time.sleep(0.02)
    return None
