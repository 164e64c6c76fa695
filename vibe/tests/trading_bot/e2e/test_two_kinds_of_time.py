"""Trading time vs waiting time, end to end: the real daemon process against real HTTP.

* ``run --replay --speed max`` over five sessions with a strict Discord stand-in
  (sliding window of 5 requests per 2 s, a forced 429, periodic 503s): every
  alert is delivered (most of them in the shutdown's notifier step) in
  order, exactly once, with no request into a full window and none before a
  429's ``retry_after`` (the waits are real seconds even though the trading
  clock races).
* ``run --replay --speed 1500`` with an unreachable webhook trades exactly like
  the same replay without a webhook, and ``/health/ready`` stays 200 (the
  notifier's retries never move the trading clock).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vibe.tests.support import free_port
from vibe.tests.trading_bot.e2e.test_replay_daemon import stored_trades
from vibe.tests.trading_bot.e2e.test_replay_process import SAMPLE, daemon_env, log_tail, query
from vibe.tests.trading_bot.notifications.discord_standin import (
    DiscordStandIn,
    StandInServer,
    load_limits,
)


def start(tmp_path: Path, env: dict[str, str], symbols: str, *args: str) -> subprocess.Popen[bytes]:
    """``run --replay`` on ``symbols``; output to ``tmp_path/daemon.log`` (never a pipe)."""
    command = [sys.executable, "-m", "vibe.trading_bot", "run", "--replay", str(SAMPLE)]
    with (tmp_path / "daemon.log").open("ab") as log:
        return subprocess.Popen(
            [*command, "--symbols", symbols, *args],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def wait_exit(proc: subprocess.Popen[bytes], within: float) -> int:
    """Wait for the child without blocking the event loop (the stand-in serves from it)."""
    deadline = time.monotonic() + within
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError(f"daemon still running after {within} s")
        await asyncio.sleep(0.05)
    return proc.returncode


def outbox(data: Path) -> list[tuple[int, str, dict[str, object]]]:
    rows = query(data / "notifications.db", "SELECT id, status, body FROM outbox ORDER BY id")
    return [(int(str(i)), str(status), json.loads(str(body))) for i, status, body in rows]


@pytest.mark.asyncio
async def test_replay_at_max_speed_respects_discords_limits_in_real_time(
    tmp_path: Path, shared_data: Path
) -> None:
    stand_in = DiscordStandIn(
        load_limits(shared_data), limit=5, period=2.0, sliding=True, fail_every=6
    )
    async with StandInServer(stand_in) as discord:
        url = discord.add_webhook("4242", "standin-token")
        discord.force(429, retry_after=1.2)  # the very first request is rate limited
        env = daemon_env(tmp_path, DISCORD_WEBHOOK_URL=url)
        env["SHUTDOWN_TIMEOUT_SECONDS"] = "30"  # the default: the notifier drains in its share
        started = time.monotonic()
        proc = start(  # five sessions, the early close of July 3 among them
            tmp_path, env, "AAPL", "--speed", "max", "--start", "2025-07-01", "--end", "2025-07-08"
        )
        assert await wait_exit(proc, 90) == 0, log_tail(tmp_path)
        wall = time.monotonic() - started
    rows = outbox(tmp_path / "data")
    timeline = discord.timeline()
    print(f"\nDiscord timeline: {timeline}; bodies {len(rows)}; daemon wall time {wall:.1f} s")
    assert rows and all(status == "sent" for _, status, _ in rows), log_tail(tmp_path)
    assert discord.bodies("4242") == [body for _, _, body in rows]  # in order, exactly once
    assert timeline.into_full_window == 0 and timeline.max_in_window <= 5
    assert timeline.before_retry_after == 0
    assert discord.self_provoked_429s == 0 and timeline.rate_limited == 1
    assert timeline.unavailable >= 1  # the periodic 503s were met, and retried
    assert timeline.accepted == len(rows)
    assert "shutdown step timed out" not in (tmp_path / "daemon.log").read_text()


def replay_finished(log: Path) -> bool:
    return b'"replay finished"' in log.read_bytes()


async def poll_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> list[int]:
    """``/health/ready`` every 50 ms from the first 200 until the replay finished.

    Returns every status answered while trading (before the log says the replay
    finished: the shutdown then stops components on purpose).
    """
    statuses: list[int] = []
    async with httpx.AsyncClient(timeout=2.0) as client:
        while proc.poll() is None:
            try:
                response = await client.get(f"http://127.0.0.1:{port}/health/ready")
            except httpx.TransportError:
                assert not statuses, "the health server stopped answering while trading"
                await asyncio.sleep(0.05)
                continue
            if replay_finished(log):
                break
            if statuses or response.status_code == 200:
                statuses.append(response.status_code)
            await asyncio.sleep(0.05)
    return statuses


@pytest.mark.asyncio
async def test_unreachable_webhook_changes_no_trade_and_readiness_stays_200(
    tmp_path: Path,
) -> None:
    window = ("--start", "2025-07-03", "--end", "2025-07-03")
    reference, unreachable = tmp_path / "reference", tmp_path / "unreachable"
    reference.mkdir()
    unreachable.mkdir()
    plain = start(reference, daemon_env(reference), "AAPL,SPY", "--speed", "max", *window)
    env = daemon_env(
        unreachable, DISCORD_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/api/webhooks/1/t"
    )
    proc = start(unreachable, env, "AAPL,SPY", "--speed", "1500", *window)
    started = time.monotonic()
    statuses = await poll_ready(int(env["HEALTH_CHECK_PORT"]), proc, unreachable / "daemon.log")
    assert await wait_exit(proc, 60) == 0, log_tail(unreachable)
    print(f"\n/health/ready polled {len(statuses)} times in {time.monotonic() - started:.1f} s")
    assert await wait_exit(plain, 60) == 0, log_tail(reference)
    assert len(statuses) > 50 and set(statuses) == {200}, statuses
    trades = stored_trades(unreachable / "data")
    assert trades and trades == stored_trades(reference / "data")
    logged = (unreachable / "daemon.log").read_text()
    assert "discord delivery failed; retrying" in logged and "market_closed" not in logged
