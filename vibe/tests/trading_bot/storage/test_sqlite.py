"""The shared SQLite conventions: WAL, migrations, transactions, clear errors."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from vibe.common.errors import InvalidInputError, StorageError
from vibe.trading_bot.storage.sqlite import SQLiteDatabase, from_iso, to_iso

V1 = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);"
V2 = "ALTER TABLE t ADD COLUMN w INTEGER NOT NULL DEFAULT 0;"


def test_pragmas_and_migrations(tmp_path):
    db = SQLiteDatabase(tmp_path / "sub" / "x.db", [V1])
    assert db.schema_version == 1
    conn = db.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    with db.transaction() as c:
        c.execute("INSERT INTO t (v) VALUES (?)", ("a",))
    db.close()
    db2 = SQLiteDatabase(tmp_path / "sub" / "x.db", [V1, V2])
    assert db2.schema_version == 2
    assert [tuple(r) for r in db2.query("SELECT v, w FROM t")] == [("a", 0)]
    assert db2.integrity_check() == "ok"
    db2.close()


def test_scratch_file_is_never_synced(tmp_path):
    db = SQLiteDatabase(tmp_path / "x.db", [V1], scratch=True)
    conn = db.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 0  # OFF
    with db.transaction() as c:
        c.execute("INSERT INTO t (v) VALUES (?)", ("a",))
    db.close()
    again = SQLiteDatabase(tmp_path / "x.db", [V1])  # a durable opener of the same file
    assert again.connection().execute("PRAGMA synchronous").fetchone()[0] == 1
    assert [tuple(r) for r in again.query("SELECT v FROM t")] == [("a",)]
    again.close()


def test_failed_transaction_rolls_back(tmp_path):
    db = SQLiteDatabase(tmp_path / "x.db", [V1])
    with pytest.raises(StorageError, match=r"x\.db"), db.transaction() as c:
        c.execute("INSERT INTO t (v) VALUES ('kept?')")
        c.execute("INSERT INTO t (v) VALUES (NULL)")
    assert db.query("SELECT count(*) FROM t")[0][0] == 0
    with pytest.raises(RuntimeError), db.transaction() as c:
        c.execute("INSERT INTO t (v) VALUES ('x')")
        raise RuntimeError("caller failed")
    assert db.query("SELECT count(*) FROM t")[0][0] == 0
    db.close()


def test_not_a_database_is_named_and_left_alone(tmp_path):
    path = tmp_path / "trades.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match=r"trades\.db"):
        SQLiteDatabase(path, [V1])
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_newer_schema_is_refused(tmp_path):
    SQLiteDatabase(tmp_path / "x.db", [V1, V2]).close()
    with pytest.raises(StorageError, match="newer"):
        SQLiteDatabase(tmp_path / "x.db", [V1])


def test_connection_per_thread(tmp_path):
    db = SQLiteDatabase(tmp_path / "x.db", [V1])
    seen = []
    t = threading.Thread(target=lambda: seen.append(db.connection()))
    t.start()
    t.join()
    assert seen[0] is not db.connection()
    db.close()
    with pytest.raises(StorageError, match="closed"):
        db.connection()


def test_iso_round_trip_and_ordering():
    est = timezone(timedelta(hours=-5))
    t = datetime(2025, 1, 2, 9, 30, tzinfo=est)
    assert to_iso(t) == "2025-01-02T14:30:00.000000+00:00"
    assert from_iso(to_iso(t)) == t
    assert to_iso(t) < to_iso(t + timedelta(microseconds=1))
    assert from_iso(to_iso(t)).tzinfo == UTC
    with pytest.raises(InvalidInputError):
        to_iso(datetime(2025, 1, 2))  # noqa: DTZ001
