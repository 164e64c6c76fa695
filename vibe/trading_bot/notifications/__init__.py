"""Discord alerts: payloads, embeds within Discord's limits, rate limiting, durable outbox."""

from vibe.trading_bot.notifications.discord import (
    DiscordNotifier,
    NotifierStats,
    build_discord_notifier,
    wants,
)
from vibe.trading_bot.notifications.formatter import format_alert
from vibe.trading_bot.notifications.outbox import OUTBOX_FILENAME, Outbox, OutboxEntry
from vibe.trading_bot.notifications.payloads import (
    Alert,
    AlertKind,
    DailySummaryAlert,
    OrderCancelledAlert,
    OrderFilledAlert,
    OrderRejectedAlert,
    OrderSentAlert,
    PositionClosedAlert,
    SystemAlert,
    SystemEvent,
)
from vibe.trading_bot.notifications.rate_limiter import TokenBucket
from vibe.trading_bot.notifications.retry import RetryPolicy

__all__ = [
    "OUTBOX_FILENAME",
    "Alert",
    "AlertKind",
    "DailySummaryAlert",
    "DiscordNotifier",
    "NotifierStats",
    "OrderCancelledAlert",
    "OrderFilledAlert",
    "OrderRejectedAlert",
    "OrderSentAlert",
    "Outbox",
    "OutboxEntry",
    "PositionClosedAlert",
    "RetryPolicy",
    "SystemAlert",
    "SystemEvent",
    "TokenBucket",
    "build_discord_notifier",
    "format_alert",
    "wants",
]
