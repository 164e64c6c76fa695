"""A scratch database groups its units of work into few commits; the daemon's never do.

Every check reads the file the way another process would (a separate ``sqlite3``
connection), which sees only what SQLite really committed.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from vibe.common.errors import StorageError
from vibe.trading_bot.storage.commit_group import CommitGroup
from vibe.trading_bot.storage.sqlite import SQLiteDatabase
from vibe.trading_bot.storage.unit_of_work import UnitOfWork

V1 = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);"


def committed_rows(path: Path) -> list[str]:
    """The rows another process would read now."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return [row[0] for row in conn.execute("SELECT v FROM t ORDER BY id")]


def insert(db: SQLiteDatabase, value: str | None) -> None:
    with db.transaction() as conn:
        conn.execute("INSERT INTO t (v) VALUES (?)", (value,))


def test_daemon_database_commits_every_unit(tmp_path):
    db = SQLiteDatabase(tmp_path / "x.db", [V1])
    insert(db, "a")
    assert committed_rows(db.path) == ["a"]  # durable when the unit ends
    db.close()


def test_scratch_units_are_committed_together_and_read_back_at_once(tmp_path):
    db = SQLiteDatabase(tmp_path / "x.db", [V1], scratch=True)
    for value in "abc":
        insert(db, value)
    assert [row[0] for row in db.query("SELECT v FROM t")] == ["a", "b", "c"]  # this thread
    assert committed_rows(db.path) == []  # not yet committed for anyone else
    db.close()
    assert committed_rows(db.path) == ["a", "b", "c"]


def test_scratch_unit_that_fails_is_rolled_back_alone(tmp_path):
    db = SQLiteDatabase(tmp_path / "x.db", [V1], scratch=True)
    insert(db, "kept")
    with pytest.raises(StorageError, match=r"x\.db.*NOT NULL"), db.transaction() as conn:
        conn.execute("INSERT INTO t (v) VALUES ('undone')")
        conn.execute("INSERT INTO t (v) VALUES (NULL)")
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("INSERT INTO t (v) VALUES ('undone too')")
        raise RuntimeError("caller failed")
    insert(db, "after")
    db.close()
    assert committed_rows(db.path) == ["kept", "after"]


def test_nested_scratch_unit_is_refused_like_a_daemon_one(tmp_path):
    for scratch in (False, True):
        db = SQLiteDatabase(tmp_path / f"{scratch}.db", [V1], scratch=scratch)
        with pytest.raises(StorageError, match="within a transaction"), db.transaction():
            insert(db, "inner")
        db.close()
        assert committed_rows(db.path) == []


def test_second_thread_ends_grouping_and_reads_every_unit(tmp_path):
    db = SQLiteDatabase(tmp_path / "x.db", [V1], scratch=True)
    insert(db, "a")
    seen: list[list[str]] = []
    reader = threading.Thread(
        target=lambda: seen.append([r[0] for r in db.query("SELECT v FROM t")])
    )
    reader.start()
    reader.join()
    assert seen == [["a"]]  # its own connection, yet it reads the owner's unit
    assert committed_rows(db.path) == ["a"]
    insert(db, "b")
    assert committed_rows(db.path) == ["a", "b"]  # from now on each unit commits
    db.close()


def test_flush_ends_the_unit_and_runs_its_post_commit_actions(tmp_path):
    db = SQLiteDatabase(tmp_path / "x.db", [V1], scratch=True)
    work = UnitOfWork(db)
    done: list[str] = []
    with work.batch() as batch:
        work.execute(batch, "INSERT INTO t (v) VALUES ('sent')")
        batch.after_commit.append(lambda: done.append("sent"))
        work.flush()
        assert done == ["sent"]
        work.execute(batch, "INSERT INTO t (v) VALUES ('then')")
    with pytest.raises(RuntimeError), work.batch() as batch:
        work.execute(batch, "INSERT INTO t (v) VALUES ('before')")
        work.flush()
        work.execute(batch, "INSERT INTO t (v) VALUES ('lost')")
        raise RuntimeError("after the flush")
    db.close()
    assert committed_rows(db.path) == ["sent", "then", "before"]


def test_group_commits_every_n_units(tmp_path):
    path = tmp_path / "x.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(V1)
        group = CommitGroup(path, units_per_commit=2)
        group.adopt(conn)
        for value in "abc":
            with group.unit(conn):
                conn.execute("INSERT INTO t (v) VALUES (?)", (value,))
        assert committed_rows(path) == ["a", "b"]
        group.close()
        assert committed_rows(path) == ["a", "b", "c"]


def test_whole_group_rolled_back_by_sqlite_is_reported(tmp_path):
    db = SQLiteDatabase(tmp_path / "x.db", [V1], scratch=True)
    insert(db, "a")
    lost = r"rolled back the whole transaction.*1 earlier"
    with pytest.raises(StorageError, match=lost), db.transaction() as conn:
        conn.execute("ROLLBACK")  # what SQLite does itself on e.g. a full disk
        raise sqlite3.OperationalError("database or disk is full")
    insert(db, "b")
    db.close()
    assert committed_rows(db.path) == ["b"]
