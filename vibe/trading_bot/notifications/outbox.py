"""The durable outbox: every Discord message is on disk before anyone tries to send it.

One row per webhook body (an alert that needs several Discord messages gets
several rows, in order). Rows start ``pending``; the notifier marks a row
``sent`` only after Discord accepted it (2xx), or ``failed`` when Discord
refused the body for good (400). At start-up pending rows are sent first, in
``id`` order. The file is a :class:`~vibe.trading_bot.storage.sqlite.SQLiteDatabase`
(WAL, ``synchronous=NORMAL``): a committed row survives a process crash.

Delivery guarantee: a row is sent again after a crash only if the process died
between Discord accepting it and the ``sent`` mark being committed (a window
of one local SQLite write); otherwise each row is delivered exactly once.

Methods are blocking; async callers run them in a worker thread.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from vibe.trading_bot.storage.sqlite import SQLiteDatabase, from_iso, to_iso

OUTBOX_FILENAME = "notifications.db"

MIGRATIONS = (
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        finished_at TEXT,
        last_error TEXT
    );
    CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending';
    """,
)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One stored webhook body.

    Attributes:
        id: row id; send order.
        created_at: when it was stored, tz-aware UTC.
        kind: the alert kind (``order_filled``...).
        body: the webhook JSON body (``{"embeds": [...]}``).
        attempts: delivery attempts recorded so far.
    """

    id: int
    created_at: datetime
    kind: str
    body: dict[str, Any]
    attempts: int


class Outbox:
    """The ``outbox`` table in its own SQLite file.

    Args:
        path: database file, usually ``DATA_DIR / "notifications.db"``.

    Raises:
        StorageError: the file cannot be opened or is not an outbox database.
    """

    def __init__(self, path: Path) -> None:
        self.db = SQLiteDatabase(path, MIGRATIONS)
        self.path = self.db.path

    def add(self, kind: str, bodies: Sequence[dict[str, Any]], now: datetime) -> list[int]:
        """Store ``bodies`` (one alert's messages) as pending rows in one transaction.

        Returns:
            The new row ids, in order.

        Raises:
            StorageError | TemporaryError: the write failed (nothing was stored).
        """
        created = to_iso(now)
        with self.db.transaction() as conn:
            return [
                int(
                    conn.execute(
                        "INSERT INTO outbox (created_at, kind, body) VALUES (?, ?, ?)",
                        (created, kind, json.dumps(body, separators=(",", ":"))),
                    ).lastrowid
                    or 0
                )
                for body in bodies
            ]

    def pending(self, after_id: int = 0, limit: int = 100) -> list[OutboxEntry]:
        """Up to ``limit`` pending rows with ``id > after_id``, oldest first."""
        rows = self.db.query(
            "SELECT id, created_at, kind, body, attempts FROM outbox "
            "WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [
            OutboxEntry(
                id=int(row["id"]),
                created_at=from_iso(row["created_at"]),
                kind=str(row["kind"]),
                body=json.loads(row["body"]),
                attempts=int(row["attempts"]),
            )
            for row in rows
        ]

    def count(self, status: str = "pending") -> int:
        """Number of rows with ``status`` (``pending``, ``sent`` or ``failed``)."""
        return int(self.db.query("SELECT count(*) FROM outbox WHERE status = ?", (status,))[0][0])

    def mark_sent(self, entry_id: int, now: datetime, attempts: int) -> None:
        """Record that Discord accepted row ``entry_id`` after ``attempts`` tries."""
        self._finish(entry_id, "sent", now, attempts, None)

    def mark_failed(self, entry_id: int, now: datetime, attempts: int, error: str) -> None:
        """Record that Discord refused row ``entry_id`` for good (kept for inspection)."""
        self._finish(entry_id, "failed", now, attempts, error)

    def _finish(
        self, entry_id: int, status: str, now: datetime, attempts: int, error: str | None
    ) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET status = ?, finished_at = ?, attempts = attempts + ?, "
                "last_error = ? WHERE id = ?",
                (status, to_iso(now), attempts, error, entry_id),
            )

    def close(self) -> None:
        """Close the database file. Idempotent."""
        self.db.close()
