"""One SQLite database file, opened the same way by every store.

Conventions (shared by the trade, metrics, log and outbox stores):

* ``journal_mode=WAL``: readers never block the writer and vice versa.
* ``synchronous=NORMAL``: in WAL mode a commit is durable against a process
  crash (``kill -9``) because the WAL is written before ``COMMIT`` returns;
  only an OS crash or power loss can lose the last transactions, in exchange
  for not fsyncing on every commit (SQLite docs, "PRAGMA synchronous").
* ``busy_timeout``: a writer waits for the lock instead of failing at once.
* One connection per thread (``sqlite3`` objects are not shared across threads).
* Every write runs inside :meth:`SQLiteDatabase.transaction` (``BEGIN IMMEDIATE``).
* Schema versions live in ``PRAGMA user_version``; migrations run forward only.
* Timestamps are stored as ISO-8601 UTC text (:func:`to_iso`).
* An existing file that cannot be opened raises :class:`StorageError` naming
  it; it is never silently recreated.
* ``read_only=True`` (``show-status``) opens an existing file without writing
  anything: no folder or file is created, no migration runs, no write is
  allowed. On a read-only file system (or a read-only copy) where SQLite cannot
  create the WAL index (``-shm``), the file is opened as immutable.

why-large: the conventions every store shares (connection, WAL, schema versions,
transactions, checkpoints, time columns); splitting them would scatter one contract.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

from vibe.common.clock import Clock, LiveClock
from vibe.common.errors import InvalidInputError, StorageError, TemporaryError
from vibe.common.models import require_aware
from vibe.trading_bot.storage import crash_point
from vibe.trading_bot.storage.commit_group import CommitGroup, GroupUnit

DEFAULT_BUSY_TIMEOUT_MS = 10_000
_CHECKPOINT_MODES = frozenset({"PASSIVE", "FULL", "RESTART", "TRUNCATE"})


def to_iso(value: datetime) -> str:
    """Render a tz-aware datetime as ISO-8601 UTC text (``2025-07-03T13:30:00.000000+00:00``).

    Fixed width with microseconds, so text order equals time order in SQL comparisons.

    Raises:
        InvalidInputError: ``value`` is naive.
    """
    aware = require_aware("timestamp", value).astimezone(UTC)
    return aware.isoformat(timespec="microseconds")


def from_iso(text: str) -> datetime:
    """Parse text written by :func:`to_iso` back into a tz-aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def _cause(exc: sqlite3.Error, path: Path) -> str:
    """SQLite's message, plus why the folder refuses the file when that is the reason.

    SQLite says only "unable to open database file"; a read-only file system or a
    folder without write permission is what a user has to fix.
    """
    text = str(exc)
    folder = path.parent
    if "unable to open" not in text or not folder.is_dir():
        return text
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"{text}: {folder} is on a read-only file system"
    except OSError:
        return text
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{text}: no write permission on {folder}"
    return text


def translate_error(exc: sqlite3.Error, path: Path) -> Exception:
    """Map an ``sqlite3`` exception to the project's tree, naming the file.

    ``database is locked`` / ``busy`` become :class:`TemporaryError` (retryable);
    everything else (corrupt file, not a database, constraint violations, disk
    full) becomes :class:`StorageError`.
    """
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return TemporaryError(f"{path}: {text}")
    return StorageError(f"{path}: {text}")


