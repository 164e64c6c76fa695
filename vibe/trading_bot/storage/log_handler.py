"""A ``logging.Handler`` that ships log records into :class:`LogStore` without blocking.

The caller's thread only appends the record to a bounded in-memory buffer (about
a microsecond; a ``deque`` whose ``append`` is atomic under the GIL, so the caller
takes no lock). Two background threads drain it: one renders batches of records
into rows, the other inserts each batch in one transaction (SQLite releases the
GIL while it works, so rendering and inserting overlap). When the buffer is full
the record is dropped and counted (:attr:`SQLiteLogHandler.dropped`, for
``/metrics``) instead of making the trading loop wait for the disk; with several
logging threads the bound may be overshot by at most one record per thread.

``flush()`` waits until everything queued so far is written; ``close()`` writes
the backlog, stops the threads and is called by ``configure_logging`` when it
replaces handlers and by ``logging.shutdown`` at exit.

Plug it in with ``configure_logging(..., extra_handlers=[handler])``. It takes
both structlog events (``ProcessorFormatter.wrap_for_formatter`` passes the event
dict as ``record.msg``) and plain stdlib records. Rendering happens on the writer
thread: the ``event`` becomes ``message``, the other keys ``extra_data``, and
secrets are redacted with the same :class:`SecretRedactor` rules as stdout.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import sys
import threading
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from vibe.common.errors import InvalidInputError, VibeError
from vibe.trading_bot.config.logging_config import SECRET_PATTERNS, SecretRedactor
from vibe.trading_bot.core.health_reporter import HealthReporter
from vibe.trading_bot.storage.log_store import LogStore

DEFAULT_QUEUE_SIZE = 10_000
DEFAULT_BATCH_SIZE = 1_000
CLOSE_TIMEOUT_SECONDS = 10.0
IDLE_WAKE_SECONDS = 1.0

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
Row = tuple[str, str, str, str, str]
_DROPPED_KEYS = ("event", "timestamp", "level", "logger", "exc_info", "stack_info")
_FORMATTER = logging.Formatter()
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False, separators=(",", ":"))
#: Every pattern in SECRET_PATTERNS needs one of these literal substrings to match.
_PATTERN_ANCHORS = ("=", "/api/webhooks/")


def _anchored(pattern: str) -> bool:
    return any(anchor in pattern for anchor in _PATTERN_ANCHORS)


def _has_anchor(text: str) -> bool:
    return "=" in text or "/api/webhooks/" in text


def _always(text: str) -> bool:
    return True


# Fall back to always running the regexes if a pattern without an anchor is ever added.
_MAY_MATCH_PATTERN = (
    _has_anchor if all(_anchored(p.pattern) for p, _ in SECRET_PATTERNS) else _always
)


class _Flush:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()


def _capture_exc_info(msg: Any) -> ExcInfo | None:
    """On the caller's thread: the exception a structlog event asks to be logged."""
    value = msg.get("exc_info") if isinstance(msg, dict) else None
    if not value:
        return None
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if isinstance(value, tuple):
        return value
    info = sys.exc_info()
    return None if info[1] is None else info


