"""LogStore: the service's log lines in ``logs.db`` (table ``service_logs``).

Lines normally arrive through :class:`~vibe.trading_bot.storage.log_handler.SQLiteLogHandler`,
which batches them off the caller's thread. ``cleanup_old_logs`` deletes lines
older than ``retention_days`` (by the injected clock) in small batches so the
write lock is never held for long; the daemon runs it periodically. Methods are
blocking (use ``asyncio.to_thread`` from async code).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from vibe.common.clock import Clock
from vibe.common.errors import InvalidInputError
from vibe.common.models import require_quantity
from vibe.trading_bot.storage.sqlite import (
    DEFAULT_BUSY_TIMEOUT_MS,
    SQLiteStore,
    from_iso,
    to_iso,
)

DEFAULT_FILENAME = "logs.db"
DEFAULT_RETENTION_DAYS = 3
CLEANUP_BATCH_ROWS = 5_000

LOGS_V1 = """
CREATE TABLE service_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp TEXT NOT NULL,
    level TEXT NOT NULL,
    logger TEXT NOT NULL,
    message TEXT NOT NULL,
    extra_data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_service_logs_timestamp ON service_logs (timestamp);
"""

#: Forward migrations of ``logs.db``; index ``i`` takes version ``i`` to ``i + 1``.
LOG_MIGRATIONS: tuple[str, ...] = (LOGS_V1,)

_INSERT = (
    "INSERT INTO service_logs (timestamp, level, logger, message, extra_data) "
    "VALUES (?, ?, ?, ?, ?)"
)
#: Rows per multi-row INSERT: binds all values in one call and runs one statement,
#: instead of a Python round trip per row (``executemany``).
_CHUNK_ROWS = 100
_INSERT_CHUNK = _INSERT + ", (?, ?, ?, ?, ?)" * (_CHUNK_ROWS - 1)
_DELETE_BATCH = (
    "DELETE FROM service_logs WHERE id IN "
    "(SELECT id FROM service_logs WHERE timestamp < ? ORDER BY timestamp LIMIT ?)"
)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One stored log line.

    Attributes:
        level: ``DEBUG`` .. ``CRITICAL`` (upper case).
        logger: logger name, e.g. ``vibe.trading_bot.execution``.
        message: the event text.
        extra_data: structured key/values of the event (JSON-serialisable).
        timestamp: when it was logged, tz-aware UTC (``None`` = the store clock's now).
        id: row id once stored.
    """

    level: str
    logger: str
    message: str
    extra_data: Mapping[str, Any] = field(default_factory=dict)
    timestamp: datetime | None = None
    id: int | None = None


def encode_extra(extra_data: Mapping[str, Any] | None) -> str:
    """Compact JSON of ``extra_data``; values JSON cannot encode are stored as ``str()``."""
    if not extra_data:
        return "{}"
    return json.dumps(extra_data, default=str, ensure_ascii=False, separators=(",", ":"))


def _level(level: str) -> str:
    if not isinstance(level, str) or not level:
        raise InvalidInputError(f"level={level!r}; expected a level name such as INFO")
    return level.upper()