class SQLiteDatabase:
    """A SQLite file with thread-local connections and forward migrations.

    Args:
        path: database file; its parent directory is created when missing.
        migrations: SQL scripts; script ``i`` takes the schema from version ``i`` to ``i+1``.
        busy_timeout_ms: how long a writer waits for the lock, in milliseconds.
        wal_autocheckpoint: ``PRAGMA wal_autocheckpoint`` for every connection, in WAL
            pages; ``0`` turns automatic checkpoints off (the owner then calls
            :meth:`checkpoint`); ``None`` keeps SQLite's default (1000 pages).
        page_size: page size in bytes (a power of two, 512..65536) for a NEW file;
            smaller pages mean fewer WAL bytes per small write. An existing file
            keeps its page size. ``None`` keeps SQLite's default (4096).
        journal_size_limit: ``PRAGMA journal_size_limit`` in bytes: when the WAL
            restarts, its file is cut back to this size (or to its live content);
            ``None`` keeps SQLite's default (never cut back).
        read_only: open an existing file for reading only (see the module doc).
        scratch: a file thrown away after the run (a backtest's stores in a temporary
            folder): ``synchronous=OFF``, nothing is synced to the disk, not even by
            checkpoints (an OS crash may corrupt it; a process crash does not: SQLite
            docs, "PRAGMA synchronous"); and the units of work of the thread that
            opened it are grouped into few commits
            (:mod:`~vibe.trading_bot.storage.commit_group`).

    Raises:
        StorageError: the file exists but is not a readable SQLite database, or its
            schema version is newer than ``len(migrations)``; read-only: the file is
            missing or its schema is older than ``len(migrations)``.
    """

    def __init__(
        self,
        path: Path,
        migrations: Sequence[str],
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        wal_autocheckpoint: int | None = None,
        page_size: int | None = None,
        journal_size_limit: int | None = None,
        *,
        read_only: bool = False,
        scratch: bool = False,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.scratch = scratch
        self._immutable = False
        self._migrations = tuple(migrations)
        self._busy_timeout_ms = busy_timeout_ms
        self._wal_autocheckpoint = wal_autocheckpoint
        self._page_size = page_size
        self._journal_size_limit = journal_size_limit
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._group = CommitGroup(self.path) if scratch and not read_only else None
        if read_only:
            if not self.path.is_file():
                raise StorageError(f"{self.path}: no such database file")
            self._check_version(self.connection())
            return
        self._create_parent()
        self._migrate()

    def _create_parent(self) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the folder {folder} for {self.path.name}: {exc.strerror or exc}"
            ) from exc

    @property
    def schema_version(self) -> int:
        """The schema version stored in ``PRAGMA user_version``."""
        return int(self.connection().execute("PRAGMA user_version").fetchone()[0])

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode; use :meth:`transaction` to write).

        Raises:
            StorageError: the database is closed or the file cannot be opened.
        """
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self._closed:
            raise StorageError(f"{self.path}: database is closed")
        conn = self._open()
        self._local.conn = conn
        with self._lock:
            self._all.append(conn)
        if self._group is not None:
            self._group.adopt(conn)
        return conn

    def _open(self) -> sqlite3.Connection:
        if self.read_only:
            return self._open_read_only()
        try:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self._busy_timeout_ms / 1000,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            if self._page_size is not None:  # before WAL mode creates the file; else no-op
                conn.execute(f"PRAGMA page_size={int(self._page_size)}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={'OFF' if self.scratch else 'NORMAL'}")
            conn.execute("PRAGMA foreign_keys=ON")
            if self._wal_autocheckpoint is not None:
                conn.execute(f"PRAGMA wal_autocheckpoint={int(self._wal_autocheckpoint)}")
            if self._journal_size_limit is not None:
                conn.execute(f"PRAGMA journal_size_limit={int(self._journal_size_limit)}")
        except sqlite3.Error as exc:
            raise StorageError(
                f"{self.path}: cannot open database ({_cause(exc, self.path)})"
            ) from exc
        return conn

    def _open_read_only(self) -> sqlite3.Connection:
        """``mode=ro``; where the WAL index cannot be created, ``immutable=1``."""
        quoted = urllib.parse.quote(str(self.path.resolve()))
        error: sqlite3.Error | None = None
        for options in ("mode=ro", "mode=ro&immutable=1"):
            if self._immutable and "immutable" not in options:
                continue
            try:
                conn = sqlite3.connect(
                    f"file:{quoted}?{options}",
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                    timeout=self._busy_timeout_ms / 1000,
                )
                conn.row_factory = sqlite3.Row
                conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # probe
            except sqlite3.Error as exc:
                error = exc
                continue
            self._immutable = "immutable" in options
            return conn
        raise StorageError(f"{self.path}: cannot open database read-only ({error})") from error

    def transaction(self) -> Transaction:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolls back on any exception.

        Returns:
            The block (``with db.transaction() as conn: ...``); it gives this
            thread's connection, inside the transaction.

        Raises:
            TemporaryError: the database stayed locked past the busy timeout.
            StorageError: the database is read-only, or any other SQLite failure
                (the transaction is rolled back).
        """
        return Transaction(self)

    def unit_group(self, conn: sqlite3.Connection) -> CommitGroup | None:
        """The commit group ``conn``'s units join (a scratch database's owner), else ``None``."""
        group = self._group
        return group if group is not None and group.owns(conn) else None

    def begin(self, conn: sqlite3.Connection) -> None:
        """Begin a unit of work on ``conn`` (this thread's connection): ``BEGIN IMMEDIATE``.

        Grouped (a scratch database's owner): a savepoint in the group's transaction.

        Raises:
            TemporaryError: the database stayed locked past the busy timeout.
            StorageError: any other SQLite failure.
        """
        group = self.unit_group(conn)
        try:
            if group is not None:
                group.begin(conn)
            else:
                conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise translate_error(exc, self.path) from exc

    def commit(self, conn: sqlite3.Connection) -> None:
        """End the unit of work open on ``conn`` (this thread's connection): ``COMMIT``.

        Grouped (a scratch database's owner): the savepoint's release.

        Raises:
            StorageError | TemporaryError: the commit failed.
        """
        group = self.unit_group(conn)
        try:
            if group is not None:
                group.release(conn)
                return
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise translate_error(exc, self.path) from exc
        crash_point.committed(self.path)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Run a read query on this thread's connection and return all rows.

        Raises:
            StorageError | TemporaryError: translated SQLite errors.
        """
        try:
            return self.connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise translate_error(exc, self.path) from exc

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """Run ``PRAGMA wal_checkpoint(mode)`` on this thread's connection.

        ``PASSIVE`` (the default) copies what it can from the WAL into the database
        without waiting for, or blocking, readers and the writer.

        Args:
            mode: ``PASSIVE``, ``FULL``, ``RESTART`` or ``TRUNCATE``.

        Returns:
            ``(busy, wal_frames, checkpointed_frames)`` as SQLite reports them:
            ``busy`` is 1 when a blocking mode could not finish; the frame counts are
            the WAL's size and how much of it is now in the database file (pages).

        Raises:
            InvalidInputError: an unknown mode.
            StorageError | TemporaryError: translated SQLite errors.
        """
        if mode not in _CHECKPOINT_MODES:
            raise InvalidInputError(
                f"checkpoint mode={mode!r}; expected one of {sorted(_CHECKPOINT_MODES)}"
            )
        row = self.query(f"PRAGMA wal_checkpoint({mode})")[0]
        return int(row[0]), int(row[1]), int(row[2])

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: ``"ok"`` for a healthy file, else SQLite's findings."""
        rows = self.query("PRAGMA integrity_check")
        return "\n".join(str(row[0]) for row in rows)

    def close(self) -> None:
        """Commit grouped units, checkpoint the WAL and close every connection. Idempotent.

        Raises:
            StorageError: grouped units could not be committed (the connections are
                closed all the same).
        """
        try:
            if self._group is not None:
                self._group.close()
        finally:
            self._close_connections()

    def _close_connections(self) -> None:
        with self._lock:
            connections, self._all = self._all, []
            self._closed = True
        for conn in connections:
            # another connection may hold the lock; closing is what matters
            if not self.read_only:
                with suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            conn.close()
        self._local = threading.local()

    def _check_version(self, conn: sqlite3.Connection) -> int:
        try:
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StorageError(f"{self.path}: not a readable SQLite database ({exc})") from exc
        if current > len(self._migrations):
            self.close()
            raise StorageError(
                f"{self.path}: schema version {current} is newer than this version of the "
                f"bot supports ({len(self._migrations)}); upgrade the bot"
            )
        if self.read_only and current < len(self._migrations):
            self.close()
            raise StorageError(
                f"{self.path}: schema version {current} is older than this version of the "
                f"bot reads ({len(self._migrations)}); run the bot once with write access"
            )
        return current

    def _migrate(self) -> None:
        conn = self.connection()
        current = self._check_version(conn)
        for version in range(current, len(self._migrations)):
            self._apply(conn, version + 1, self._migrations[version])

    def _apply(self, conn: sqlite3.Connection, version: int, script: str) -> None:
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\n;PRAGMA user_version={version};\nCOMMIT;"
            )
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            message = f"{self.path}: migration to version {version} failed ({exc})"
            raise StorageError(message) from exc


