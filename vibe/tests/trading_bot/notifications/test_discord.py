from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest

from vibe.common.clock import SimulatedClock
from vibe.common.models import ExitReason, OrderSide, OrderType, PositionSide
from vibe.tests.support import eventually
from vibe.tests.trading_bot.notifications.helpers import (
    FAST_RETRY,
    T0,
    make_notifier,
    number_of,
    numbered,
)
from vibe.trading_bot.config.settings import NotificationSettings
from vibe.trading_bot.core.health_reporter import HealthState, RecordingHealthReporter
from vibe.trading_bot.notifications.discord import DiscordNotifier
from vibe.trading_bot.notifications.outbox import OUTBOX_FILENAME, Outbox
from vibe.trading_bot.notifications.payloads import (
    OrderSentAlert,
    PositionClosedAlert,
    SystemAlert,
    SystemEvent,
)

TOKEN = "s3cr3t-T0ken_abcdefghijklmnopqrstuvwxyz"


@pytest.mark.asyncio
async def test_burst_of_100_is_delivered_in_order_without_provoking_429(discord, tmp_path):
    url = discord.add_webhook("111", TOKEN)
    notifier = make_notifier(tmp_path, url)
    await notifier.start()
    started = time.perf_counter()
    for n in range(100):
        assert await notifier.notify(numbered(n))
    enqueue_seconds = time.perf_counter() - started
    await eventually(lambda: notifier.stats()["sent"] == 100, within=20)
    assert [number_of(b) for b in discord.bodies("111")] == list(range(100))
    assert discord.self_provoked_429s == 0
    stats = notifier.stats()
    assert stats["rate_limited_responses"] == 0
    assert stats["queue_depth"] == 0 and stats["failed"] == 0
    assert stats["rate_limited_waits"] > 0  # it obeyed X-RateLimit-Remaining: 0
    assert enqueue_seconds < 2.0  # enqueueing never waited for Discord
    await notifier.stop()
    outbox = Outbox(tmp_path / OUTBOX_FILENAME)
    assert (outbox.count("sent"), outbox.count("pending")) == (100, 0)
    outbox.close()


@pytest.mark.asyncio
async def test_forced_429s_and_503s_still_deliver_everything_after_retry_after(discord, tmp_path):
    url = discord.add_webhook("222", TOKEN)
    health = RecordingHealthReporter()
    notifier = make_notifier(tmp_path, url, health)
    discord.force(429, retry_after=0.3)
    discord.force(503, times=3)
    discord.force(429, retry_after=0.25, is_global=True)
    discord.force(502)
    await notifier.start()
    for n in range(20):
        await notifier.notify(numbered(n))
    await eventually(lambda: notifier.stats()["sent"] == 20, within=15)
    assert [number_of(b) for b in discord.bodies("222")] == list(range(20))
    requests = discord.requests
    for i, record in enumerate(requests[:-1]):
        if record.status == 429:
            assert requests[i + 1].at - record.at >= record.retry_after - 0.005
    stats = notifier.stats()
    assert stats["rate_limited_responses"] == 2
    assert stats["retried"] == 4
    assert discord.self_provoked_429s == 0
    assert any(state is HealthState.DEGRADED for state, _ in health.states)  # 3 x 5xx in a row
    assert health.state is HealthState.HEALTHY  # recovered
    await notifier.stop()


@pytest.mark.asyncio
async def test_oversized_payload_is_accepted_by_discord_validation(discord, tmp_path):
    url = discord.add_webhook("333", TOKEN)
    notifier = make_notifier(tmp_path, url)
    await notifier.start()
    details = {f"field {i:02d} " + "n" * 300: "v" * 1500 for i in range(40)}
    alert = SystemAlert(
        timestamp=T0, event=SystemEvent.COMPONENT_UNHEALTHY, component="data",
        message="reason " + "x" * 10_000, details=details,
    )  # fmt: skip
    await notifier.notify(alert)
    await notifier.notify(numbered(1))
    assert await notifier.wait_idle(10)
    assert all(r.status == 204 for r in discord.requests)
    bodies = discord.bodies("333")
    assert len(bodies) >= 3 and number_of(bodies[-1]) == 1
    fields = [f for b in bodies[:-1] for e in b["embeds"] for f in e.get("fields", [])]
    assert len(fields) == 40
    assert notifier.stats()["failed"] == 0
    await notifier.stop()


@pytest.mark.asyncio
async def test_400_is_not_retried_and_the_next_alert_still_goes(discord, tmp_path):
    url = discord.add_webhook("444", TOKEN)
    health = RecordingHealthReporter()
    notifier = make_notifier(tmp_path, url, health)
    discord.force(400, code=50035)
    await notifier.start()
    await notifier.notify(numbered(0))
    await notifier.notify(numbered(1))
    assert await notifier.wait_idle(5)
    assert [r.status for r in discord.requests] == [400, 204]
    assert [number_of(b) for b in discord.bodies()] == [1]
    assert notifier.stats()["failed"] == 1
    assert any("50035" in e for e in health.errors)
    await notifier.stop()
    outbox = Outbox(tmp_path / OUTBOX_FILENAME)
    assert (outbox.count("failed"), outbox.count("sent"), outbox.count("pending")) == (1, 1, 0)
    outbox.close()


