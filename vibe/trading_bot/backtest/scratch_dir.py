"""Where a backtest's throw-away stores live: in RAM (``/dev/shm``) when it has room.

A backtest runs the daemon with its ``DATA_DIR`` in a temporary folder that is
deleted after the run (:mod:`.runner`); its SQLite stores are scratch files
(``synchronous=OFF``, units of work grouped into few commits:
:mod:`~vibe.trading_bot.storage.commit_group`). Each commit still writes its pages
to the WAL through the file system. On this project's reference machine a commit on
a disk-backed ``/tmp`` cost about 100 µs of CPU, and a backtest of the SPY 1-minute
year with 246 trades made about 1,100 commits before they were grouped; on
``/dev/shm`` (tmpfs, Linux's shared-memory file system) an ``optimize`` trial took
0.10-0.17 s less CPU time (of 1.0-1.3 s).

``/dev/shm`` is used only when it has room for the worst case, since a full file
system would stop the run ("database or disk is full"): the stores hold about 6 KB
per trade (1.45 MB for those 246 trades, metrics and logs included), so the space
asked for is :data:`BYTES_PER_SYMBOL_DAY` per symbol and calendar day (four times a
trade a day) plus :data:`HEADROOM_BYTES`. Docker's default ``/dev/shm`` (64 MB) is
therefore too small for any backtest and the disk is used, as it is when ``TMPDIR``
is set (the user chose where temporary files go) or ``/dev/shm`` is missing or not
writable. As in ``/tmp``, the folder is removed when the run ends, Ctrl-C included;
only a process killed outright (``kill -9``) leaves it behind, and ``/dev/shm`` is
emptied at the next boot.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: Linux's RAM-backed file system for shared memory (tmpfs).
SHARED_MEMORY = Path("/dev/shm")  # noqa: S108 - a RAM folder for files deleted after the run
#: Bytes asked per symbol and calendar day: four trades' worth of records (~6 KB each).
BYTES_PER_SYMBOL_DAY = 32 * 1024
#: Bytes asked on top, whatever the size of the run.
HEADROOM_BYTES = 64 * 1024 * 1024


def scratch_parent(
    symbols: int,
    days: int,
    *,
    candidate: Path = SHARED_MEMORY,
    environ: Mapping[str, str] = os.environ,
) -> Path | None:
    """The folder to create the backtest's temporary ``DATA_DIR`` in; ``None``: the default.

    Args:
        symbols: number of symbols traded.
        days: calendar days from the first to the last session (inclusive).
        candidate: the RAM-backed folder to prefer.
        environ: the environment (``TMPDIR`` set means the user's choice stands).

    Returns:
        ``candidate`` when it is a writable folder with at least
        ``HEADROOM_BYTES + symbols * days * BYTES_PER_SYMBOL_DAY`` bytes free, else
        ``None`` (``tempfile``'s default folder).
    """
    if environ.get("TMPDIR"):
        return None
    needed = HEADROOM_BYTES + max(symbols, 1) * max(days, 1) * BYTES_PER_SYMBOL_DAY
    try:
        stats = os.statvfs(candidate)
    except OSError:
        return None
    if not candidate.is_dir() or not os.access(candidate, os.W_OK | os.X_OK):
        return None
    return candidate if stats.f_bavail * stats.f_frsize >= needed else None
