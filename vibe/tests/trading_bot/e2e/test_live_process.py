"""``run`` (live paper trading) as a real process on the wall clock, with no internet.

Whatever the time of day, the daemon must start, serve its probes and its state
(mode, next open), answer ``show-status`` through them, and stop cleanly on
SIGTERM: while the market is closed it sleeps until the warm-up; during a session
the unreachable Yahoo feed is reported (``market_data`` unhealthy with the reason,
the bar age in ``/health/state`` and ``/metrics``, an error alert in the log),
never fatal, and never delays the stop.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vibe.tests.support import eventually_sync
from vibe.tests.trading_bot.e2e.test_replay_process import daemon_env, log_tail


def get(port: int, path: str) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2.0)
    except httpx.HTTPError:
        return None


def started(port: int) -> bool:
    reply = get(port, "/health/startup")
    return reply is not None and reply.is_success


def market_data(port: int) -> tuple[str, str]:
    reply = get(port, "/health/state")
    if reply is None:
        return "", ""
    (component,) = [c for c in reply.json()["components"] if c["name"] == "market_data"]
    return str(component["state"]), str(component["reason"])


def start_live(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``run`` (live) in ``tmp_path``; its output goes to ``tmp_path/daemon.log``."""
    with (tmp_path / "daemon.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "vibe.trading_bot", "run"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def test_live_daemon_serves_probes_status_and_stops_on_sigterm(tmp_path: Path) -> None:
    # 1m bars: quiet for 60 s + 60 s grace is degraded, and unhealthy (readiness limit below)
    env = daemon_env(
        tmp_path, SYMBOLS="SPY,QQQ", TIMEFRAME="1m", READINESS_MAX_BAR_AGE_SECONDS="30"
    )
    port = int(env["HEALTH_CHECK_PORT"])
    proc = start_live(tmp_path, env)
    try:
        eventually_sync(
            lambda: (r := get(port, "/health/startup")) is not None and r.is_success, 30
        )
        live = get(port, "/health/live")
        assert live is not None and live.status_code == 200
        state = get(port, "/health/state")
        assert state is not None
        body = state.json()
        assert body["mode"] == "paper-live"
        assert body["market"]["next_open"]  # the calendar's next session open
        assert {c["name"] for c in body["components"]} >= {"market_data", "execution"}
        if body["market"]["open"]:  # no network here: the feed stays quiet all session
            assert body["market"]["newest_bar_age_seconds"] is not None
            # unhealthy because no bar came, and it stays so: the Yahoo poller's and the
            # warm-up's own reports (e.g. missing history) do not clear the watchdog's
            eventually_sync(
                lambda: (s := market_data(port))[0] == "unhealthy" and "no bar for" in s[1], 150
            )
            for _ in range(8):
                time.sleep(0.5)
                reading, why = market_data(port)
                assert reading == "unhealthy" and "no bar for" in why, why
            metrics = get(port, "/metrics")
            assert metrics is not None
            assert 'vibe_component_state{component="market_data"} 2.0' in metrics.text
            assert "market data quiet" in (tmp_path / "daemon.log").read_text()
        else:
            assert body["market"]["newest_bar_age_seconds"] is None  # no bar yet, market closed

        status = subprocess.run(
            [sys.executable, "-m", "vibe.trading_bot", "show-status", "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=60,
            check=True,
        )
        report = json.loads(status.stdout)
        assert report["source"] == "daemon"
        assert report["mode"] == "paper-live"
        assert report["equity"] == 100_000.0

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log_tail(tmp_path)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "data" / "trades.db").exists()


@pytest.mark.slow
def test_live_daemon_finishes_a_session_close_cut_off_by_a_crash(tmp_path: Path) -> None:
    """The previous session's cursor is inside it and its close was never recorded."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from vibe.common.clock import SimulatedClock
    from vibe.trading_bot.core.scheduler import MarketScheduler
    from vibe.trading_bot.storage.run_state import RunStateStore

    now = datetime.now(UTC)
    scheduler = MarketScheduler()
    bounds = scheduler.session_bounds_at(now.timestamp())  # as the live driver decides
    opens = datetime.fromtimestamp(bounds[0], UTC) if bounds else scheduler.next_open(now)
    current = opens.astimezone(ZoneInfo("America/New_York")).date()
    [(previous, previous_open, previous_close)] = scheduler.sessions_before(current, 1)
    state = RunStateStore(tmp_path / "data" / "state.db", SimulatedClock(previous_close))
    state.set_cursor("live", previous_open + timedelta(hours=1))  # died mid-session, then...
    state.close()

    env = daemon_env(tmp_path, SYMBOLS="SPY", TIMEFRAME="5m")
    port = int(env["HEALTH_CHECK_PORT"])
    proc = start_live(tmp_path, env)
    try:
        reader = RunStateStore(tmp_path / "data" / "state.db", SimulatedClock(previous_close))
        eventually_sync(lambda: reader.last_closed_session("live") == previous, 120)
        reader.close()
        assert started(port)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log_tail(tmp_path)
