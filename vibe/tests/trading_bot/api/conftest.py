"""A real health server on a free 127.0.0.1 port, its monitor and metrics, and an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from vibe.common.clock import FakeTimer, SimulatedClock
from vibe.tests.trading_bot.api.support import PHASES, T0, Stack
from vibe.trading_bot.api.health import HealthServer, create_health_app
from vibe.trading_bot.api.metrics import TradingMetrics
from vibe.trading_bot.config.settings import HealthSettings
from vibe.trading_bot.core.health_monitor import HealthMonitor


@pytest.fixture
def health_settings() -> HealthSettings:
    return HealthSettings(
        health_check_host="127.0.0.1",
        heartbeat_interval_seconds=60.0,
        liveness_max_loop_lag_seconds=0.5,
        readiness_max_bar_age_seconds=600.0,
    )


@pytest.fixture
def monitor_kwargs() -> dict:
    return {}


@pytest_asyncio.fixture
async def stack(health_settings: HealthSettings, monitor_kwargs: dict) -> AsyncIterator[Stack]:
    clock, timer = SimulatedClock(T0), FakeTimer()
    monitor = HealthMonitor(
        health_settings,
        clock,
        timer=timer,
        startup_phases=PHASES,
        loop_check_interval_seconds=0.25,
        **monitor_kwargs,
    )
    metrics = TradingMetrics()
    server = HealthServer(create_health_app(monitor, metrics), host="127.0.0.1", port=0)
    await monitor.start()
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as client:
            yield Stack(clock, monitor, metrics, server, client, timer)
    finally:
        await server.stop()
        await monitor.stop()
