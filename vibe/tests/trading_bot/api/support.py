"""Helpers shared by the API tests: a polling helper and the test stack's shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from vibe.common.clock import FakeTimer, SimulatedClock
from vibe.trading_bot.api.health import HealthServer
from vibe.trading_bot.api.metrics import TradingMetrics
from vibe.trading_bot.core.health_monitor import HealthMonitor

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)  # a Monday 09:30 New York session open
PHASES = ("stores", "data", "health_server")


@dataclass
class Stack:
    clock: SimulatedClock
    monitor: HealthMonitor
    metrics: TradingMetrics
    server: HealthServer
    client: httpx.AsyncClient
    timer: FakeTimer = field(default_factory=FakeTimer)  # the monitor's waiting time
