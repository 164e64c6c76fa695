"""Alerts rendered as Discord webhook bodies (embeds), every Discord limit enforced.

:func:`format_alert` is the entry point: it turns one alert into one or more
webhook bodies (``{"embeds": [...]}`` dicts ready for ``POST
/api/webhooks/{id}/{token}``). Colours: green for a profit, red for a loss,
blue for orders, grey for system events. Limits are applied by
:mod:`vibe.trading_bot.notifications.limits` (truncation with ``…``; extra
fields and oversized content split into further embeds and messages), so no
body ever breaks a documented limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vibe.trading_bot.notifications.limits import (
    LIMITS,
    DiscordLimits,
    EmbedSpec,
    build_embeds,
    pack_messages,
)
from vibe.trading_bot.notifications.payloads import (
    Alert,
    DailySummaryAlert,
    OrderCancelledAlert,
    OrderFilledAlert,
    OrderRejectedAlert,
    OrderSentAlert,
    PositionClosedAlert,
    SystemAlert,
)
from vibe.trading_bot.utils.timefmt import et_text

GREEN = 0x2ECC71
RED = 0xE74C3C
BLUE = 0x3498DB
GREY = 0x95A5A6
DEFAULT_FOOTER = "vibe trading bot · paper trading"


def usd(value: float, signed: bool = False) -> str:
    """``1234.5`` -> ``"$1,234.50"``; with ``signed``: ``"+$1,234.50"`` / ``"-$1,234.50"``."""
    sign = "-" if value < 0 else ("+" if signed else "")
    return f"{sign}${abs(value):,.2f}"


def pct(value: float) -> str:
    """``1.234`` -> ``"+1.23%"``."""
    return f"{value:+.2f}%"


def duration(seconds: float) -> str:
    """``3725`` -> ``"1h 02m 05s"``; under an hour ``"2m 05s"``; under a minute ``"5s"``."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _order_sent(alert: OrderSentAlert) -> EmbedSpec:
    fields = [("Type", alert.order_type.value, True), ("Order id", alert.order_id, True)]
    if alert.limit_price is not None:
        fields.append(("Limit", usd(alert.limit_price), True))
    if alert.stop_price is not None:
        fields.append(("Stop", usd(alert.stop_price), True))
    title = f"Order sent: {alert.side.value.upper()} {alert.quantity} {alert.symbol}"
    return EmbedSpec(title=title, colour=BLUE, description=alert.reason, fields=fields)


def _order_filled(alert: OrderFilledAlert) -> EmbedSpec:
    slip = f"{usd(alert.slippage_usd, signed=True)} ({alert.slippage_bps:+.1f} bps)"
    fields = [
        ("Fill price", usd(alert.fill_price), True),
        ("Expected", usd(alert.expected_price), True),
        ("Slippage", slip, True),
        ("Commission", usd(alert.commission), True),
        ("Order id", alert.order_id, True),
    ]
    title = (
        f"Order filled: {alert.side.value.upper()} {alert.quantity} {alert.symbol} "
        f"@ {usd(alert.fill_price)}"
    )
    return EmbedSpec(title=title, colour=BLUE, fields=fields)


def _order_cancelled(alert: OrderCancelledAlert) -> EmbedSpec:
    fields = [
        ("Filled", f"{alert.filled_quantity} of {alert.quantity} shares", True),
        ("Order id", alert.order_id, True),
    ]
    title = f"Order cancelled: {alert.side.value.upper()} {alert.quantity} {alert.symbol}"
    return EmbedSpec(title=title, colour=BLUE, description=alert.reason, fields=fields)


def _order_rejected(alert: OrderRejectedAlert) -> EmbedSpec:
    fields = [("Reason", alert.reason, True)]
    if alert.order_id:
        fields.append(("Order id", alert.order_id, True))
    title = f"Order rejected: {alert.side.value.upper()} {alert.quantity} {alert.symbol}"
    return EmbedSpec(title=title, colour=RED, description=alert.detail, fields=fields)