class SQLiteLogHandler(logging.Handler):
    """Non-blocking handler writing records to a :class:`LogStore` from a background thread.

    Args:
        store: destination; its file is written only by the writer thread.
        queue_size: records buffered before new ones are dropped (``LOG_QUEUE_SIZE``,
            default 10,000).
        batch_size: most records written per transaction.
        secrets: secret values to redact (e.g. ``AppSettings.secret_values()``);
            secret-shaped substrings (webhook tokens, ``token=``) are redacted regardless.
        level: minimum level stored (``logging.INFO`` etc.); default: everything the
            root logger passes on.
        health: told about failed batch writes (``record_error``), when given.

    Raises:
        InvalidInputError: ``queue_size`` or ``batch_size`` is not > 0.
    """

    def __init__(
        self,
        store: LogStore,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        secrets: Iterable[str] = (),
        level: int = logging.NOTSET,
        health: HealthReporter | None = None,
    ) -> None:
        super().__init__(level)
        if queue_size <= 0 or batch_size <= 0:
            raise InvalidInputError(
                f"queue_size={queue_size!r}, batch_size={batch_size!r}; expected both > 0"
            )
        known = [s for s in secrets if s]
        # also match secrets as they appear inside JSON text (quotes, backslashes escaped)
        self._secrets = tuple({*known, *(json.dumps(s)[1:-1] for s in known)})
        self._redactor = SecretRedactor(self._secrets)
        self._store = store
        self._batch_size = batch_size
        self._health = health
        # A deque bounded by a length check: append/popleft are atomic under the GIL, so
        # the caller takes no lock; the writer is woken only when it is idle.
        self._buffer: deque[Any] = deque()
        self._capacity = queue_size
        self._idle = False
        self._wake = threading.Event()
        self._counter_lock = threading.Lock()
        self._dropped = 0
        self._written = 0
        self._failed = 0
        self._closed = False
        self._abandon = False
        self._stamp_second = -1
        self._stamp_prefix = ""
        # converter (Python work) and committer (SQLite work) overlap: one batch in flight
        self._commits: queue.Queue[tuple[list[Row], list[_Flush], bool]] = queue.Queue(1)
        self._writer = threading.Thread(target=self._run, name="sqlite-log-render", daemon=True)
        self._committer = threading.Thread(
            target=self._commit_loop, name="sqlite-log-commit", daemon=True
        )
        self._writer.start()
        self._committer.start()

    @property
    def dropped(self) -> int:
        """Records dropped because the buffer was full or the handler was closed."""
        return self._dropped

    @property
    def written(self) -> int:
        """Records committed to the store."""
        return self._written

    @property
    def failed(self) -> int:
        """Records lost because a batch write failed (reported to ``health``)."""
        return self._failed

    @property
    def queue_depth(self) -> int:
        """Records waiting for the writer (approximate)."""
        return len(self._buffer)

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter and enqueue, without the handler lock (the buffer is thread-safe)."""
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Enqueue ``record`` (with any exception being logged); drop and count when full."""
        if self._closed:
            self._count_drop()
            return
        if len(self._buffer) >= self._capacity:
            self._count_drop()
            return
        self._buffer.append((record, _capture_exc_info(record.msg)))
        if self._idle:
            self._wake.set()

    def flush(self, timeout: float = CLOSE_TIMEOUT_SECONDS) -> None:
        """Wait (up to ``timeout`` seconds) until every record queued so far is written."""
        if not self._writer.is_alive():
            return
        marker = _Flush()
        self._signal(marker)
        marker.done.wait(timeout)

    def close(self, timeout: float = CLOSE_TIMEOUT_SECONDS) -> None:
        """Write what is queued, stop the writer threads and detach. Idempotent.

        Records logged after ``close`` are dropped (and counted). If the backlog is not
        written within ``timeout`` seconds, the rest is dropped and counted, and ``close``
        then waits for the batch being committed (bounded by the store's busy timeout),
        so that the caller can close the store safely afterwards.
        """
        if not self._closed:
            self._closed = True
            if self._writer.is_alive():
                self._signal(_STOP)
                self._writer.join(timeout)
                self._committer.join(timeout)
            if self._committer.is_alive():
                self._abandon = True
                self._writer.join(timeout)
                self._committer.join()
        super().close()

    # ------------------------------------------------------------ writer side

    def _count_drop(self) -> None:
        with self._counter_lock:
            self._dropped += 1

    def _signal(self, marker: object) -> None:
        self._buffer.append(marker)  # markers are never dropped, whatever the length
        self._wake.set()

    def _take_batch(self) -> list[Any]:
        while not self._buffer:
            self._idle = True
            if not self._buffer:  # re-check: emit() may have appended before seeing _idle
                self._wake.wait(IDLE_WAKE_SECONDS)
            self._wake.clear()
            self._idle = False
        popleft = self._buffer.popleft
        batch = []
        with contextlib.suppress(IndexError):
            for _ in range(self._batch_size):
                batch.append(popleft())
        return batch

    def _run(self) -> None:
        """Converter thread: take a batch off the buffer, render rows, hand them on."""
        stop = False
        while not stop:
            batch = self._take_batch()
            rows: list[Row] = []
            flushes: list[_Flush] = []
            for item in batch:
                if item is _STOP:
                    stop = True
                elif isinstance(item, _Flush):
                    flushes.append(item)
                else:
                    self._convert(item, rows)
            self._commits.put((rows, flushes, stop))

    def _commit_loop(self) -> None:
        """Committer thread: insert each batch (SQLite releases the GIL while it works)."""
        stop = False
        while not stop:
            rows, flushes, stop = self._commits.get()
            if rows:
                self._write(rows)
            for marker in flushes:
                marker.done.set()

    def _convert(self, item: tuple[logging.LogRecord, ExcInfo | None], rows: list[Row]) -> None:
        if self._abandon:
            self._count_drop()
            return
        try:
            rows.append(self._to_row(*item))
        except Exception:  # a record that cannot be rendered must not stop the writer
            self._failed += 1

    def _write(self, rows: list[Row]) -> None:
        if self._abandon:
            for _ in rows:
                self._count_drop()
            return
        try:
            self._store.insert_rows(rows)
        except VibeError as exc:
            self._failed += len(rows)
            if self._health is not None:
                self._health.record_error(f"log store write of {len(rows)} lines failed: {exc}")
        else:
            self._written += len(rows)

    def _to_row(self, record: logging.LogRecord, exc_info: ExcInfo | None) -> Row:
        msg = record.msg
        if isinstance(msg, dict):
            message = str(msg.get("event", ""))
            extra = {k: v for k, v in msg.items() if k not in _DROPPED_KEYS}
        else:
            message = record.getMessage()
            extra = {}
        exc_info = exc_info or record.exc_info  # type: ignore[assignment]
        if exc_info:
            extra["exception"] = _FORMATTER.formatException(exc_info)
        stamp = self._stamp(record.created)
        extra_json = _ENCODER.encode(extra) if extra else "{}"
        return (
            stamp,
            record.levelname,
            record.name,
            self._redact(message),
            self._redact(extra_json),
        )

    def _stamp(self, created: float) -> str:
        """``created`` (UNIX seconds) as :func:`to_iso` text; the date part is cached per second."""
        second = int(created)
        if second != self._stamp_second:
            self._stamp_second = second
            self._stamp_prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        micros = min(999_999, round((created - second) * 1e6))
        return f"{self._stamp_prefix}.{micros:06d}+00:00"

    def _redact(self, text: str) -> str:
        # SecretRedactor's regexes cost microseconds per string; a text without any of
        # their literal anchors and without a known secret cannot match, so skip them.
        if _MAY_MATCH_PATTERN(text) or (
            self._secrets and any(secret in text for secret in self._secrets)
        ):
            return self._redactor.redact(text)
        return text