class LogStore(SQLiteStore):
    """Service log lines in one SQLite file (default ``DATA_DIR/logs.db``).

    Args:
        path: the database file (created with its parent folder when missing).
        clock: gives default timestamps and "now" for retention.
        retention_days: lines older than this many days are removed by
            :meth:`cleanup_old_logs` (``LOG_RETENTION_DAYS``, default 3).
        busy_timeout_ms: how long a writer waits for the file lock, in milliseconds.
        read_only: open an existing file for reading only (the dashboard API).
        scratch: a file thrown away after the run (a backtest's): never synced to disk.

    Raises:
        InvalidInputError: ``retention_days`` is not a whole number > 0.
        StorageError: the file exists but is not a readable database of this bot.
    """

    FILENAME = DEFAULT_FILENAME
    MIGRATIONS = LOG_MIGRATIONS

    def __init__(
        self,
        path: Path,
        clock: Clock,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        *,
        read_only: bool = False,
        scratch: bool = False,
    ) -> None:
        self.retention_days = require_quantity("retention_days", retention_days)
        super().__init__(path, clock, busy_timeout_ms, read_only=read_only, scratch=scratch)

    def insert_log(
        self,
        level: str,
        logger: str,
        message: str,
        extra_data: Mapping[str, Any] | None = None,
        timestamp: datetime | None = None,
    ) -> int:
        """Store one line (committed on return) and return its id.

        Raises:
            InvalidInputError: empty level or a naive timestamp; nothing is written.
        """
        row = self._row(LogLine(level, logger, message, extra_data or {}, timestamp))
        with self.db.transaction() as conn:
            cursor = conn.execute(_INSERT, row)
        return int(cursor.lastrowid or 0)

    def insert_many(self, lines: Iterable[LogLine]) -> int:
        """Store many lines in one transaction; all or nothing.

        Returns:
            The number of lines written.

        Raises:
            InvalidInputError: a bad line (named); nothing is written.
        """
        rows = [self._row(line) for line in lines]
        self.insert_rows(rows)
        return len(rows)

    def insert_rows(self, rows: list[tuple[str, str, str, str, str]]) -> None:
        """Store pre-encoded ``(timestamp_iso, LEVEL, logger, message, extra_json)`` rows.

        The fast path of the log handler's writer thread; the caller guarantees the
        encoding (:func:`~vibe.trading_bot.storage.sqlite.to_iso`, :func:`encode_extra`).
        """
        full = len(rows) - len(rows) % _CHUNK_ROWS
        with self.db.transaction() as conn:
            for start in range(0, full, _CHUNK_ROWS):
                chunk = rows[start : start + _CHUNK_ROWS]
                conn.execute(_INSERT_CHUNK, [value for row in chunk for value in row])
            conn.executemany(_INSERT, rows[full:])

    def get_logs(
        self,
        level: str | None = None,
        logger: str | None = None,
        since: datetime | None = None,
        limit: int | None = 100,
    ) -> list[LogLine]:
        """Stored lines, newest first.

        Args:
            level: only this level (case-insensitive), e.g. ``ERROR``.
            logger: only this logger name (exact).
            since: only lines at or after this time (tz-aware).
            limit: at most this many (> 0); ``None`` for all.

        Raises:
            InvalidInputError: naive ``since`` or a limit <= 0.
        """
        clauses: list[str] = []
        params: list[Any] = []
        for clause, value in (
            ("level = ?", None if level is None else _level(level)),
            ("logger = ?", logger),
            ("timestamp >= ?", None if since is None else to_iso(since)),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        # where: fixed clauses above; values are bound parameters
        sql = "SELECT * FROM service_logs" + where + " ORDER BY timestamp DESC, id DESC"  # noqa: S608
        if limit is not None:
            params.append(require_quantity("limit", limit))
            sql += " LIMIT ?"
        return [_line(row) for row in self.db.query(sql, params)]

    def count(self) -> int:
        """Rows in ``service_logs``."""
        return int(self.db.query("SELECT count(*) FROM service_logs")[0][0])

    def cleanup_old_logs(self) -> int:
        """Delete lines older than ``retention_days`` before the clock's now.

        Deletes in batches of :data:`CLEANUP_BATCH_ROWS`, one short transaction each.

        Returns:
            The number of lines deleted.
        """
        cutoff = to_iso(self._clock.now() - timedelta(days=self.retention_days))
        deleted = 0
        while True:
            with self.db.transaction() as conn:
                removed = conn.execute(_DELETE_BATCH, (cutoff, CLEANUP_BATCH_ROWS)).rowcount
            deleted += removed
            if removed < CLEANUP_BATCH_ROWS:
                return deleted

    def _row(self, line: LogLine) -> tuple[str, str, str, str, str]:
        stamp = self._clock.now() if line.timestamp is None else line.timestamp
        return (
            to_iso(stamp),
            _level(line.level),
            str(line.logger),
            str(line.message),
            encode_extra(line.extra_data),
        )


def _line(row: Any) -> LogLine:
    return LogLine(
        level=row["level"],
        logger=row["logger"],
        message=row["message"],
        extra_data=json.loads(row["extra_data"]),
        timestamp=from_iso(row["timestamp"]),
        id=row["id"],
    )
