from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from vibe.common.clock import FakeTimer, SimulatedClock
from vibe.common.errors import InvalidInputError
from vibe.tests.support import eventually
from vibe.trading_bot.config.settings import HealthSettings
from vibe.trading_bot.core.health_monitor import HealthMonitor
from vibe.trading_bot.core.health_reporter import (
    MAX_MESSAGE_CHARS,
    ComponentStatus,
    ErrorSummary,
    HealthReporter,
    HealthState,
    PositionsSummary,
    aggregate,
)

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)  # 09:30 New York, a Monday session open
S = HealthState


def make(clock: SimulatedClock | None = None, **kwargs) -> HealthMonitor:
    settings = HealthSettings(
        heartbeat_interval_seconds=kwargs.pop("heartbeat", 60.0),
        liveness_max_loop_lag_seconds=kwargs.pop("max_lag", 10.0),
        readiness_max_bar_age_seconds=kwargs.pop("max_bar_age", 600.0),
    )
    return HealthMonitor(settings, clock or SimulatedClock(T0), **kwargs)


def status(state: HealthState, critical: bool = True) -> ComponentStatus:
    return ComponentStatus("c", critical, state, "", T0, ErrorSummary(0, 1.0, 0, None, None))


# -- aggregation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], S.HEALTHY),
        ([(S.HEALTHY, True), (S.HEALTHY, False)], S.HEALTHY),
        ([(S.HEALTHY, True), (S.UNHEALTHY, True)], S.UNHEALTHY),
        ([(S.DEGRADED, True), (S.UNHEALTHY, True)], S.UNHEALTHY),
        ([(S.HEALTHY, True), (S.UNHEALTHY, False)], S.DEGRADED),
        ([(S.HEALTHY, True), (S.DEGRADED, False)], S.DEGRADED),
        ([(S.DEGRADED, True), (S.STARTING, True)], S.DEGRADED),
        ([(S.HEALTHY, True), (S.STARTING, False)], S.STARTING),
        ([(S.STOPPED, True), (S.STOPPED, False)], S.STOPPED),
        ([(S.STOPPED, True), (S.HEALTHY, False)], S.UNHEALTHY),
        ([(S.HEALTHY, True), (S.STOPPED, False)], S.DEGRADED),
    ],
)
def test_aggregate(states, expected):
    assert aggregate([status(s, c) for s, c in states]) is expected


def test_overall_follows_reports_through_the_reporters():
    monitor = make()
    data = monitor.register("data", critical=True)
    notifier = monitor.register("notifier", critical=False)
    assert isinstance(data, HealthReporter)
    assert monitor.overall() is S.STARTING
    data.set_state(S.HEALTHY)
    notifier.set_state(S.HEALTHY)
    assert monitor.overall() is S.HEALTHY
    notifier.set_state(S.UNHEALTHY, "discord down")
    assert monitor.overall() is S.DEGRADED
    monitor.set_health_state("data", S.UNHEALTHY, "feed lost")
    assert monitor.overall() is S.UNHEALTHY
    by_name = {c.name: c for c in monitor.components()}
    assert by_name["data"].reason == "feed lost"
    assert by_name["notifier"].critical is False


def test_bad_registration_and_states_are_named():
    monitor = make()
    monitor.register("data")
    with pytest.raises(InvalidInputError, match="'data' is already registered"):
        monitor.register("data")
    with pytest.raises(InvalidInputError, match="non-blank"):
        monitor.register("  ")
    with pytest.raises(InvalidInputError, match="'nope'"):
        monitor.set_health_state("nope", S.HEALTHY)
    with pytest.raises(InvalidInputError, match="expected one of"):
        monitor.set_health_state("data", "fine")  # type: ignore[arg-type]
    monitor.set_health_state("data", "healthy")  # type: ignore[arg-type]
    assert monitor.overall() is S.HEALTHY


def test_state_since_changes_only_on_a_new_state():
    clock = SimulatedClock(T0)
    reporter = make(clock).register("data")
    reporter.set_state(S.HEALTHY)
    clock.advance(5)
    reporter.set_state(S.HEALTHY, "still fine")
    assert reporter.status().since == T0
    reporter.set_state(S.DEGRADED, "fallback")
    assert reporter.status().since == T0 + timedelta(seconds=5)


# -- rolling error window ----------------------------------------------------


