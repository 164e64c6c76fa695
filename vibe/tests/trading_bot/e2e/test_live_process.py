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
from pathlib import Path

import httpx

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


def test_live_daemon_serves_probes_status_and_stops_on_sigterm(tmp_path: Path) -> None:
    # 1m bars: quiet for 60 s + 60 s grace is degraded, and unhealthy (readiness limit below)
    env = daemon_env(
        tmp_path, SYMBOLS="SPY,QQQ", TIMEFRAME="1m", READINESS_MAX_BAR_AGE_SECONDS="30"
    )
    port = int(env["HEALTH_CHECK_PORT"])
    with (tmp_path / "daemon.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vibe.trading_bot", "run"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
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
            eventually_sync(lambda: market_data(port)[0] == "unhealthy", 150)
            assert "no bar for" in market_data(port)[1]
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
