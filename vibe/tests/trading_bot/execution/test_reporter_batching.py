"""When buffered metrics reach the metrics database: live vs backtest batching."""

from __future__ import annotations

from datetime import UTC, datetime

from vibe.common.clock import SimulatedClock
from vibe.trading_bot.core.health_reporter import RecordingHealthReporter
from vibe.trading_bot.core.trading_stack import BACKTEST_METRICS_BATCH, execution_reporter
from vibe.trading_bot.storage.metrics_store import MetricsStore

T0 = datetime(2025, 7, 3, 13, 30, tzinfo=UTC)


def _stored(path) -> int:
    reader = MetricsStore(path, SimulatedClock(T0))
    try:
        return reader.count()
    finally:
        reader.close()


def _reporter(tmp_path, *, backtest: bool):
    clock = SimulatedClock(T0)
    store = MetricsStore(tmp_path / "metrics.db", clock)
    return execution_reporter(clock, RecordingHealthReporter(), None, store, backtest=backtest)


def test_live_session_boundary_hands_metrics_to_the_writer(tmp_path):
    reporter = _reporter(tmp_path, backtest=False)
    for i in range(3):
        reporter.metric("execution", "commission_usd", 1.0 + i, "SPY")
    reporter.flush_metrics(wait=False)  # a session boundary
    reporter._writer.drain()  # the background write has happened, without a forced flush
    assert _stored(tmp_path / "metrics.db") == 3
    reporter.close()


def test_backtest_keeps_metrics_until_a_full_batch_or_close(tmp_path):
    reporter = _reporter(tmp_path, backtest=True)
    for i in range(3):
        reporter.metric("execution", "commission_usd", 1.0 + i, "SPY")
    reporter.flush_metrics(wait=False)  # a session boundary: no write in a backtest
    if reporter._writer._thread is not None:
        reporter._writer.drain()
    assert _stored(tmp_path / "metrics.db") == 0
    for _ in range(BACKTEST_METRICS_BATCH - 3):
        reporter.metric("strategy", "breakout_rejected", 1.0, "SPY", rule="volume_filter")
    reporter._writer.drain()  # the full batch went to the writer on its own
    assert _stored(tmp_path / "metrics.db") == BACKTEST_METRICS_BATCH
    reporter.metric("trading", "equity_usd", 100_000.0)
    reporter.close()  # the end of the run writes the rest
    assert _stored(tmp_path / "metrics.db") == BACKTEST_METRICS_BATCH + 1


def test_an_invalid_alert_payload_is_logged_counted_and_never_raised(tmp_path):
    from vibe.trading_bot.core.daily_summary import daily_figures

    clock = SimulatedClock(T0)
    health = RecordingHealthReporter()
    store = MetricsStore(tmp_path / "metrics.db", clock)
    reporter = execution_reporter(clock, health, None, store, backtest=False)
    figures = daily_figures(T0.date(), [], 0.0, 100_000.0)  # start-of-day equity 0: invalid
    assert reporter.alert_from(figures.to_alert, T0) is False
    assert reporter.pending_alerts == 0
    assert any("DailySummaryAlert" in e or "to_alert" in e for e in health.errors)
    valid = daily_figures(T0.date(), [], 100_000.0, 100_000.0)
    assert reporter.alert_from(valid.to_alert, T0) is True and reporter.pending_alerts == 1
    reporter.close()
    rows = store.db.query("SELECT metric_name FROM metrics WHERE metric_type = 'notifications'")
    assert [r[0] for r in rows] == ["alerts_invalid"]
    store.close()