def store_path(path: Path | str | None, db_path: Path | str | None, filename: str) -> Path:
    """The database file of a store, given positionally (``path``) or as ``db_path=``.

    Args:
        path: the positional argument of the store's constructor.
        db_path: the keyword argument (``TradeStore(db_path="./data/trades.db")``).
        filename: the store's usual file name, for the error message.

    Raises:
        InvalidInputError: neither is given, or both are given and differ.
    """
    if path is not None and db_path is not None and Path(path) != Path(db_path):
        raise InvalidInputError(f"path={str(path)!r} and db_path={str(db_path)!r}; expected one")
    chosen = path if path is not None else db_path
    if chosen is None:
        raise InvalidInputError(f"no database file given; expected db_path, e.g. ./data/{filename}")
    return Path(chosen)


class SQLiteStore:
    """Base of the stores: owns one :class:`SQLiteDatabase` as ``self.db`` and a clock.

    A store names its file (``FILENAME``, under ``DATA_DIR``) and its schema
    (``MIGRATIONS``); stores with more options extend ``__init__``.

    Args:
        path: the database file (created with its parent folder when missing); or
            give it as ``db_path=``.
        clock: record times (e.g. ``created_at``); default :class:`LiveClock` (the
            wall clock, UTC). Replays and tests pass their simulated clock.
        busy_timeout_ms: how long a writer waits for the file lock, in milliseconds.
        read_only: open an existing file for reading only (``show-status``).
        db_path: the database file, as a keyword (``MetricsStore(db_path="./data/metrics.db")``).
        scratch: a file thrown away after the run: never synced to the disk
            (:class:`SQLiteDatabase`).

    Raises:
        InvalidInputError: no file given, or ``path`` and ``db_path`` differ.
        StorageError: the file exists but is not a readable database of this bot
            (read-only: or it is missing).
    """

    FILENAME: ClassVar[str]
    MIGRATIONS: ClassVar[Sequence[str]]
    db: SQLiteDatabase

    def __init__(
        self,
        path: Path | str | None = None,
        clock: Clock | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        *,
        read_only: bool = False,
        db_path: Path | str | None = None,
        scratch: bool = False,
    ) -> None:
        file = store_path(path, db_path, self.FILENAME)
        self.db = SQLiteDatabase(
            file, self.MIGRATIONS, busy_timeout_ms, read_only=read_only, scratch=scratch
        )
        self._clock: Clock = clock if clock is not None else LiveClock()

    @classmethod
    def in_data_dir(cls, data_dir: Path, clock: Clock, **options: Any) -> Self:
        """Open ``data_dir / FILENAME`` (``options`` go to the store's constructor)."""
        return cls(Path(data_dir) / cls.FILENAME, clock, **options)

    @property
    def path(self) -> Path:
        """The database file."""
        return self.db.path

    def close(self) -> None:
        """Checkpoint and close the file. Idempotent."""
        self.db.close()