def test_errors_are_counted_in_a_rolling_window_of_real_seconds():
    clock, timer = SimulatedClock(T0), FakeTimer()
    reporter = make(clock, error_window_seconds=60, timer=timer).register("data")
    reporter.record_error("timeout 1")
    clock.advance(3600)  # trading time alone does not age the errors
    assert reporter.status().errors.count == 1
    clock.advance(30)
    timer.advance(30)
    reporter.record_error("timeout 2")
    assert reporter.status().errors.count == 2
    timer.advance(31)  # the first error is now 61 s old
    errors = reporter.status().errors
    assert (errors.count, errors.total, errors.window_seconds) == (1, 2, 60)
    assert errors.last_error == "timeout 2"
    assert errors.last_error_at == T0 + timedelta(seconds=3630)
    timer.advance(60)
    errors = reporter.status().errors
    assert errors.count == 0
    assert errors.last_error == "timeout 2"  # the last error stays visible


@pytest.mark.asyncio
async def test_errors_from_worker_threads_are_all_counted():
    reporter = make().register("sync")

    def burst() -> None:
        for i in range(500):
            reporter.record_error(f"e{i}")

    await asyncio.gather(*(asyncio.to_thread(burst) for _ in range(4)))
    assert reporter.status().errors.count == 2000


def test_reasons_and_errors_are_redacted_and_truncated():
    monitor = make(secrets=["sup3r-secret-key"])
    reporter = monitor.register("data")
    reporter.set_state(S.DEGRADED, "auth failed for key sup3r-secret-key")
    reporter.record_error(
        "POST https://discord.com/api/webhooks/123/unknown-token failed " + "x" * 1000
    )
    got = reporter.status()
    assert "sup3r-secret-key" not in got.reason
    assert "unknown-token" not in (got.errors.last_error or "")
    assert len(got.errors.last_error or "") == MAX_MESSAGE_CHARS


def test_window_must_be_positive():
    with pytest.raises(InvalidInputError, match="error_window_seconds=0"):
        make(error_window_seconds=0).register("data")


# -- start-up phases ---------------------------------------------------------


def test_startup_completes_when_every_phase_is_done():
    monitor = make(startup_phases=["stores", "data", "health_server"])
    assert not monitor.startup().complete
    with monitor.phase("stores"):
        assert monitor.startup().phases[0].status == "running"
    monitor.begin_phase("data")
    monitor.complete_phase("data")
    assert not monitor.startup().complete
    monitor.complete_phase("health_server")
    report = monitor.startup()
    assert report.complete
    assert [p.status for p in report.phases] == ["done", "done", "done"]


def test_a_failing_phase_is_recorded_and_reraised():
    monitor = make(startup_phases=["stores"])
    with pytest.raises(RuntimeError), monitor.phase("stores"):
        raise RuntimeError("disk full")
    phase = monitor.startup().phases[0]
    assert (phase.status, phase.detail) == ("failed", "RuntimeError: disk full")
    assert not monitor.startup().complete


def test_unknown_or_duplicate_phases_are_rejected():
    with pytest.raises(InvalidInputError, match="duplicates"):
        make(startup_phases=["a", "a"])
    monitor = make(startup_phases=["stores"])
    with pytest.raises(InvalidInputError, match=r"'store'; expected one of \['stores'\]"):
        monitor.complete_phase("store")


# -- readiness ---------------------------------------------------------------


def failing(monitor: HealthMonitor) -> list[str]:
    return [c.name for c in monitor.readiness().checks if not c.ok]


def test_readiness_needs_startup_and_healthy_critical_components():
    monitor = make(startup_phases=["stores"])
    data = monitor.register("data", critical=True)
    notifier = monitor.register("notifier", critical=False)
    assert failing(monitor) == ["startup", "component:data"]
    monitor.complete_phase("stores")
    data.set_state(S.HEALTHY)
    notifier.set_state(S.UNHEALTHY, "discord outage")  # non-critical: still ready
    assert monitor.readiness().ready
    data.set_state(S.DEGRADED, "fallback provider")
    report = monitor.readiness()
    assert not report.ready
    assert [c.detail for c in report.checks if not c.ok] == ["degraded: fallback provider"]


