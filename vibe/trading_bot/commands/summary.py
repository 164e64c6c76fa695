"""The end-of-run summary of ``run --replay`` (from ``trades.db``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from vibe.common.clock import LiveClock
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.daily_summary import tally_trades
from vibe.trading_bot.execution.order_manager import cash_from_fills
from vibe.trading_bot.storage.trade_store import TradeStore


def print_run_summary(
    settings: AppSettings, sessions: int, stop_reason: str | None, console: Console
) -> None:
    """Trades, win rate, net P&L and equity (USD) over everything in ``DATA_DIR/trades.db``."""
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
    for name, value in (
        ("sessions run", f"{sessions}"),
        ("trades (all runs in DATA_DIR)", f"{figures.trades}"),
        ("wins / losses", f"{figures.wins} / {figures.losses}"),
        ("win rate", win_rate),
        ("net P&L", f"{figures.net_pnl:,.2f} USD"),
        ("fees", f"{figures.fees:,.2f} USD"),
        ("equity", f"{equity:,.2f} USD (started {capital:,.2f})"),
    ):
        table.add_row(name, value)
    console.print(table)
    console.print(
        f"databases in {data_dir}; inspect them with: python -m vibe.trading_bot show-status"
    )
