"""Discord alerts: payloads, embeds within Discord's limits, rate limiting, durable outbox.

The names below are imported on first use (PEP 562): importing one submodule,
e.g. ``notifications.payloads`` for the alert types, does not pull in httpx
through ``notifications.discord``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_SOURCES = {
    "discord": ("DiscordNotifier", "NotifierStats", "build_discord_notifier", "wants"),
    "formatter": ("format_alert",),
    "outbox": ("OUTBOX_FILENAME", "Outbox", "OutboxEntry"),
    "payloads": (
        "Alert",
        "AlertKind",
        "DailySummaryAlert",
        "OrderCancelledAlert",
        "OrderFilledAlert",
        "OrderRejectedAlert",
        "OrderSentAlert",
        "PositionClosedAlert",
        "SystemAlert",
        "SystemEvent",
    ),
    "rate_limiter": ("TokenBucket",),
    "retry": ("RetryPolicy",),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}

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


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first access (PEP 562).

    Raises:
        AttributeError: ``name`` is not one of the package's public names.
    """
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