def _position_closed(alert: PositionClosedAlert) -> EmbedSpec:
    slip = f"{usd(alert.slippage_usd)} ({alert.slippage_bps:.1f} bps)"
    fields = [
        ("Entry", f"{usd(alert.entry_price)} at {et_text(alert.entry_time, seconds=True)}", True),
        ("Exit", f"{usd(alert.exit_price)} at {et_text(alert.exit_time, seconds=True)}", True),
        ("P&L", f"{usd(alert.pnl_usd, signed=True)} ({pct(alert.pnl_pct)})", True),
        ("Slippage", slip, True),
        ("Fees", usd(alert.fees), True),
        ("Hold time", duration(alert.hold_seconds), True),
        ("Exit reason", alert.exit_reason.value.replace("_", " "), True),
    ]
    if alert.strategy:
        fields.append(("Strategy", alert.strategy, True))
    title = (
        f"Position closed: {alert.side.value.upper()} {alert.quantity} {alert.symbol} "
        f"{usd(alert.pnl_usd, signed=True)}"
    )
    colour = GREEN if alert.pnl_usd >= 0 else RED
    return EmbedSpec(title=title, colour=colour, fields=fields)


def _daily_summary(alert: DailySummaryAlert) -> EmbedSpec:
    win_rate = "n/a" if alert.win_rate_pct is None else f"{alert.win_rate_pct:.1f}%"
    fields = [
        ("Trades", f"{alert.trades} ({alert.wins} won, {alert.losses} lost)", True),
        ("Win rate", win_rate, True),
        ("Net P&L", usd(alert.net_pnl_usd, signed=True), True),
        ("Gross P&L", usd(alert.gross_pnl_usd, signed=True), True),
        ("Fees", usd(alert.fees_usd), True),
        ("Equity", f"{usd(alert.ending_equity)} ({pct(alert.return_pct)})", True),
    ]
    if alert.max_drawdown_pct is not None:
        fields.append(("Max drawdown", f"{alert.max_drawdown_pct:.2f}%", True))
    fields.extend(
        (symbol, usd(pnl, signed=True), True) for symbol, pnl in alert.per_symbol_pnl.items()
    )
    colour = GREEN if alert.net_pnl_usd >= 0 else RED
    title = f"Daily summary {alert.session_date.isoformat()}"
    return EmbedSpec(title=title, colour=colour, fields=fields)


def _system(alert: SystemAlert) -> EmbedSpec:
    label = alert.event.value.replace("_", " ").capitalize()
    title = f"{label}: {alert.component}" if alert.component else label
    fields = [(name, value, False) for name, value in alert.details.items()]
    return EmbedSpec(title=title, colour=GREY, description=alert.message, fields=fields)


_BUILDERS: dict[type, Callable[[Any], EmbedSpec]] = {
    OrderSentAlert: _order_sent,
    OrderFilledAlert: _order_filled,
    OrderCancelledAlert: _order_cancelled,
    OrderRejectedAlert: _order_rejected,
    PositionClosedAlert: _position_closed,
    DailySummaryAlert: _daily_summary,
    SystemAlert: _system,
}


def describe(alert: Alert, footer: str = DEFAULT_FOOTER) -> EmbedSpec:
    """The embed content of ``alert`` (title, colour, fields, footer, timestamp), not yet fitted."""
    spec = _BUILDERS[type(alert)](alert)
    spec.footer = footer
    spec.timestamp = alert.timestamp.isoformat()
    return spec


def format_alert(
    alert: Alert, footer: str = DEFAULT_FOOTER, limits: DiscordLimits = LIMITS
) -> list[dict[str, Any]]:
    """Webhook bodies for ``alert``, in send order; each one within every Discord limit.

    Returns:
        One body for an ordinary alert; more when its fields or text pass the
        per-message limits (fields split across ``(cont. n)`` embeds, at most
        10 embeds and 6000 characters per body).
    """
    return pack_messages(build_embeds(describe(alert, footer), limits), limits=limits)


def log_summary(alert: Alert) -> dict[str, Any]:
    """``{"kind", "title", "description", "fields": {name: value}}`` of ``alert`` for log lines."""
    spec = describe(alert)
    summary: dict[str, Any] = {"kind": alert.kind.value, "title": spec.title}
    if spec.description:
        summary["description"] = spec.description
    summary["fields"] = {name: value for name, value, _ in spec.fields}
    return summary
