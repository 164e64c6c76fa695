"""The end-of-run summary of ``run --replay`` (from ``trades.db``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from vibe.common.clock import LiveClock
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.daily_summary import tally_trades
from vibe.trading_bot.execution.order_manager import cash_from_fills
from vibe.trading_bot.storage.trade_store import TradeStore

if TYPE_CHECKING:
    from vibe.trading_bot.core.orchestrator import RunOutcome


def print_run_summary(settings: AppSettings, outcome: RunOutcome, console: Console) -> None:
    """Trades, win rate, net P&L and equity (USD) over everything in ``DATA_DIR/trades.db``.

    Also this run's complete sessions, the session a stop cut short (not counted as
    run) and how the shutdown went (seconds used of ``SHUTDOWN_TIMEOUT_SECONDS``,
    any step that failed or timed out).
    """
    stop_reason = outcome.stop_reason
    data_dir = settings.storage.data_dir
    store = TradeStore.in_data_dir(data_dir, LiveClock())
    try:
        trades = store.get_trades()
        fills = store.get_fills()
    finally:
        store.close()
    capital = settings.trading.initial_capital
    equity = cash_from_fills(capital, fills)
    figures = tally_trades(trades)
    table = Table(title="replay finished" if stop_reason is None else f"stopped ({stop_reason})")
    table.add_column("figure", style="cyan")
    table.add_column("value", justify="right")
    win_rate = "-" if figures.win_rate_pct is None else f"{figures.win_rate_pct:.1f} %"
    rows = (
        ("sessions run", f"{outcome.sessions}"),
        *_interrupted_row(outcome),
        ("trades (all runs in DATA_DIR)", f"{figures.trades}"),
        ("wins / losses", f"{figures.wins} / {figures.losses}"),
        ("win rate", win_rate),
        ("net P&L", f"{figures.net_pnl:,.2f} USD"),
        ("fees", f"{figures.fees:,.2f} USD"),
        ("equity", f"{equity:,.2f} USD (started {capital:,.2f})"),
        _shutdown_row(settings, outcome),
    )
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    console.print(
        f"databases in {data_dir}; inspect them with: python -m vibe.trading_bot show-status"
    )


def _interrupted_row(outcome: RunOutcome) -> list[tuple[str, str]]:
    cut = outcome.interrupted
    if cut is None:
        return []
    done = f"{cut.bar_groups_done} of {cut.bar_groups} bars"
    return [("interrupted session", f"{cut.day.isoformat()}, after {done}")]


def _shutdown_row(settings: AppSettings, outcome: RunOutcome) -> tuple[str, str]:
    timeout = settings.service.shutdown_timeout_seconds
    used = sum(result.seconds for result in outcome.shutdown)
    problems = [f"{r.name} {r.outcome}" for r in outcome.shutdown if r.outcome != "ok"]
    status = ", ".join(problems) if problems else f"{len(outcome.shutdown)} steps ok"
    from vibe.trading_bot.notifications.discord import DiscordNotifier

    notifier = outcome.parts.notifier
    if isinstance(notifier, DiscordNotifier):
        unsent = notifier.stats()["queue_depth"]
        status += f", {unsent} alerts unsent" if unsent else ", alerts all sent"
    return ("shutdown", f"{used:.1f} s of {timeout:g} s, {status}")
