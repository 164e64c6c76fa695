"""WalCheckpointer: keeps a WAL database's log bounded without checkpointing on the hot path.

SQLite's automatic checkpoint runs inside the ``COMMIT`` that crosses 1,000 WAL
pages, on the writer's thread, and with ``synchronous=NORMAL`` it fsyncs the WAL
and the database file: a commit that normally takes tens of microseconds then
takes milliseconds. Even on another thread, a checkpoint's fsyncs slow the
writer's commits on the same disk. A store that owns a :class:`WalCheckpointer`
opens its database with ``wal_autocheckpoint=0`` and
``journal_size_limit=wake_bytes`` and reports each commit to
:meth:`WalCheckpointer.committed`, which is a counter increment, except that
every ``CHECK_EVERY`` commits it looks at the WAL file's size (one ``stat``):

* each time the file has grown by ``wake_bytes``, a background thread is asked
  for a ``PASSIVE`` checkpoint. It runs it on its own connection once the writer
  has been quiet (no commit) for ``quiet_seconds``: a trading service is idle
  between bars and signals almost all the time, so checkpoints land there and not
  under an order. Once everything is copied, the next write starts the WAL again
  from its beginning and SQLite cuts the file back to ``journal_size_limit``, so
  the file's size follows the WAL's content;
* when the file reaches ``max_wal_bytes`` (a burst with no quiet moment), the
  commit that sees it runs one ``TRUNCATE`` checkpoint inline: it copies the WAL
  into the database, fsyncs and empties the WAL file. This bounds the WAL (and
  the crash-recovery time) whatever the load, at the price of one slow commit per
  ``max_wal_bytes`` written without a pause.

Checkpoints of one database are serialised by a lock: SQLite refuses a second
concurrent checkpoint at once (``SQLITE_BUSY``, no busy handler). The quiet wait
is a sleep of the background thread (``threading.Event.wait``), not a clock read.

Durability is unchanged: a transaction is durable (against ``kill -9``) when its
frames are in the WAL, which is before ``COMMIT`` returns; checkpoints only move
committed pages from the WAL into the database file (SQLite docs, "Write-Ahead
Logging", sections 3 and 4).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from vibe.common.errors import InvalidInputError, VibeError
from vibe.trading_bot.storage.sqlite import SQLiteDatabase
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)

DEFAULT_WAKE_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_WAL_BYTES = 64 * 1024 * 1024
DEFAULT_QUIET_SECONDS = 0.05
CHECK_EVERY = 8  # commits between two looks at the WAL file's size


class WalCheckpointer:
    """Background ``PASSIVE`` checkpoints in quiet moments, an inline ``TRUNCATE`` at the cap.

    Args:
        db: the database; open it with ``wal_autocheckpoint=0`` and
            ``journal_size_limit=wake_bytes``.
        wake_bytes: WAL file growth, in bytes, that asks for a background checkpoint.
        max_wal_bytes: WAL file size, in bytes, at which a commit checkpoints inline.
        quiet_seconds: how long the writer must be quiet before a background pass.

    Raises:
        InvalidInputError: a threshold below 1, or ``max_wal_bytes < wake_bytes``.
    """

    def __init__(
        self,
        db: SQLiteDatabase,
        wake_bytes: int = DEFAULT_WAKE_BYTES,
        max_wal_bytes: int = DEFAULT_MAX_WAL_BYTES,
        quiet_seconds: float = DEFAULT_QUIET_SECONDS,
    ) -> None:
        for name, value in (("wake_bytes", wake_bytes), ("max_wal_bytes", max_wal_bytes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"{name}={value!r}; expected a whole number >= 1")
        if max_wal_bytes < wake_bytes:
            raise InvalidInputError(
                f"max_wal_bytes={max_wal_bytes} is below wake_bytes={wake_bytes}; "
                "expected max_wal_bytes >= wake_bytes"
            )
        self._db = db
        self._wal = Path(f"{db.path}-wal")
        self._wake_bytes = wake_bytes
        self._max_bytes = max_wal_bytes
        self._quiet = quiet_seconds
        self._commits = 0  # since the last size check
        self._total = 0  # every commit, for the quiet test
        self._last_size = 0
        self._next_wake = wake_bytes
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._running = threading.Lock()  # one checkpoint at a time
        self._thread: threading.Thread | None = None
        self.background_runs = 0
        self.inline_runs = 0
        self.wal_high_water = 0  # largest WAL file size seen, bytes
        self.last_result: tuple[int, int, int] | None = None

    def committed(self) -> None:
        """Count one commit of the writer; call it right after each ``COMMIT``.

        Raises:
            StorageError | TemporaryError: only from the inline checkpoint at the cap.
        """
        self._total += 1
        self._commits += 1
        if self._commits < CHECK_EVERY or self._stop.is_set():
            return
        self._commits = 0
        size = self.wal_file_size()
        if size < self._last_size:  # restarted and cut back, or truncated: count from here
            self._next_wake = size + self._wake_bytes
        self._last_size = size
        self.wal_high_water = max(self.wal_high_water, size)
        if size >= self._max_bytes:
            self.inline_runs += 1
            with self._running:
                self.last_result = self._db.checkpoint("TRUNCATE")
        elif size >= self._next_wake:
            self._next_wake = size + self._wake_bytes
            self._ask_background()

    def wal_file_size(self) -> int:
        """Size of the ``-wal`` file in bytes (0 when there is none)."""
        try:
            return os.stat(self._wal).st_size
        except OSError:
            return 0

    def checkpoint(self) -> tuple[int, int, int]:
        """Run a ``PASSIVE`` checkpoint now, on the caller's thread (e.g. at session end).

        Waits for a background pass that is running.

        Returns:
            ``(busy, wal_frames, checkpointed_frames)`` (see :meth:`SQLiteDatabase.checkpoint`).

        Raises:
            StorageError | TemporaryError: translated SQLite errors.
        """
        with self._running:
            self.last_result = self._db.checkpoint()
        return self.last_result

    def close(self) -> None:
        """Stop the background thread (waits for a running checkpoint). Idempotent."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _ask_background(self) -> None:
        if self._thread is None:
            name = f"wal-checkpoint-{self._db.path.name}"
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if not self._wait_for_quiet():
                return
            try:
                with self._running:
                    self.last_result = self._db.checkpoint()
            except VibeError as exc:  # the next growth asks again; never kill the writer
                path = str(self._db.path)
                _log.warning("background checkpoint failed", path=path, error=str(exc))
                continue
            self.background_runs += 1

    def _wait_for_quiet(self) -> bool:
        """Sleep until a whole ``quiet_seconds`` passes without a commit; False when stopping."""
        while True:
            seen = self._total
            if self._stop.wait(self._quiet):
                return False
            if self._total == seen:
                return True
