"""Builders shared by the notifier tests (also used by the crash-test child process)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vibe.common.clock import LiveClock
from vibe.trading_bot.config.settings import NotificationSettings
from vibe.trading_bot.core.health_reporter import HealthReporter, RecordingHealthReporter
from vibe.trading_bot.notifications.discord import DiscordNotifier
from vibe.trading_bot.notifications.outbox import OUTBOX_FILENAME, Outbox
from vibe.trading_bot.notifications.payloads import SystemAlert, SystemEvent
from vibe.trading_bot.notifications.retry import RetryPolicy

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
FAST_RETRY = RetryPolicy(base_delay_seconds=0.02, max_delay_seconds=0.1, degrade_after=3)


def numbered(n: int) -> SystemAlert:
    return SystemAlert(timestamp=T0, event=SystemEvent.STARTUP, message=f"alert {n:03d}")


def number_of(body: dict[str, Any]) -> int:
    return int(body["embeds"][0]["description"].split()[-1])


def make_notifier(
    data_dir: Path,
    url: str | None,
    health: HealthReporter | None = None,
    period_seconds: float = 0.2,
    **toggles: bool,
) -> DiscordNotifier:
    values: dict[str, Any] = {
        "discord_webhook_url": url,
        "discord_rate_limit_capacity": 5,
        "discord_rate_limit_period_seconds": period_seconds,
        **toggles,
    }
    settings = NotificationSettings(**values)
    outbox = Outbox(data_dir / OUTBOX_FILENAME) if url else None
    return DiscordNotifier(
        settings,
        outbox,
        LiveClock(),
        health or RecordingHealthReporter(),
        retry_policy=FAST_RETRY,
        rng=random.Random(7),
    )