@pytest.mark.asyncio
async def test_unknown_webhook_disables_the_notifier_and_reports_unhealthy(discord, tmp_path):
    url = f"{discord.base_url}/api/webhooks/999/{TOKEN}"
    health = RecordingHealthReporter()
    notifier = make_notifier(tmp_path, url, health)
    await notifier.start()
    await notifier.notify(numbered(0))
    await eventually(lambda: health.state is HealthState.UNHEALTHY)
    assert not notifier.enabled
    started = time.perf_counter()
    for n in range(1, 20):
        assert await notifier.notify(numbered(n))  # trading goes on; alerts are kept
    assert time.perf_counter() - started < 1.0
    await notifier.stop()
    assert [r.status for r in discord.requests] == [404]
    reasons = [reason for _, reason in health.states] + health.errors
    assert any("10015" in reason for reason in reasons)
    assert not any(TOKEN in reason for reason in reasons)
    assert notifier.disabled_reason is not None and TOKEN not in notifier.disabled_reason
    outbox = Outbox(tmp_path / OUTBOX_FILENAME)
    assert outbox.count("pending") == 20
    outbox.close()


@pytest.mark.asyncio
async def test_network_errors_are_retried_and_degrade_health(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    health = RecordingHealthReporter()
    notifier = make_notifier(tmp_path, f"http://127.0.0.1:{port}/api/webhooks/1/{TOKEN}", health)
    await notifier.start()
    await notifier.notify(numbered(0))
    await eventually(lambda: notifier.stats()["retried"] >= 3)
    assert health.state is HealthState.DEGRADED
    assert TOKEN not in health.states[-1][1]
    assert "network error" in health.states[-1][1]
    await notifier.stop(budget_seconds=0.1)
    assert health.state is HealthState.STOPPED
    outbox = Outbox(tmp_path / OUTBOX_FILENAME)
    assert outbox.count("pending") == 1  # nothing lost
    outbox.close()


@pytest.mark.asyncio
async def test_toggles_and_log_only_mode(tmp_path):
    notifier = make_notifier(tmp_path, None, notify_on_order=False, notify_on_error=False)
    await notifier.start()
    order = OrderSentAlert(
        timestamp=T0, order_id="o1", symbol="SPY", side=OrderSide.BUY, quantity=1,
        order_type=OrderType.MARKET,
    )  # fmt: skip
    trade = PositionClosedAlert(
        timestamp=T0, symbol="SPY", side=PositionSide.LONG, quantity=1, entry_time=T0,
        entry_price=10.0, exit_time=T0 + timedelta(minutes=1), exit_price=11.0,
        exit_reason=ExitReason.TAKE_PROFIT,
    )  # fmt: skip
    failure = SystemAlert(timestamp=T0, event=SystemEvent.SYNC_FAILURE, message="S3 down")
    assert not await notifier.notify(order)
    assert not await notifier.notify(failure)
    assert await notifier.notify(trade)
    assert await notifier.notify(numbered(0))  # start-up always goes
    stats = notifier.stats()
    assert (stats["suppressed"], stats["logged"], stats["sent"]) == (2, 2, 0)
    await notifier.stop()
    assert not (tmp_path / OUTBOX_FILENAME).exists()


@pytest.mark.asyncio
async def test_stop_is_idempotent_and_later_alerts_are_only_logged(discord, tmp_path):
    url = discord.add_webhook("666", TOKEN)
    notifier = make_notifier(tmp_path, url)
    await notifier.start()
    await notifier.notify(numbered(0))
    await notifier.stop()
    await notifier.stop()
    assert not await notifier.notify(numbered(1))
    assert notifier.stats()["logged"] == 1
    assert [number_of(b) for b in discord.bodies("666")] == [0]  # drained before stopping


@pytest.mark.asyncio
async def test_waits_are_real_seconds_and_never_move_a_simulated_trading_clock(discord, tmp_path):
    url = discord.add_webhook("777", TOKEN)
    clock = SimulatedClock(T0)
    notifier = DiscordNotifier(
        NotificationSettings(
            discord_webhook_url=url,
            discord_rate_limit_capacity=5,
            discord_rate_limit_period_seconds=0.2,
        ),
        Outbox(tmp_path / OUTBOX_FILENAME),
        clock,  # a replay's clock: only stamps the outbox rows
        RecordingHealthReporter(),
        retry_policy=FAST_RETRY,
    )
    discord.force(429, retry_after=0.4)
    discord.force(503)
    await notifier.start()
    started = time.monotonic()
    for n in range(3):
        await notifier.notify(numbered(n))
    await eventually(lambda: notifier.stats()["sent"] == 3, within=10)
    assert time.monotonic() - started >= 0.4  # retry_after was waited for in real time
    assert clock.now() == T0  # ... and the trading clock did not move
    assert [number_of(b) for b in discord.bodies("777")] == [0, 1, 2]
    await notifier.stop()
