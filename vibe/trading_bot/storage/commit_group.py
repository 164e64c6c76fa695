"""CommitGroup: the commits of a scratch database grouped into few SQLite transactions.

A backtest's stores are scratch files, deleted after the run
(:mod:`~vibe.trading_bot.backtest.scratch_dir`): nothing in them has to survive a
crash, yet the trading code commits them as often as the daemon's own files (about
1,000 units of work for a year of SPY minute bars, most of them a few rows). A
physical ``COMMIT`` in WAL mode writes every changed page to the WAL and updates
the WAL index, so on this project's reference machine the commits alone were
~15 % of an ``optimize`` trial.

In a scratch database each unit of work (:meth:`SQLiteDatabase.transaction
<vibe.trading_bot.storage.sqlite.SQLiteDatabase.transaction>`) is therefore a
``SAVEPOINT`` inside one long ``BEGIN IMMEDIATE`` transaction: the unit's end is
``RELEASE`` (its logical commit: the trading code sees exactly what it saw before,
and its post-commit actions run at the same moments) and an exception rolls back
that unit only (``ROLLBACK TO``), as before. The long transaction is committed
every :data:`UNITS_PER_COMMIT` units (bounding the WAL an uncommitted transaction
can grow), when the database is closed, and when a second thread opens a
connection to the file (from then on every unit commits as in any database, so
another thread never reads stale rows or waits on the open transaction). SQLite
documents savepoints as transactions nested in the outer one
(https://www.sqlite.org/lang_savepoint.html).

The daemon's own files (``run``, ``run --replay``) never group their commits: each
unit of work is durable when it ends, which their crash-safety rests on.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from types import TracebackType

from vibe.common.errors import StorageError
from vibe.trading_bot.storage import crash_point

#: Units of work per physical commit of a scratch database.
UNITS_PER_COMMIT = 1000


class CommitGroup:
    """Groups the commits of one scratch database (see the module doc).

    The first connection opened (:meth:`adopt`) owns the group; only its units are
    grouped. Thread-safe: the owner's units and a second thread's first
    connection are serialized by a lock, so the group is committed between units.

    Args:
        path: the database file (for errors and crash points).
        units_per_commit: units of work between two physical commits (>= 1).
    """

    def __init__(self, path: Path, units_per_commit: int = UNITS_PER_COMMIT) -> None:
        self._path = path
        self._every = max(1, units_per_commit)
        self._owner: sqlite3.Connection | None = None
        self._ended = False
        self._lock = threading.RLock()
        self._in_unit = False
        self._savepoint = False  # the owner's unit savepoint is open
        self._units = 0  # logical commits since the last physical one

    def adopt(self, conn: sqlite3.Connection) -> None:
        """Register a new connection: the first owns the group, a second ends grouping.

        Raises:
            StorageError: committing the owner's open transaction failed.
        """
        with self._lock:
            if self._owner is None and not self._ended:
                self._owner = conn
                return
            self._end()

    def owns(self, conn: sqlite3.Connection) -> bool:
        """Whether ``conn``'s units are grouped (it owns the group, not yet ended)."""
        return conn is self._owner

    def unit(self, conn: sqlite3.Connection) -> GroupUnit:
        """One unit of work of the owner: a savepoint, released when the block ends.

        Returns:
            The block (``with group.unit(conn): ...``); it holds the group's lock
            while it runs.

        Raises:
            sqlite3.Error: from SQLite, for the caller to translate; the unit is
                rolled back. A unit begun inside another raises SQLite's own error
                for a nested ``BEGIN``, as an ungrouped database does.
            StorageError: an error made SQLite roll back the whole group (e.g. the
                disk is full), so units already ended are lost too.
        """
        return GroupUnit(self, conn)

    def enter_unit(self, conn: sqlite3.Connection) -> None:
        """Take the lock and begin a unit (:meth:`unit`'s entry; the lock stays held).

        Raises:
            sqlite3.Error: a unit is already open, or SQLite refused the savepoint
                (the lock is released).
        """
        self._lock.acquire()
        try:
            if self._in_unit:
                raise sqlite3.OperationalError("cannot start a transaction within a transaction")
            self.begin(conn)
        except BaseException:
            self._lock.release()
            raise
        self._in_unit = True

    def exit_unit(self, conn: sqlite3.Connection, exc: BaseException | None) -> None:
        """End the unit :meth:`enter_unit` began and release the lock.

        ``exc`` is the exception leaving the block (``None``: it ended normally, so
        the unit is released; else it is rolled back and ``exc`` goes on).

        Raises:
            sqlite3.Error: the release failed (the unit is rolled back).
            StorageError: SQLite had rolled back the whole group.
        """
        try:
            if exc is not None:
                self._undo(conn, exc)
                return
            try:
                self.release(conn)
            except BaseException as err:
                self._undo(conn, err)
                raise
        finally:
            self._in_unit = False
            self._lock.release()

    def release(self, conn: sqlite3.Connection) -> None:
        """End the owner's open unit: its logical commit (a physical one every so often).

        Raises:
            sqlite3.Error: from SQLite, for the caller to translate.
        """
        conn.execute("RELEASE unit")
        self._savepoint = False
        self._units += 1
        if self._units >= self._every or conn is not self._owner:  # grouping ended meanwhile
            self._commit(conn)

    def begin(self, conn: sqlite3.Connection) -> None:
        """Begin a unit of the owner (and the group's transaction when none is open).

        Raises:
            sqlite3.Error: from SQLite, for the caller to translate.
        """
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")
        conn.execute("SAVEPOINT unit")
        self._savepoint = True

    def close(self) -> None:
        """Commit what the owner's units wrote and end grouping (the database closes).

        Raises:
            StorageError: the commit failed.
        """
        with self._lock:
            self._end()

    def _commit(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("COMMIT")
            crash_point.committed(self._path)
        self._units = 0

    def _end(self) -> None:
        owner, self._owner, self._ended = self._owner, None, True
        if owner is None:
            return
        try:
            self._commit(owner)
        except sqlite3.Error as exc:
            raise StorageError(f"{self._path}: cannot commit the grouped units ({exc})") from exc

    def _undo(self, conn: sqlite3.Connection, exc: BaseException) -> None:
        if conn.in_transaction and self._savepoint:
            conn.execute("ROLLBACK TO unit")
            conn.execute("RELEASE unit")
            self._savepoint = False
            return
        if conn.in_transaction:
            raise StorageError(f"{self._path}: cannot commit the grouped units ({exc})") from exc
        lost, self._units, self._savepoint = self._units, 0, False
        raise StorageError(
            f"{self._path}: {exc}; SQLite rolled back the whole transaction, with the "
            f"{lost} earlier unit(s) of work of this backtest not yet committed"
        ) from exc


class GroupUnit:
    """The block of :meth:`CommitGroup.unit`.

    A class rather than a ``@contextmanager`` generator: a backtest enters one per
    unit of work (~1,000 per year of minute bars per store), and a generator's
    block costs a few microseconds more each time (its ``StopIteration``).
    """

    __slots__ = ("_conn", "_group")

    def __init__(self, group: CommitGroup, conn: sqlite3.Connection) -> None:
        self._group = group
        self._conn = conn

    def __enter__(self) -> None:
        self._group.enter_unit(self._conn)

    def __exit__(
        self,
        typ: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._group.exit_unit(self._conn, exc)
