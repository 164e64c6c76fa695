"""Live warm-up: concurrent, bounded history from a Yahoo stand-in; a failure is never silent.

The real orchestrator builds the live components (``YAHOO_BASE_URL`` pointed at
the chart-v8 stand-in on 127.0.0.1, serving the real 5-minute bars of
``bars_5m/yfinance_2025-06_2025-08``) on a simulated clock before the open of
2025-07-10; the live driver's warm-up then runs exactly as in ``run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yfinance as yf

from vibe.common.clock import SimulatedClock
from vibe.trading_bot.config.loader import load_settings
from vibe.trading_bot.core.components import ComponentBuilder
from vibe.trading_bot.core.daemon import Daemon
from vibe.trading_bot.core.health_reporter import HealthState
from vibe.trading_bot.core.live_driver import LiveDriver
from vibe.trading_bot.core.orchestrator import Orchestrator
from vibe.trading_bot.core.run_plan import RunMode, RunPlan
from vibe.trading_bot.core.status import StatusReport, merge_daemon_state
from vibe.trading_bot.data.providers.yahoo import forget_yfinance_memo
from vibe.trading_bot.execution.notifier import RecordingNotifier
from vibe.trading_bot.notifications.payloads import SystemAlert, SystemEvent

from ...support import eventually, free_port
from ..data.yahoo_chart_standin import YahooChartStandIn

SYMBOLS = ["AAPL", "MSFT", "SPY", "QQQ", "TSLA", "AMZN", "GOOGL"]
BEFORE_OPEN = datetime(2025, 7, 10, 13, 5, tzinfo=UTC)  # 09:05 ET


@pytest.fixture
def standin(shared_data, tmp_path):
    yf.set_tz_cache_location(str(tmp_path / "yf_tz"))
    forget_yfinance_memo()  # each test asks the stand-in, not yfinance's memo of past ranges
    with YahooChartStandIn(shared_data / "bars_5m" / "yfinance_2025-06_2025-08") as server:
        yield server


async def _live(tmp_path: Path, yahoo_url: str, port: int) -> Orchestrator:
    settings = load_settings(
        None,
        {
            "data_dir": tmp_path / "data",
            "symbols": SYMBOLS,
            "timeframe": "5m",
            "yahoo_base_url": yahoo_url,
            "yahoo_rate_limit": 1000,
            "health_check_host": "127.0.0.1",
            "health_check_port": port,
        },
    )
    plan = RunPlan(
        RunMode.LIVE,
        settings.storage.data_dir,
        tuple(SYMBOLS),
        "5m",
        notify=False,
        cloud_sync=False,
    )
    orchestrator = Orchestrator(
        settings, plan, clock=SimulatedClock(BEFORE_OPEN), handle_signals=False
    )
    # alerts are kept instead of logged
    daemon = await ComponentBuilder(orchestrator.context, RecordingNotifier()).build()
    orchestrator.daemon = daemon
    orchestrator._wire_status(daemon)
    return orchestrator


@contextlib.asynccontextmanager
async def _driver(
    tmp_path: Path, yahoo_url: str, port: int | None = None
) -> AsyncIterator[tuple[Orchestrator, Daemon, LiveDriver]]:
    """The live orchestrator, its daemon and a live driver; the service shut down after."""
    orchestrator = await _live(tmp_path, yahoo_url, port or free_port())
    daemon = orchestrator.daemon
    assert daemon is not None
    try:
        yield orchestrator, daemon, LiveDriver(daemon)
    finally:
        await orchestrator.service.shutdown()


@pytest.mark.asyncio
async def test_one_symbol_failing_is_degraded_alerted_and_listed(standin, tmp_path):
    standin.state.fail["MSFT"] = 500
    standin.state.delay["TSLA"] = 5.0  # hung upstream: cut by the per-request timeout
    port = free_port()
    async with _driver(tmp_path, standin.url, port) as (_, daemon, driver):
        driver.history_timeout_seconds = 1.5
        driver.history_retries = 0  # one attempt: what a failure that lasts looks like
        day = driver._current_or_next()
        started = time.monotonic()
        await driver._warm_up(day)
        took = time.monotonic() - started
        async with httpx.AsyncClient() as client:
            state = (await client.get(f"http://127.0.0.1:{port}/health/state")).json()
    missing = state["market"]["symbols_without_history"]
    assert sorted(missing) == ["MSFT", "TSLA"]
    shown = merge_daemon_state(StatusReport("databases", "-", "-"), state)  # show-status
    assert sorted(shown.symbols_without_history) == ["MSFT", "TSLA"]
    assert "timed out after 1.5 s" in missing["TSLA"]
    assert "upstream failure" in missing["MSFT"]
    data = next(c for c in state["components"] if c["name"] == "market_data")
    assert data["state"] == HealthState.DEGRADED.value
    assert "no history for MSFT, TSLA" in data["reason"]
    notifier = daemon.notifier
    assert isinstance(notifier, RecordingNotifier)
    alerts = [a for a in notifier.alerts if isinstance(a, SystemAlert)]
    degraded = [a for a in alerts if a.event is SystemEvent.COMPONENT_DEGRADED]
    assert len(degraded) == 1 and degraded[0].component == "market_data"
    assert degraded[0].details["symbols"] == "MSFT, TSLA"
    # the five others were loaded from the stand-in and shown to the strategy
    loaded = {s for s in standin.chart_symbols()} - {"MSFT", "TSLA"}
    assert loaded == set(SYMBOLS) - {"MSFT", "TSLA"}
    assert set(driver._seen) == loaded
    assert all(driver._seen[s] == datetime(2025, 7, 9, 19, 55, tzinfo=UTC) for s in loaded)
    assert took < 5.0  # concurrent and bounded: not seven requests one after another
    assert standin.max_in_flight() >= 2


@pytest.mark.asyncio
async def test_full_history_keeps_market_data_healthy_and_a_retry_recovers(standin, tmp_path):
    standin.state.fail["QQQ"] = 503
    async with _driver(tmp_path, standin.url) as (orchestrator, daemon, driver):
        driver.history_retries = 0  # recovered by the next warm-up, not a retry
        day = driver._current_or_next()
        await driver._warm_up(day)
        assert list(daemon.data.missing_history) == ["QQQ"]
        del standin.state.fail["QQQ"]
        await driver._warm_up(day)  # the next warm-up loads everything
        state = orchestrator.monitor.state()
        data = next(c for c in state.components if c.name == "market_data")
    assert state.market.symbols_without_history == {}
    assert data.state is HealthState.HEALTHY
    assert isinstance(daemon.notifier, RecordingNotifier)
    events = [a.event for a in daemon.notifier.alerts if isinstance(a, SystemAlert)]
    assert events.count(SystemEvent.COMPONENT_DEGRADED) == 1
    assert events.count(SystemEvent.COMPONENT_RECOVERED) == 1


@pytest.mark.asyncio
async def test_a_failure_before_the_open_is_retried_and_never_alerted(standin, tmp_path):
    """QQQ's history fails (503) through a whole first attempt at 09:05 ET, then comes
    back: a retry before the open loads it, and nothing is reported degraded."""
    standin.state.fail["QQQ"] = 503
    async with _driver(tmp_path, standin.url) as (orchestrator, daemon, driver):
        driver.history_timeout_seconds = 3.0
        driver.history_retry_seconds = 0.3
        asked: list[tuple[list[str] | None, dict[str, str]]] = []
        fetch = driver._history

        async def history(start, end, symbols=None):  # type: ignore[no-untyped-def]
            batch = await fetch(start, end, symbols)
            asked.append((None if symbols is None else list(symbols), dict(batch.failures)))
            return batch

        driver._history = history  # type: ignore[method-assign]
        day = driver._current_or_next()
        warm_up = asyncio.create_task(driver._warm_up(day))
        await eventually(lambda: bool(asked), within=30)  # the first attempt is over
        assert "QQQ" in asked[0][1]
        del standin.state.fail["QQQ"]  # Yahoo answers again
        await asyncio.wait_for(warm_up, 30)
        state = orchestrator.monitor.state()
        data = next(c for c in state.components if c.name == "market_data")
    assert [symbols for symbols, _ in asked[1:]] == [["QQQ"]] * (len(asked) - 1)
    assert asked[-1][1] == {}
    assert state.market.symbols_without_history == {}
    assert data.state is HealthState.HEALTHY
    assert driver._seen["QQQ"] == driver._seen["SPY"]  # its history was shown to the strategy
    assert isinstance(daemon.notifier, RecordingNotifier)
    events = [a.event for a in daemon.notifier.alerts if isinstance(a, SystemAlert)]
    assert SystemEvent.COMPONENT_DEGRADED not in events
