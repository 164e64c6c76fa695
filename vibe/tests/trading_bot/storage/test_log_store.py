"""LogStore queries and retention, and the non-blocking SQLite log handler."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.errors import InvalidInputError
from vibe.trading_bot.config.logging_config import REDACTED, configure_logging
from vibe.trading_bot.core.health_reporter import RecordingHealthReporter
from vibe.trading_bot.storage import log_store as log_store_module
from vibe.trading_bot.storage.log_handler import SQLiteLogHandler
from vibe.trading_bot.storage.log_store import LogLine, LogStore
from vibe.trading_bot.storage.sqlite import from_iso, to_iso
from vibe.trading_bot.utils.logger import get_logger

T0 = datetime(2025, 7, 3, 13, 30, tzinfo=UTC)
WEBHOOK = "https://discord.com/api/webhooks/123/hook-token-xyz"


@pytest.fixture
def clock():
    return SimulatedClock(T0)


@pytest.fixture
def store(tmp_path, clock):
    s = LogStore(tmp_path / "logs.db", clock)
    yield s
    s.close()


def _at(minutes):
    return T0 + timedelta(minutes=minutes)


def test_insert_and_every_filter(store, clock):
    a = store.insert_log("info", "vibe.exec", "order sent", {"qty": 100}, _at(0))
    b = store.insert_log("ERROR", "vibe.exec", "order rejected", {"reason": "bp"}, _at(1))
    c = store.insert_log("INFO", "vibe.data", "bar", None, _at(2))
    clock.advance(180)
    d = store.insert_log("warning", "vibe.data", "stale feed")  # clock's now: minute 3

    def ids(**kw):
        return [line.id for line in store.get_logs(**kw)]

    assert ids() == [d, c, b, a]  # newest first
    assert ids(level="info") == [c, a]
    assert ids(level="ERROR") == [b]
    assert ids(logger="vibe.data") == [d, c]
    assert ids(since=_at(1)) == [d, c, b]
    assert ids(level="INFO", logger="vibe.data", since=_at(2)) == [c]
    assert ids(limit=2) == [d, c]
    assert ids(limit=None) == [d, c, b, a]
    first = store.get_logs(level="error")[0]
    assert first == LogLine("ERROR", "vibe.exec", "order rejected", {"reason": "bp"}, _at(1), b)
    assert store.get_logs(logger="vibe.data")[0].timestamp == _at(3)
    with pytest.raises(InvalidInputError, match="limit"):
        store.get_logs(limit=0)


def test_insert_many_is_all_or_nothing(store):
    good = LogLine("INFO", "x", "fine", {}, _at(0))
    naive = LogLine("INFO", "x", "bad time", {}, datetime(2025, 7, 3))  # noqa: DTZ001
    with pytest.raises(InvalidInputError, match="naive"):
        store.insert_many([good, naive])
    assert store.count() == 0
    assert store.insert_many([good, good]) == 2
    assert store.count() == 2


def test_unserialisable_extra_data_is_stored_as_text(store):
    store.insert_log("INFO", "x", "m", {"when": _at(0), "obj": object}, _at(0))
    extra = store.get_logs()[0].extra_data
    assert extra["when"] == str(_at(0))
    assert "object" in extra["obj"]


def test_cleanup_honours_retention_days_with_simulated_clock(tmp_path, clock, monkeypatch):
    monkeypatch.setattr(log_store_module, "CLEANUP_BATCH_ROWS", 4)  # exercise batching
    store = LogStore(tmp_path / "logs.db", clock, retention_days=3)
    for hours in range(0, 24 * 5, 6):  # one line every 6 h for 5 days: 20 lines
        store.insert_log("INFO", "x", f"h{hours}", None, T0 + timedelta(hours=hours))
    clock.advance_to(T0 + timedelta(days=5))
    # cutoff = day 2 exactly: lines at hours 0..42 (8 lines) are older
    assert store.cleanup_old_logs() == 8
    remaining = store.get_logs(limit=None)
    assert len(remaining) == 12
    stamps = [line.timestamp for line in remaining if line.timestamp is not None]
    assert min(stamps) == T0 + timedelta(days=2)
    assert store.cleanup_old_logs() == 0
    clock.advance(24 * 3600)
    assert store.cleanup_old_logs() == 4
    store.close()


def test_retention_days_must_be_positive(tmp_path, clock):
    with pytest.raises(InvalidInputError, match="retention_days"):
        LogStore(tmp_path / "logs.db", clock, retention_days=0)


# ----------------------------------------------------------------- the handler


@pytest.fixture
def handler_and_store(store):
    handler = SQLiteLogHandler(store, secrets=["s3cr3t-pass"])
    try:
        configure_logging("INFO", "json", secrets=["s3cr3t-pass"], extra_handlers=[handler])
        yield handler, store
    finally:
        configure_logging("INFO", "console")  # closes (and flushes) the handler
        handler.close()


def test_structlog_and_stdlib_records_land_redacted(handler_and_store, capsys):
    handler, store = handler_and_store
    log = get_logger("vibe.test.exec", component="executor")
    log.info("order filled", symbol="SPY", quantity=100, price=512.25, url=WEBHOOK)
    log.warning("login with s3cr3t-pass", nested={"pw": "s3cr3t-pass"})
    logging.getLogger("httpx").info("POST %s 204", WEBHOOK)
    try:
        raise ValueError("bad s3cr3t-pass")
    except ValueError:
        log.exception("sync failed")
    log.debug("below the root level")
    handler.flush()
    capsys.readouterr()

    lines = list(reversed(store.get_logs(limit=None)))
    assert [line.level for line in lines] == ["INFO", "WARNING", "INFO", "ERROR"]
    filled = lines[0]
    assert (filled.logger, filled.message) == ("vibe.test.exec", "order filled")
    assert filled.extra_data["symbol"] == "SPY"
    assert filled.extra_data["quantity"] == 100
    assert filled.extra_data["component"] == "executor"
    assert filled.extra_data["url"].endswith(REDACTED)
    assert "event" not in filled.extra_data and "timestamp" not in filled.extra_data
    assert lines[2].logger == "httpx"
    assert "hook-token-xyz" not in lines[2].message
    assert "ValueError" in lines[3].extra_data["exception"]
    everything = repr([(line.message, line.extra_data) for line in lines])
    assert "s3cr3t-pass" not in everything and "hook-token-xyz" not in everything
    assert (handler.written, handler.dropped, handler.failed) == (4, 0, 0)


def test_timestamps_follow_the_record(store):
    handler = SQLiteLogHandler(store)
    record = logging.LogRecord("x", logging.INFO, "", 0, "hello %s", ("you",), None)
    record.created = T0.timestamp() + 0.123456
    handler.handle(record)
    handler.close()
    line = store.get_logs()[0]
    assert line.message == "hello you"
    assert to_iso(line.timestamp) == "2025-07-03T13:30:00.123456+00:00"
    assert from_iso(to_iso(line.timestamp)) == line.timestamp


def test_full_queue_drops_and_counts_without_blocking(tmp_path, clock):
    store = LogStore(tmp_path / "logs.db", clock)
    handler = SQLiteLogHandler(store, queue_size=5, batch_size=1)
    blocker = sqlite3.connect(tmp_path / "logs.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer cannot commit while this is held
    try:
        for i in range(50):
            handler.handle(logging.LogRecord("x", logging.INFO, "", 0, f"m{i}", (), None))
        assert handler.dropped > 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    handler.flush()
    assert handler.written + handler.dropped == 50
    assert store.count() == handler.written
    handler.close()
    handler.handle(logging.LogRecord("x", logging.INFO, "", 0, "late", (), None))
    assert handler.written + handler.dropped == 51
    store.close()


def test_failed_batch_is_counted_and_reported(tmp_path, clock):
    store = LogStore(tmp_path / "logs.db", clock)
    health = RecordingHealthReporter()
    handler = SQLiteLogHandler(store, health=health)
    store.close()  # every write now fails
    handler.handle(logging.LogRecord("x", logging.INFO, "", 0, "lost", (), None))
    handler.flush()
    assert handler.failed == 1
    assert health.errors and "logs.db" in health.errors[0]
    handler.close()


def test_close_flushes_and_is_idempotent(store):
    handler = SQLiteLogHandler(store)
    for i in range(1_000):
        handler.handle(logging.LogRecord("x", logging.INFO, "", 0, f"m{i}", (), None))
    handler.close()
    handler.close()
    assert store.count() == 1_000 == handler.written


def test_handler_level_filters(store):
    handler = SQLiteLogHandler(store, level=logging.WARNING)
    logger = logging.getLogger("vibe.test.levels")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        logger.info("skip")
        logger.error("keep")
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert [line.message for line in store.get_logs()] == ["keep"]


def test_bad_sizes_are_refused(store):
    with pytest.raises(InvalidInputError, match="queue_size"):
        SQLiteLogHandler(store, queue_size=0)


def test_close_with_a_stuck_disk_drops_the_backlog_and_counts_it(tmp_path, clock):
    store = LogStore(tmp_path / "logs.db", clock, busy_timeout_ms=1_000)
    health = RecordingHealthReporter()
    handler = SQLiteLogHandler(store, batch_size=10, health=health)
    blocker = sqlite3.connect(tmp_path / "logs.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        for i in range(100):
            handler.handle(logging.LogRecord("x", logging.INFO, "", 0, f"m{i}", (), None))
        handler.close(timeout=0.2)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert handler.written + handler.failed + handler.dropped == 100
    assert handler.dropped > 0
    store.close()
