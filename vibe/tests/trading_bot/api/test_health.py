from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from datetime import datetime, timedelta

import httpx
import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.errors import OperationalError
from vibe.tests.support import eventually
from vibe.tests.trading_bot.api.support import PHASES, T0, Stack
from vibe.trading_bot.api.health import HealthServer, build_health_server, create_health_app
from vibe.trading_bot.core.health_monitor import HealthMonitor
from vibe.trading_bot.core.health_reporter import HealthState, PositionsSummary

pytestmark = pytest.mark.asyncio


def start_all(stack: Stack) -> None:
    for name in PHASES:
        stack.monitor.complete_phase(name)


# -- /health/live ------------------------------------------------------------


async def test_live_is_200_while_the_loop_is_responsive(stack: Stack):
    response = await stack.client.get("/health/live")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "alive"
    assert body["max_loop_lag_seconds"] == 0.5


async def test_live_ignores_external_outages(stack: Stack):
    stack.monitor.register("notifier", critical=True).set_state(HealthState.UNHEALTHY, "discord")
    stack.monitor.register("data", critical=True).set_state(HealthState.UNHEALTHY, "yahoo 503")
    assert (await stack.client.get("/health/live")).status_code == 200


def get_in_thread(url: str, timeout: float, out: list) -> threading.Thread:
    def run() -> None:
        try:
            out.append(httpx.get(url, timeout=timeout))
        except httpx.TimeoutException as exc:
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


async def test_live_times_out_while_blocked_then_503_then_200(stack: Stack):
    url = f"{stack.server.url}/health/live"
    assert (await stack.client.get("/health/live")).status_code == 200
    impatient: list = []
    patient: list = []
    threads = [get_in_thread(url, 0.3, impatient), get_in_thread(url, 10.0, patient)]
    time.sleep(1.2)  # noqa: ASYNC251 - deliberately block the event loop (> 0.5 s limit)
    # While blocked, nobody answered: the impatient client (like a kubelet) timed out.
    assert len(impatient) == 1 and isinstance(impatient[0], httpx.TimeoutException)
    await eventually(lambda: not any(t.is_alive() for t in threads))
    # The request queued during the block is answered right after: 503.
    assert isinstance(patient[0], httpx.Response)
    assert patient[0].status_code == 503
    body = patient[0].json()
    assert body["status"] == "not_alive"
    assert body["loop_lag_seconds"] > 0.5

    async def alive() -> bool:
        return (await stack.client.get("/health/live")).status_code == 200

    await eventually(alive)


# -- /health/ready -----------------------------------------------------------


async def test_ready_is_503_until_started_and_critical_components_healthy(stack: Stack):
    data = stack.monitor.register("data", critical=True)
    stack.monitor.register("notifier", critical=False).set_state(HealthState.DEGRADED, "slow")
    response = await stack.client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert [c["name"] for c in body["failing"]] == ["startup", "component:data"]

    start_all(stack)
    data.set_state(HealthState.HEALTHY)
    response = await stack.client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["failing"] == []

    data.set_state(HealthState.UNHEALTHY, "feed lost")
    response = await stack.client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["failing"] == [
        {"name": "component:data", "ok": False, "detail": "unhealthy: feed lost"}
    ]


async def test_ready_is_503_when_bars_are_stale_in_session(stack: Stack):
    start_all(stack)
    session: dict[str, datetime | None] = {"open": T0}
    stack.monitor.set_market_providers(session_open=lambda: session["open"])
    stack.monitor.record_bar(T0 + timedelta(minutes=5))
    stack.clock.advance(300)
    assert (await stack.client.get("/health/ready")).status_code == 200
    stack.clock.advance(601)  # newest bar ended 601 s ago, limit 600 s
    response = await stack.client.get("/health/ready")
    assert response.status_code == 503
    assert [c["name"] for c in response.json()["failing"]] == ["market_data"]
    session["open"] = None  # market closed: staleness no longer matters
    assert (await stack.client.get("/health/ready")).status_code == 200


# -- /health/startup ---------------------------------------------------------


