"""UnitOfWork: several writes of one store in one transaction, with actions run after commit.

A store's write methods run inside :meth:`UnitOfWork.batch`. Outside any batch,
each write is its own ``BEGIN IMMEDIATE`` ... ``COMMIT`` (as before); inside a
caller's ``with store.batch():`` block, every write of that thread joins one
transaction, committed when the outermost block ends and rolled back entirely
when an exception leaves it (all or nothing). One commit instead of several
means fewer WAL frames (a page changed by several writes is written once) and
one fsync-free ``COMMIT`` per unit.

Writes report what they need to remember *after* the commit (e.g. which rows
are stored) as post-commit actions: they run only once the data is durable, and
are dropped on rollback. After each commit the optional
:class:`~.wal_checkpointer.WalCheckpointer` is told about it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from vibe.common.errors import VibeError
from vibe.trading_bot.storage.sqlite import SQLiteDatabase, Transaction, translate_error
from vibe.trading_bot.storage.wal_checkpointer import WalCheckpointer
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)


@dataclass(slots=True)
class Batch:
    """The open transaction of one thread.

    Attributes:
        conn: the thread's connection, inside ``BEGIN IMMEDIATE``.
        after_commit: actions to run once the transaction has committed, in order.
    """

    conn: sqlite3.Connection
    after_commit: list[Callable[[], None]] = field(default_factory=list)


class UnitOfWork:
    """Per-thread shared transactions on one database.

    Args:
        db: the database.
        checkpointer: told about every commit; ``None`` leaves checkpoints to SQLite.
    """

    def __init__(self, db: SQLiteDatabase, checkpointer: WalCheckpointer | None = None) -> None:
        self._db = db
        self._checkpointer = checkpointer
        self._local = threading.local()

    @property
    def active(self) -> Batch | None:
        """This thread's open batch, or ``None``."""
        batch: Batch | None = getattr(self._local, "batch", None)
        return batch

    def batch(self) -> BatchBlock:
        """Join this thread's open batch, or open one that commits when the block ends.

        Returns:
            The block (``with work.batch() as batch: ...``); it gives the batch,
            whose connection is inside the transaction.

        Raises:
            TemporaryError: the database stayed locked past the busy timeout.
            StorageError: the commit failed; everything in the batch is rolled back.
        """
        return BatchBlock(self)

    def open_batch(self) -> tuple[Transaction, Batch]:
        """Begin this thread's batch (:meth:`batch`'s entry when none is open).

        Raises:
            TemporaryError | StorageError: the ``BEGIN`` failed.
        """
        transaction = self._db.transaction()
        batch = Batch(transaction.__enter__())
        self._local.batch = batch
        return transaction, batch

    def close_batch(
        self, transaction: Transaction, batch: Batch, exc: BaseException | None
    ) -> None:
        """End the batch :meth:`open_batch` began: commit it (``exc`` is ``None``) or roll back.

        Raises:
            StorageError | TemporaryError: the commit failed (all rolled back); or
                ``exc`` translated when it is a SQLite error.
        """
        self._local.batch = None
        transaction.__exit__(None if exc is None else type(exc), exc, None)
        if exc is None:
            self._committed(batch)

    def flush(self) -> None:
        """Commit this thread's open batch now and continue it in a new transaction.

        For a write that must be durable before the caller acts on it (e.g. an order
        stored as pending before it is sent). No-op outside a batch.

        Raises:
            StorageError | TemporaryError: the commit, or the next ``BEGIN``, failed.
        """
        batch = self.active
        if batch is None:
            return
        self._db.commit(batch.conn)
        self._committed(batch)
        self._db.begin(batch.conn)

    def run(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        """Execute one statement in this thread's batch (open one around the call).

        Raises:
            StorageError | TemporaryError: translated SQLite errors (the batch's
                transaction is rolled back when the error leaves the batch).
        """
        with self.batch() as batch:
            return self.execute(batch, sql, params)

    def execute(
        self, batch: Batch, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> sqlite3.Cursor:
        """Execute one statement on ``batch``'s connection, translating SQLite errors.

        Raises:
            StorageError | TemporaryError: translated SQLite errors.
        """
        try:
            return batch.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise translate_error(exc, self._db.path) from exc

    def _committed(self, batch: Batch) -> None:
        actions, batch.after_commit = batch.after_commit, []
        for action in actions:
            action()
        if self._checkpointer is None or batch.conn.in_transaction:
            return  # a grouped scratch unit: nothing was written to the WAL yet
        try:
            self._checkpointer.committed()
        except VibeError as exc:  # the data is committed; a late checkpoint is not a failure
            _log.warning("inline checkpoint failed", path=str(self._db.path), error=str(exc))


class BatchBlock:
    """The block of :meth:`UnitOfWork.batch`: joins the thread's open batch or opens one.

    A class rather than a ``@contextmanager`` generator: every store write enters
    one (thousands per backtest, most of them joining), and a generator's block
    costs a few microseconds more each time (its ``StopIteration``).
    """

    __slots__ = ("_batch", "_transaction", "_work")

    def __init__(self, work: UnitOfWork) -> None:
        self._work = work
        self._transaction: Transaction | None = None

    def __enter__(self) -> Batch:
        batch = self._work.active
        if batch is None:  # the outermost block: it owns the transaction
            self._transaction, batch = self._work.open_batch()
        self._batch = batch
        return batch

    def __exit__(
        self,
        typ: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._transaction is not None:
            self._work.close_batch(self._transaction, self._batch, exc)
