"""``/metrics`` tells the truth: scraped during a real ``run --replay`` process.

The daemon replays two sessions with the Discord stand-in (its first delivery
refused for good, a strict rate limit) and local cloud sync. Every family that
has something to count in such a run moves; equity equals ``/health/state``'s
from the first scrape on (it comes from the stores at start-up, not from the
first bar).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from vibe.tests.trading_bot.e2e.test_replay_process import (
    daemon_env,
    log_tail,
    query,
    start_replay,
)
from vibe.tests.trading_bot.notifications.discord_standin import (
    DiscordStandIn,
    StandInServer,
    load_limits,
)
from vibe.trading_bot.api.metrics import METRIC_NAMES

#: Families a replay with Discord and local sync must move (the others have nothing to
#: count here: no live provider to reconnect, clean recorded bars, no log queue overflow).
MUST_MOVE = (
    "vibe_bars_processed_total",
    "vibe_orders_total",
    "vibe_fills_total",
    "vibe_trades_total",
    "vibe_equity_usd",
    "vibe_open_positions",
    "vibe_alerts_sent_total",
    "vibe_alerts_failed_total",
    "vibe_alerts_queued",
    "vibe_rate_limit_waits_total",
    "vibe_rate_limit_wait_seconds_total",
    "vibe_cloud_syncs_total",
    "vibe_cloud_sync_last_success_timestamp_seconds",
    "vibe_uptime_seconds",
    "vibe_component_state",
)


def parse(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Family name (counters with ``_total``) -> [(labels, value)] of its main samples."""
    families: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        name = family.name + ("_total" if family.type == "counter" else "")
        families[name] = [
            (dict(s.labels), s.value)
            for s in family.samples
            if s.name == name or (family.type != "counter" and s.name == family.name)
        ]
    return families


def total(samples: list[tuple[dict[str, str], float]]) -> float:
    return sum(abs(value) for _, value in samples)


@pytest.mark.asyncio
async def test_metrics_scraped_during_a_replay_count_what_happened(
    tmp_path: Path, shared_data: Path
) -> None:
    stand_in = DiscordStandIn(load_limits(shared_data), limit=5, period=2.0)
    async with StandInServer(stand_in) as discord:
        url = discord.add_webhook("4242", "metrics-test-token")
        discord.force(400, code=50035)  # the first message is refused for good
        env = daemon_env(
            tmp_path,
            ENABLE_CLOUD_SYNC="true",
            CLOUD_PROVIDER="local",
            CLOUD_SYNC_DIR=str(tmp_path / "backups"),
            DISCORD_WEBHOOK_URL=url,
        )
        base = f"http://127.0.0.1:{env['HEALTH_CHECK_PORT']}"
        proc = start_replay(
            tmp_path, env, "--speed", "3000", "--start", "2025-06-05", "--end", "2025-06-06"
        )
        peak: dict[str, float] = {}
        equity_checks: list[tuple[float, float]] = []
        flat_realized: list[float] = []  # /health/state's realized P&L while flat
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                while proc.poll() is None:
                    await asyncio.sleep(0.05)
                    try:
                        state = (await client.get(f"{base}/health/state")).json()
                        text = (await client.get(f"{base}/metrics")).text
                    except httpx.HTTPError:
                        continue  # not listening yet, or shutting down
                    families = parse(text)
                    for name, samples in families.items():
                        peak[name] = max(peak.get(name, 0.0), total(samples))
                    positions: dict[str, Any] = state.get("positions") or {}
                    if positions.get("equity_usd") is not None:
                        (_, equity), *_ = families["vibe_equity_usd"]
                        equity_checks.append((equity, float(positions["equity_usd"])))
                        if positions["open_positions"] == 0:
                            flat_realized.append(float(positions["realized_pnl_net_usd"]))
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(30)
    assert proc.returncode == 0, log_tail(tmp_path)
    assert set(METRIC_NAMES) <= set(peak)
    still = [name for name in MUST_MOVE if peak.get(name, 0.0) == 0.0]
    assert not still, f"families that never moved: {still}"
    assert equity_checks, "no scrape while the daemon ran"
    first_metric, first_state = equity_checks[0]
    assert first_metric == pytest.approx(first_state, abs=0.01) and first_metric > 0
    agreeing = [m for m, s in equity_checks if m == pytest.approx(s, abs=0.01)]
    assert len(agreeing) >= len(equity_checks) * 0.9  # equity moves between the two requests
    assert stand_in.bodies(), "no alert delivered"
    # realized P&L in /health/state is after fees, like trades.db (checked while flat)
    closed = query(tmp_path / "data" / "trades.db", "SELECT sum(pnl) FROM trades")
    assert flat_realized and flat_realized[-1] == pytest.approx(float(str(closed[0][0])), abs=0.02)
    print({name: peak[name] for name in sorted(peak)})