async def test_startup_is_503_until_every_phase_is_done(stack: Stack):
    monitor = stack.monitor
    for name in PHASES[:-1]:
        with monitor.phase(name):
            pass
        response = await stack.client.get("/health/startup")
        assert response.status_code == 503
        assert response.json()["status"] == "starting"
    monitor.complete_phase(PHASES[-1])
    response = await stack.client.get("/health/startup")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "started"
    assert [p["status"] for p in body["phases"]] == ["done"] * len(PHASES)


async def test_startup_reports_a_failed_phase(stack: Stack):
    stack.monitor.fail_phase("data", "no provider reachable")
    response = await stack.client.get("/health/startup")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failed"
    assert body["phases"][1] == {
        "name": "data",
        "status": "failed",
        "detail": "no provider reachable",
        "started_at": T0.isoformat(),
        "finished_at": T0.isoformat(),
    }


# -- /health/state -----------------------------------------------------------


async def test_state_has_the_full_picture(stack: Stack):
    start_all(stack)
    stack.monitor.register("data").set_state(HealthState.HEALTHY)
    stack.monitor.register("notifier", critical=False).record_error("429 from Discord")
    stack.monitor.set_positions_provider(
        lambda: PositionsSummary(2, ("AAPL", "MSFT"), 3000.0, -4.5)
    )
    stack.monitor.set_market_providers(
        session_open=lambda: None, next_open=lambda: T0 + timedelta(days=1)
    )
    stack.monitor.record_sync(succeeded=True)
    stack.clock.advance(3600)  # trading time does not count as uptime
    stack.timer.advance(42)
    response = await stack.client.get("/health/state")
    assert response.status_code == 200
    state = response.json()
    assert state["status"] == "starting"  # notifier has not reported a state yet
    assert state["mode"] == "paper"
    assert state["uptime_seconds"] == 42
    assert [c["name"] for c in state["components"]] == ["data", "notifier"]
    notifier = state["components"][1]
    assert notifier["errors"]["count"] == 1
    assert notifier["errors"]["last_error"] == "429 from Discord"
    assert state["positions"]["open_positions"] == 2
    assert state["positions"]["symbols"] == ["AAPL", "MSFT"]
    assert state["market"]["next_open"] == (T0 + timedelta(days=1)).isoformat()
    assert state["last_sync"]["result"] == "ok"
    assert state["startup"]["complete"] is True
    assert state["loop"]["lag_seconds"] is not None


# -- the server itself -------------------------------------------------------


async def test_server_runs_as_a_named_task_and_stops_gracefully(health_settings):
    monitor = HealthMonitor(health_settings, _clock())
    sigterm_before = signal.getsignal(signal.SIGTERM)
    server = HealthServer(create_health_app(monitor), host="127.0.0.1", port=0)
    async with server:
        assert server.port > 0
        assert "health-server" in {t.get_name() for t in asyncio.all_tasks()}
        assert signal.getsignal(signal.SIGTERM) is sigterm_before  # the daemon owns signals
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.get("/health/live")).status_code == 200
    assert "health-server" not in {t.get_name() for t in asyncio.all_tasks()}
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=server.url) as client:
            await client.get("/health/live")
    await server.stop()  # stopping twice is harmless


async def test_a_taken_port_is_a_clear_operational_error(health_settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = health_settings.model_copy(update={"health_check_port": port})
        server = build_health_server(settings, HealthMonitor(settings, _clock()))
        with pytest.raises(OperationalError, match=f"127.0.0.1:{port}"):
            await server.start()
        assert "health-server" not in {t.get_name() for t in asyncio.all_tasks()}


def _clock() -> SimulatedClock:
    return SimulatedClock(T0)


async def test_an_unusable_host_is_a_clear_operational_error(health_settings):
    monitor = HealthMonitor(health_settings, _clock())
    server = HealthServer(create_health_app(monitor), host="256.0.0.1", port=0)
    with pytest.raises(OperationalError, match=r"cannot listen on 256\.0\.0\.1:0"):
        await server.start()
