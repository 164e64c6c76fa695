"""Fixtures shared by the store tests: one simulated clock at a session open."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vibe.common.clock import SimulatedClock

T0 = datetime(2025, 7, 3, 13, 30, tzinfo=UTC)  # 09:30 ET, the 2025-07-03 open


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)
