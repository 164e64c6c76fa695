"""A feed that goes quiet during a session: degraded, then unhealthy, with the same facts
in ``/health/state``, ``/health/ready``, ``/metrics``, ``show-status`` and an error alert."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from vibe.tests.trading_bot.api.support import T0, Stack
from vibe.trading_bot.core.feed_watchdog import FeedWatchdog
from vibe.trading_bot.core.health_reporter import HealthState
from vibe.trading_bot.core.metrics_bridge import watch_components
from vibe.trading_bot.core.status import StatusReport, merge_daemon_state
from vibe.trading_bot.notifications.payloads import SystemEvent

BAR = 300.0  # 5-minute bars
CLOSE = T0 + timedelta(hours=6, minutes=30)


def gauge(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    raise AssertionError(f"{name} {labels} not in /metrics")


async def scrape(stack: Stack) -> tuple[dict, str, int]:
    state = (await stack.client.get("/health/state")).json()
    text = (await stack.client.get("/metrics")).text
    ready = (await stack.client.get("/health/ready")).status_code
    return state, text, ready


@pytest.mark.asyncio
async def test_quiet_feed_is_degraded_then_unhealthy_everywhere(stack: Stack) -> None:
    clock, monitor = stack.clock, stack.monitor
    for phase in ("stores", "data", "health_server"):
        monitor.complete_phase(phase)

    def session_open() -> datetime | None:
        return T0 if T0 <= clock.now() < CLOSE else None

    monitor.set_market_providers(session_open=session_open)
    data = monitor.register("market_data", critical=True)
    data.set_state(HealthState.HEALTHY, "streaming")
    watch_components(stack.metrics, monitor)
    alerts: list[tuple[SystemEvent, str]] = []

    async def alert(event: SystemEvent, message: str) -> None:
        alerts.append((event, message))

    watchdog = FeedWatchdog(
        monitor.bar_age_seconds, data, alert, timeframe_seconds=BAR, unhealthy_after_seconds=600
    )

    # bars arrive: healthy, and the age is known (not null)
    clock.advance_to(T0 + timedelta(minutes=5))
    monitor.record_bar(clock.now())
    clock.advance(30)
    assert await watchdog.check() is None
    state, text, ready = await scrape(stack)
    assert state["market"]["newest_bar_age_seconds"] == pytest.approx(30)
    assert gauge(text, "vibe_newest_bar_age_seconds") == pytest.approx(30)
    assert ready == 200 and not alerts

    # no bar for longer than one bar plus the grace: degraded, with the reason and an alert
    clock.advance(BAR + 60 + 10 - 30)
    assert await watchdog.check() is HealthState.DEGRADED
    state, text, ready = await scrape(stack)
    (component,) = [c for c in state["components"] if c["name"] == "market_data"]
    assert component["state"] == "degraded"
    assert "no bar for 370 s" in component["reason"]
    assert state["market"]["newest_bar_age_seconds"] == pytest.approx(370)
    assert gauge(text, "vibe_component_state", component="market_data") == 1.0
    assert alerts[-1][0] is SystemEvent.COMPONENT_UNHEALTHY and "degraded" in alerts[-1][1]
    assert component["errors"]["count"] == 1

    # past the readiness limit: unhealthy, not ready, one more alert
    clock.advance(300)
    assert await watchdog.check() is HealthState.UNHEALTHY
    assert await watchdog.check() is HealthState.UNHEALTHY  # reported once, not every check
    state, text, ready = await scrape(stack)
    assert ready == 503
    assert state["status"] == "unhealthy"
    assert gauge(text, "vibe_component_state", component="market_data") == 2.0
    assert gauge(text, "vibe_newest_bar_age_seconds") == pytest.approx(670)
    assert [event for event, _ in alerts] == [SystemEvent.COMPONENT_UNHEALTHY] * 2
    report = merge_daemon_state(StatusReport(source="databases", mode="-", status="-"), state)
    assert report.components["market_data"].startswith("unhealthy: no bar for 670 s")
    assert report.last_bar_age_seconds == pytest.approx(670)

    # bars again: healthy, recovery alert
    monitor.record_bar(clock.now())
    assert await watchdog.check() is None
    assert data.status().state is HealthState.HEALTHY
    assert alerts[-1][0] is SystemEvent.COMPONENT_RECOVERED
    assert (await scrape(stack))[2] == 200

    # a closed market is never "quiet"
    clock.advance_to(CLOSE + timedelta(hours=2))
    assert await watchdog.check() is None
    assert gauge((await scrape(stack))[1], "vibe_newest_bar_age_seconds") == -1.0
