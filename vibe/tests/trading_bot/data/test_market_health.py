"""market_data health is the worst of its parts: no part's good news hides another's problem."""

from __future__ import annotations

from vibe.trading_bot.core.health_reporter import HealthState, RecordingHealthReporter
from vibe.trading_bot.data.market_health import MarketDataHealth


def test_the_stream_starting_does_not_clear_the_quiet_feed_the_watchdog_reported():
    inner = RecordingHealthReporter()
    health = MarketDataHealth(inner)
    health.set_state(HealthState.HEALTHY, "data layer ready")
    health.part("feed").set_state(HealthState.UNHEALTHY, "no bar for 900 s during the session")
    health.set_state(HealthState.HEALTHY, "streaming from yahoo")  # the manager, later
    health.part("finnhub").set_state(HealthState.HEALTHY, "finnhub connected, 2 symbols")
    assert inner.states[-1] == (HealthState.UNHEALTHY, "no bar for 900 s during the session")
    health.part("feed").set_state(HealthState.HEALTHY, "bars again (newest 30 s old)")
    assert inner.states[-1] == (HealthState.HEALTHY, "bars again (newest 30 s old)")


def test_missing_history_degrades_until_a_warm_up_loads_every_symbol():
    inner = RecordingHealthReporter()
    health = MarketDataHealth(inner)
    health.set_missing_history({"MSFT": "HTTP 404", "TSLA": "timed out"})
    assert inner.states[-1] == (HealthState.DEGRADED, "no history for MSFT, TSLA (MSFT: HTTP 404)")
    health.set_state(HealthState.HEALTHY, "streaming from finnhub")
    assert inner.state is HealthState.DEGRADED
    health.part("finnhub").set_state(HealthState.DEGRADED, "finnhub reconnecting: EOF")
    assert inner.states[-1][1] == (
        "no history for MSFT, TSLA (MSFT: HTTP 404); finnhub reconnecting: EOF"
    )
    health.part("finnhub").set_state(HealthState.HEALTHY, "finnhub connected, 2 symbols")
    health.set_missing_history({})
    assert inner.states[-1] == (HealthState.HEALTHY, "finnhub connected, 2 symbols")
    assert health.missing_history == {}


def test_a_closed_data_layer_is_stopped_whatever_the_other_parts_said():
    inner = RecordingHealthReporter()
    health = MarketDataHealth(inner)
    health.part("feed").set_state(HealthState.UNHEALTHY, "no bar for 900 s")
    health.set_state(HealthState.STOPPED, "data layer closed")
    assert inner.states[-1] == (HealthState.STOPPED, "data layer closed")
