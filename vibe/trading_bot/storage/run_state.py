"""The daemon's progress marks in ``DATA_DIR/state.db``: where a run resumes after a restart.

Two kinds of mark, keyed by the data source (``live`` or ``replay:<folder>``):

* the **bar cursor**: the end time of the last bar group the loop finished
  (every bar of that timestamp went through the exchange, the strategy and the
  executor). A restart feeds bars up to the cursor to the strategy only (to
  rebuild its state) and trades the bars after it, so no bar is traded twice.
* the **last closed session**: the ET date whose after-close work (daily
  summary, daily metrics, log cleanup, cloud sync) is done, so a restart after
  the close does not send the summary twice.
* the **last summarised session**: the ET date whose daily summary alert was
  handed to the notifier, so a restart inside the after-close work resumes it
  without a second summary.

The newest bar cursor over every source is the daemon's *progress mark*
(:func:`stored_progress`): cloud snapshots carry it, and it decides at start-up
whether the local databases or the cloud's are newer.

Orders, fills and positions are not here: they live in ``trades.db`` and are
rebuilt from it by the order manager.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date, datetime
from pathlib import Path

from vibe.common.errors import StorageError
from vibe.trading_bot.storage.sqlite import (
    SQLiteStore,
    from_iso,
    to_iso,
)

DEFAULT_FILENAME = "state.db"
STATE_V1 = """
CREATE TABLE run_state (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source, key)
) WITHOUT ROWID;
"""
#: Where the outcome of the last cloud sync is noted (source, key).
SYNC_NOTE = ("daemon", "last_cloud_sync")
_CURSOR = "last_bar_end"
_CLOSED = "last_closed_session"
_SUMMARISED = "last_summarised_session"


class RunStateStore(SQLiteStore):
    """Bar cursor and closed-session marks per data source.

    Args (see :class:`~vibe.trading_bot.storage.sqlite.SQLiteStore`): ``path``,
    ``clock`` (``updated_at`` of every mark), ``busy_timeout_ms``.

    Raises:
        StorageError: the file exists but is not a readable database of this bot.
    """

    FILENAME = DEFAULT_FILENAME
    MIGRATIONS = (STATE_V1,)

    def _set(self, source: str, key: str, value: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO run_state(source, key, value, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(source, key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                (source, key, value, to_iso(self._clock.now())),
            )

    def _get(self, source: str, key: str) -> str | None:
        rows = self.db.query(
            "SELECT value FROM run_state WHERE source = ? AND key = ?", (source, key)
        )
        return str(rows[0]["value"]) if rows else None

    def set_cursor(self, source: str, bar_end: datetime) -> None:
        """Record that every bar ending at or before ``bar_end`` (tz-aware) is processed.

        Raises:
            InvalidInputError: ``bar_end`` is naive.
            StorageError | TemporaryError: the write failed (nothing is changed).
        """
        self._set(source, _CURSOR, to_iso(bar_end))

    def cursor(self, source: str) -> datetime | None:
        """End time (tz-aware UTC) of the last processed bar group, or ``None``."""
        text = self._get(source, _CURSOR)
        return from_iso(text) if text is not None else None

    def set_session_closed(self, source: str, day: date) -> None:
        """Record that the after-close work of session ``day`` (ET date) is done."""
        self._set(source, _CLOSED, day.isoformat())

    def last_closed_session(self, source: str) -> date | None:
        """The last session (ET date) whose after-close work is done, or ``None``."""
        text = self._get(source, _CLOSED)
        return date.fromisoformat(text) if text is not None else None

    def set_session_summarised(self, source: str, day: date) -> None:
        """Record that the daily summary alert of session ``day`` (ET date) was queued."""
        self._set(source, _SUMMARISED, day.isoformat())

    def last_summarised_session(self, source: str) -> date | None:
        """The last session (ET date) whose daily summary alert was queued, or ``None``."""
        text = self._get(source, _SUMMARISED)
        return date.fromisoformat(text) if text is not None else None

    def set_note(self, source: str, key: str, value: str) -> None:
        """Store a free-form mark (e.g. ``last_cloud_sync``) for ``source``."""
        self._set(source, key, value)

    def note(self, source: str, key: str) -> tuple[str, datetime] | None:
        """The mark ``key`` of ``source`` and when it was written (UTC), or ``None``."""
        rows = self.db.query(
            "SELECT value, updated_at FROM run_state WHERE source = ? AND key = ?", (source, key)
        )
        if not rows:
            return None
        return str(rows[0]["value"]), from_iso(str(rows[0]["updated_at"]))

    def latest_source(self) -> tuple[str, datetime] | None:
        """The source whose bar cursor moved last, and when (UTC), or ``None``."""
        rows = self.db.query(
            "SELECT source, updated_at FROM run_state WHERE key = ? "
            "ORDER BY updated_at DESC LIMIT 1",
            (_CURSOR,),
        )
        if not rows:
            return None
        return str(rows[0]["source"]), from_iso(str(rows[0]["updated_at"]))

    def sources(self) -> list[str]:
        """Every data source with a mark, sorted."""
        rows = self.db.query("SELECT DISTINCT source FROM run_state ORDER BY source")
        return [str(row["source"]) for row in rows]


def stored_progress(path: Path, busy_timeout_seconds: float = 10.0) -> datetime | None:
    """The progress mark of the ``state.db`` at ``path``: its newest bar cursor, any source.

    Read without opening a store (the file is never created, migrated or written),
    so it can run before the stores open and while they are open (WAL readers).

    Returns:
        The newest ``last_bar_end`` (tz-aware UTC), or ``None`` when the file, its
        table or any cursor is missing.

    Raises:
        StorageError: the file exists but is not a readable SQLite database.
    """
    if not path.is_file():
        return None
    try:
        with closing(sqlite3.connect(path, timeout=busy_timeout_seconds)) as conn:
            if not conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_state'"
            ).fetchone():
                return None
            row = conn.execute("SELECT max(value) FROM run_state WHERE key = ?", (_CURSOR,))
            value = row.fetchone()[0]
    except sqlite3.Error as exc:
        raise StorageError(f"{path}: cannot read the progress mark ({exc})") from exc
    return from_iso(str(value)) if value is not None else None
