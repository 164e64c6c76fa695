"""DiscordNotifier.stop(budget): deliver within the budget, never turn an accepted delivery
into a duplicate, and leave only what could not be sent for the next start."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from vibe.common.clock import LiveClock
from vibe.tests.support import eventually
from vibe.tests.trading_bot.notifications.discord_standin import DiscordStandIn
from vibe.tests.trading_bot.notifications.helpers import make_notifier, number_of, numbered
from vibe.trading_bot.config.settings import NotificationSettings
from vibe.trading_bot.core.health_reporter import HealthState, RecordingHealthReporter
from vibe.trading_bot.notifications.discord import DiscordNotifier
from vibe.trading_bot.notifications.outbox import OUTBOX_FILENAME, Outbox
from vibe.trading_bot.notifications.retry import RetryPolicy

TOKEN = "st0p-T0ken_abcdefghijklmnopqrstuvwxyz"


def statuses(data_dir: Path) -> list[str]:
    outbox = Outbox(data_dir / OUTBOX_FILENAME)
    try:
        rows = outbox.db.query("SELECT status FROM outbox ORDER BY id")
        return [str(row["status"]) for row in rows]
    finally:
        outbox.close()


@pytest.mark.asyncio
async def test_stop_delivers_the_whole_queue_within_its_budget_then_closes(
    discord: DiscordStandIn, tmp_path: Path
) -> None:
    url = discord.add_webhook("100", TOKEN)
    health = RecordingHealthReporter()
    notifier = make_notifier(tmp_path, url, health, period_seconds=0.5)  # 5 per 0.5 s
    await notifier.start()
    for n in range(20):
        await notifier.notify(numbered(n))
    started = time.monotonic()
    await notifier.stop(budget_seconds=5.0)
    took = time.monotonic() - started
    assert 1.0 < took < 5.0  # paced by the rate limit, within the budget
    assert [number_of(b) for b in discord.bodies("100")] == list(range(20))
    assert statuses(tmp_path) == ["sent"] * 20
    assert notifier.stats()["queue_depth"] == 0
    assert health.state is HealthState.STOPPED and health.states[-1][1] == "every alert delivered"
    assert discord.self_provoked_429s == 0


@pytest.mark.asyncio
async def test_a_short_budget_keeps_the_rest_pending_for_the_next_start_exactly_once(
    discord: DiscordStandIn, tmp_path: Path
) -> None:
    url = discord.add_webhook("101", TOKEN)
    notifier = make_notifier(tmp_path, url, period_seconds=1.0)  # 5 per s
    await notifier.start()
    for n in range(20):
        await notifier.notify(numbered(n))
    started = time.monotonic()
    await notifier.stop(budget_seconds=1.5)
    assert time.monotonic() - started < 1.5
    sent = len(discord.bodies("101"))
    assert 0 < sent < 20
    assert statuses(tmp_path) == ["sent"] * sent + ["pending"] * (20 - sent)
    assert notifier.stats()["queue_depth"] == 20 - sent

    again = make_notifier(tmp_path, url, period_seconds=0.2)
    await again.start()
    await again.stop(budget_seconds=10.0)
    assert [number_of(b) for b in discord.bodies("101")] == list(range(20))  # none twice


@pytest.mark.asyncio
async def test_a_request_in_flight_at_stop_is_recorded_sent_never_resent(
    discord: DiscordStandIn, tmp_path: Path
) -> None:
    discord.reply_delay = 0.8  # Discord accepts the body, the reply takes 0.8 s
    url = discord.add_webhook("102", TOKEN)
    notifier = make_notifier(tmp_path, url)
    await notifier.start()
    await notifier.notify(numbered(0))
    await notifier.notify(numbered(1))
    await eventually(lambda: len(discord.bodies("102")) == 1)  # accepted, reply on its way
    started = time.monotonic()
    await notifier.stop(budget_seconds=1.3)  # no time for alert 1 after the reply
    assert time.monotonic() - started < 1.3
    assert statuses(tmp_path) == ["sent", "pending"]

    discord.reply_delay = 0.0
    again = make_notifier(tmp_path, url)
    await again.start()
    await again.stop(budget_seconds=5.0)
    assert [number_of(b) for b in discord.bodies("102")] == [0, 1]  # alert 0 not resent


@pytest.mark.asyncio
async def test_stop_does_not_wait_out_a_backoff_that_ends_after_its_budget(
    tmp_path: Path,
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/webhooks/1/{TOKEN}"
    notifier = DiscordNotifier(
        NotificationSettings(discord_webhook_url=url),
        Outbox(tmp_path / OUTBOX_FILENAME),
        LiveClock(),
        RecordingHealthReporter(),
        retry_policy=RetryPolicy(base_delay_seconds=30.0, max_delay_seconds=60.0),
    )
    await notifier.start()
    await notifier.notify(numbered(0))
    await eventually(lambda: notifier.stats()["retried"] == 1)  # now waiting 15-30 s
    started = time.monotonic()
    await notifier.stop(budget_seconds=10.0)
    assert time.monotonic() - started < 1.0
    assert statuses(tmp_path) == ["pending"]
