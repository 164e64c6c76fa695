"""``show-status``: the running daemon's state, else what the databases say."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vibe.trading_bot.commands.common import env_file_or_exit, user_errors


def status_command(as_json: bool, env_file: Path | None) -> None:
    """Print the status (see :mod:`vibe.trading_bot.core.status`)."""
    from vibe.common.clock import LiveClock
    from vibe.trading_bot.config.loader import load_settings
    from vibe.trading_bot.core.scheduler import MarketScheduler
    from vibe.trading_bot.core.status import fetch_daemon_state, from_databases, merge_daemon_state

    with user_errors():
        settings = load_settings(env_file_or_exit(env_file))
        scheduler = MarketScheduler(settings.trading.market_calendar)
        report = from_databases(settings, scheduler, LiveClock())
        state = fetch_daemon_state(settings.health.health_check_port)
        if state is not None:
            report = merge_daemon_state(report, state)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
        return
    held = ", ".join(f"{p['symbol']} {p['quantity']}" for p in report.positions)
    table = Table(title=f"vibe trading bot status (from the {report.source})")
    table.add_column("item", style="cyan")
    table.add_column("value")
    rows = [
        ("mode", report.mode),
        ("health", report.status),
        *((f"  {name}", state) for name, state in sorted(report.components.items())),
        (
            "open positions",
            held or "none",
        ),
        (f"trades on {report.session or '-'}", str(report.trades_today)),
        ("net P&L that session (after fees)", f"{report.pnl_today:,.2f} USD"),
        ("entries refused that session", _refusals(report.rejections_today)),
        ("equity", "-" if report.equity is None else f"{report.equity:,.2f} USD"),
        ("last bar", report.last_bar_time or "-"),
        (
            "last bar age",
            "-" if report.last_bar_age_seconds is None else f"{report.last_bar_age_seconds:,.0f} s",
        ),
        ("next open", report.next_open or "-"),
        ("last cloud sync", report.last_cloud_sync or "never"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    Console().print(table)


def _refusals(counts: dict[str, int]) -> str:
    """``"3 (zero_quantity 2, volume_filter 1)"``, or ``"0"``."""
    if not counts:
        return "0"
    detail = ", ".join(f"{rule} {count}" for rule, count in counts.items())
    return f"{sum(counts.values())} ({detail})"