def test_readiness_checks_bar_freshness_only_in_session():
    clock = SimulatedClock(T0)
    monitor = make(clock, max_bar_age=600)
    session: dict[str, datetime | None] = {"open": None}
    monitor.set_market_providers(session_open=lambda: session["open"])
    assert monitor.readiness().ready  # closed market: no bar needed
    session["open"] = T0
    clock.advance(300)  # 5 min into the session, no bar yet: the session open counts
    assert monitor.readiness().ready
    clock.advance(301)
    assert failing(monitor) == ["market_data"]
    monitor.record_bar(T0 + timedelta(minutes=10))  # a bar that ended just now
    assert monitor.readiness().ready
    monitor.record_bar(T0)  # an older bar never replaces a newer one
    clock.advance(601)
    assert failing(monitor) == ["market_data"]
    session["open"] = None
    assert monitor.readiness().ready


def test_naive_bar_time_is_rejected():
    with pytest.raises(InvalidInputError, match="naive"):
        make().record_bar(datetime(2024, 3, 4, 15, 0))  # noqa: DTZ001


def test_a_broken_provider_fails_readiness_but_not_the_state():
    monitor = make()

    def broken() -> datetime | None:
        raise RuntimeError("calendar exploded")

    monitor.set_market_providers(session_open=broken, next_open=broken)
    monitor.set_positions_provider(lambda: (_ for _ in ()).throw(RuntimeError("no")))
    assert failing(monitor) == ["market_data"]
    state = monitor.state()
    assert state.positions is None
    assert state.market.next_open is None


# -- state fields ------------------------------------------------------------


def test_state_reports_the_fed_fields():
    clock, timer = SimulatedClock(T0), FakeTimer()
    monitor = make(clock, mode="paper", timer=timer)
    monitor.set_mode("backtest")
    monitor.set_positions_provider(lambda: PositionsSummary(1, ("AAPL",), 1750.0, 12.5))
    next_open = T0 + timedelta(days=1)
    monitor.set_market_providers(session_open=lambda: None, next_open=lambda: next_open)
    clock.advance(10)
    monitor.record_sync(succeeded=True)
    clock.advance(10)
    monitor.record_sync(succeeded=False, detail="bucket unreachable")
    timer.advance(2.5)
    state = monitor.state()
    assert state.mode == "backtest"
    assert state.uptime_seconds == 2.5  # real seconds, not the 20 s of trading time
    assert state.positions == PositionsSummary(1, ("AAPL",), 1750.0, 12.5)
    assert state.market.open is False
    assert state.market.next_open == next_open
    assert state.last_sync is not None
    assert state.last_sync.result == "failed"
    assert state.last_sync.last_success_at == T0 + timedelta(seconds=10)
    assert state.last_sync.last_attempt_at == T0 + timedelta(seconds=20)


# -- loop lag and heartbeat --------------------------------------------------


@pytest.mark.asyncio
async def test_heartbeat_follows_real_seconds_not_trading_time():
    clock, timer = SimulatedClock(T0), FakeTimer()
    monitor = make(clock, heartbeat=60, loop_check_interval_seconds=0.01, timer=timer)
    monitor.register("data").set_state(S.HEALTHY)
    await monitor.start()
    try:
        clock.advance(7 * 24 * 3600)  # a replay racing through a week
        await asyncio.sleep(0.05)
        assert monitor.heartbeats == 0
        timer.advance(60)
        await eventually(lambda: monitor.heartbeats == 1)
        timer.advance(59)
        await asyncio.sleep(0.05)
        assert monitor.heartbeats == 1
    finally:
        await monitor.stop()
    summary = monitor.heartbeat()
    assert summary["status"] == "healthy"
    assert summary["components"] == {"data": "healthy"}


@pytest.mark.asyncio
async def test_loop_lag_is_measured_and_recovers():
    monitor = make(max_lag=0.2, loop_check_interval_seconds=0.05)
    assert monitor.loop_lag_seconds() is None
    assert monitor.liveness().alive  # not started: nothing says the loop is stuck
    await monitor.start()
    try:
        await asyncio.sleep(0.1)
        assert monitor.liveness().alive
        time.sleep(0.4)  # noqa: ASYNC251 - deliberately block the event loop
        # Read before the ticker runs: the overdue tick already shows the stall.
        lag = monitor.loop_lag_seconds()
        assert lag is not None and lag >= 0.3
        assert not monitor.liveness().alive
        await eventually(lambda: monitor.liveness().alive)
        assert monitor.state().loop.max_lag_seconds_since_heartbeat >= 0.3
    finally:
        await monitor.stop()
    assert monitor.loop_lag_seconds() is None


def test_bad_tick_interval_is_rejected():
    with pytest.raises(InvalidInputError, match="loop_check_interval_seconds=0"):
        make(loop_check_interval_seconds=0)
