"""Shutdown finishes what it started: the real daemon, SIGTERM, and a strict Discord stand-in.

``run --replay --speed max`` over the seven sample symbols queues alerts far
faster than Discord's 5 requests per 2 s lets them out. SIGTERM mid-session,
with a position open and about 20 alerts queued: the shutdown gives the
notifier the time the other steps do not reserve, so every queued alert, the
closing trade's alerts and the Shutdown alert are delivered (paced, exactly
once, in order), the client and the outbox are closed, no step times out, and
the process exits 0 within ``SHUTDOWN_TIMEOUT_SECONDS`` of the signal.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
from pathlib import Path

import pytest

from vibe.tests.trading_bot.e2e.test_replay_process import (
    SYMBOLS,
    daemon_env,
    has_open_trade,
    log_tail,
    query,
)
from vibe.tests.trading_bot.e2e.test_two_kinds_of_time import outbox, start, wait_exit
from vibe.tests.trading_bot.notifications.discord_standin import (
    DiscordStandIn,
    StandInServer,
    load_limits,
)

SHUTDOWN_TIMEOUT_SECONDS = 30.0  # the default
QUEUED_AT_SIGTERM = 20


def pending(data: Path) -> int:
    rows = query(data / "notifications.db", "SELECT count(*) FROM outbox WHERE status='pending'")
    return int(str(rows[0][0])) if rows else 0


def log_events(log: Path, event: str) -> list[dict[str, object]]:
    """The JSON log records whose ``event`` is ``event``."""
    records = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and f'"event": "{event}"' in line:
            records.append(json.loads(line))
    return records


def titles(bodies: list[dict[str, object]]) -> list[str]:
    return [str(body["embeds"][0]["title"]) for body in bodies]  # type: ignore[index]


@pytest.mark.asyncio
async def test_sigterm_with_alerts_queued_delivers_each_exactly_once_within_the_timeout(
    tmp_path: Path, shared_data: Path
) -> None:
    stand_in = DiscordStandIn(load_limits(shared_data), limit=5, period=2.0, sliding=True)
    data, log = tmp_path / "data", tmp_path / "daemon.log"
    async with StandInServer(stand_in) as discord:
        url = discord.add_webhook("4242", "standin-token")
        env = daemon_env(tmp_path, DISCORD_WEBHOOK_URL=url)
        env["SHUTDOWN_TIMEOUT_SECONDS"] = f"{SHUTDOWN_TIMEOUT_SECONDS:g}"
        proc = start(tmp_path, env, SYMBOLS, "--speed", "max", "--start", "2025-06-05")
        deadline = time.monotonic() + 60
        # mid-session, with a position open (its close adds alerts) and 20 alerts queued
        while (queued := pending(data)) < QUEUED_AT_SIGTERM or not has_open_trade(data):
            assert proc.poll() is None, log_tail(tmp_path)
            assert time.monotonic() < deadline, "never 20 alerts queued with a trade open"
            await asyncio.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = await wait_exit(proc, SHUTDOWN_TIMEOUT_SECONDS + 15)
        to_exit = time.monotonic() - signalled
    rows = outbox(data)
    received = discord.bodies("4242")
    timeline = discord.timeline()
    finished = log_events(log, "shutdown finished")
    steps = log_events(log, "shutdown step done")
    print(
        f"\n{queued} alerts queued at SIGTERM; exit {code} {to_exit:.2f} s after it; "
        f"{len(rows)} outbox rows; {timeline}"
    )
    for step in steps:
        print(f"  step {step['step']}: {step['seconds']} s of {step['budget_seconds']} s")
    print(f"  shutdown finished: {finished[-1] if finished else None}")

    assert code == 0, log_tail(tmp_path)
    assert to_exit < SHUTDOWN_TIMEOUT_SECONDS
    logged = log.read_text(errors="replace")
    assert "shutdown step timed out" not in logged and "shutdown step failed" not in logged
    assert steps and all(step["outcome"] == "ok" for step in steps)
    assert [status for _, status, _ in rows] == ["sent"] * len(rows), log_tail(tmp_path)
    # every stored body reached Discord once, in order: none missing, none twice
    assert received == [body for _, _, body in rows]
    assert len({json.dumps(body, sort_keys=True) for body in received}) == len(received)
    assert timeline.accepted == len(rows) and timeline.requests == len(rows)
    assert timeline.into_full_window == 0 and discord.self_provoked_429s == 0
    assert titles(received)[-1] == "Shutdown"  # the last alert, delivered in this run
    shutdown = str(received[-1]["embeds"][0]["description"])  # type: ignore[index]
    interrupted = r"stopped \(SIGTERM\); session \S+ interrupted after \d+ of \d+ bars"
    assert re.fullmatch(interrupted, shutdown), shutdown
    assert "Position closed" in " ".join(titles(received[-4:]))  # closed at shutdown
    assert "Daily summary" in " ".join(titles(received))
    stopped = log_events(log, "notifier stopped")
    assert stopped and stopped[-1]["unsent"] == 0 and stopped[-1]["sent_while_stopping"]
    assert re.search(r"shutdown\s+│\s+[\d.]+ s of 30 s, \d+ steps ok, alerts all sent", logged)


@pytest.mark.asyncio
async def test_a_budget_too_short_leaves_the_rest_for_the_next_start_and_never_resends(
    tmp_path: Path, shared_data: Path
) -> None:
    """6 s are not enough for ~20 alerts at 5 per 2 s: the notifier delivers what it can,
    stops in time (no step times out), says how many are left, and the next start sends
    exactly those."""
    stand_in = DiscordStandIn(load_limits(shared_data), limit=5, period=2.0, sliding=True)
    data, log = tmp_path / "data", tmp_path / "daemon.log"
    async with StandInServer(stand_in) as discord:
        url = discord.add_webhook("4243", "standin-token")
        env = daemon_env(tmp_path, DISCORD_WEBHOOK_URL=url)
        env["SHUTDOWN_TIMEOUT_SECONDS"] = "6"
        proc = start(tmp_path, env, SYMBOLS, "--speed", "max", "--start", "2025-06-05")
        deadline = time.monotonic() + 60
        while pending(data) < QUEUED_AT_SIGTERM:
            assert proc.poll() is None, log_tail(tmp_path)
            assert time.monotonic() < deadline, "never 20 alerts queued"
            await asyncio.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = await wait_exit(proc, 20)
        to_exit = time.monotonic() - signalled
        left = pending(data)
        sent_first = len(discord.bodies("4243"))
        logged = log.read_text(errors="replace")
        print(f"\nexit {code} {to_exit:.2f} s after SIGTERM; {sent_first} sent, {left} left")
        assert code == 0 and to_exit < 6.0, log_tail(tmp_path)
        assert "shutdown step timed out" not in logged
        assert left > 0 and log_events(log, "notifier stopped")[-1]["unsent"] == left
        assert re.search(
            rf"shutdown\s+│\s+[\d.]+ s of 6 s, \d+ steps ok, {left} alerts unsent", logged
        )

        # the next start (nothing left to trade in its range, the default timeout)
        # delivers exactly the rest. Each process paces only its own requests (the
        # window of the one that just exited is not carried over), so the restart
        # waits that window out (2 s) instead of racing it
        await asyncio.sleep(2.0 + 0.25)
        env["SHUTDOWN_TIMEOUT_SECONDS"] = "30"
        again = start(
            tmp_path, env, SYMBOLS, "--speed", "max", "--start", "2025-06-05", "--end", "2025-06-05"
        )
        assert await wait_exit(again, 60) == 0, log_tail(tmp_path)
    rows = outbox(data)
    received = discord.bodies("4243")
    assert [status for _, status, _ in rows] == ["sent"] * len(rows), log_tail(tmp_path)
    assert received == [body for _, _, body in rows]  # none missing, none twice, in order
    assert discord.timeline().into_full_window == 0