class Transaction:
    """The block of :meth:`SQLiteDatabase.transaction` (see there).

    Ungrouped: ``BEGIN IMMEDIATE`` on entry; ``COMMIT`` when the block ends, or
    ``ROLLBACK`` when an exception leaves it (a SQLite error translated). Grouped (a
    scratch database's owner): a :class:`~.commit_group.CommitGroup` unit. A class
    rather than a ``@contextmanager`` generator: every unit of work enters one
    (thousands per backtest), and a generator's block costs a few microseconds more
    each time (its ``StopIteration``).
    """

    __slots__ = ("_conn", "_db", "_unit")

    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db
        self._conn: sqlite3.Connection  # set on entry
        self._unit: GroupUnit | None = None

    def __enter__(self) -> sqlite3.Connection:
        db = self._db
        if db.read_only:
            raise StorageError(f"{db.path}: opened read-only; nothing can be written")
        conn = self._conn = db.connection()
        group = db.unit_group(conn)
        if group is None:
            db.begin(conn)
            return conn
        unit = self._unit = group.unit(conn)
        try:
            unit.__enter__()
        except sqlite3.Error as exc:
            raise translate_error(exc, db.path) from exc
        return conn

    def __exit__(
        self,
        typ: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._conn
        if self._unit is not None:
            try:
                self._unit.__exit__(typ, exc, tb)
            except sqlite3.Error as err:
                raise translate_error(err, self._db.path) from err
            self._translate(exc)
            return
        if exc is not None:
            self._roll_back(conn, exc)
            return
        try:
            self._db.commit(conn)
        except BaseException as err:
            self._roll_back(conn, err)
            raise

    def _roll_back(self, conn: sqlite3.Connection, exc: BaseException) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        self._translate(exc)

    def _translate(self, exc: BaseException | None) -> None:
        """Raise ``exc`` translated when it is a SQLite error (else the caller's goes on)."""
        if isinstance(exc, sqlite3.Error):
            raise translate_error(exc, self._db.path) from exc
