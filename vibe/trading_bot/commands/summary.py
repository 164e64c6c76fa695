"""The end-of-run summary of ``run --replay`` (from ``trades.db``) and the next command to type."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from vibe.common.clock import LiveClock
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.daily_summary import tally_trades
from vibe.trading_bot.execution.recovery import cash_from_fills
from vibe.trading_bot.storage.trade_store import TradeStore

if TYPE_CHECKING:
    from vibe.trading_bot.core.orchestrator import RunOutcome


def show_status_command(
    env_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    executable: str | None = None,
    cwd: Path | None = None,
) -> str:
    """The ``show-status`` command line that reads this run's databases, ready to paste.

    It names the interpreter that runs now (``.venv/bin/python`` after ``make run``,
    relative to ``cwd`` when inside it), so it works in a shell without the virtual
    environment activated; ``DATA_DIR`` is repeated when it came from the environment
    (a new shell does not have it) and ``--env-file`` when one was given.

    Args:
        env_file: the ``--env-file`` of this run, if any.
        environ: the environment (default ``os.environ``).
        executable: the Python interpreter (default ``sys.executable``).
        cwd: the working directory (default the current one).
    """
    environ = os.environ if environ is None else environ
    python = Path(executable or sys.executable)
    here = (cwd or Path.cwd()).resolve()
    if python.is_absolute() and python.is_relative_to(here):
        python = python.relative_to(here)
    words = []
    if environ.get("DATA_DIR"):
        words.append(f"DATA_DIR={shlex.quote(environ['DATA_DIR'])}")
    words += [shlex.quote(str(python)), "-m", "vibe.trading_bot", "show-status"]
    if env_file is not None:
        words += ["--env-file", shlex.quote(str(env_file))]
    return " ".join(words)


def print_run_summary(
    settings: AppSettings,
    outcome: RunOutcome,
    console: Console,
    env_file: Path | None = None,
) -> None:
    """Trades, win rate, net P&L and equity (USD) over everything in ``DATA_DIR/trades.db``.

    Also this run's complete sessions, the session a stop cut short (not counted as
    run) and how the shutdown went (seconds used of ``SHUTDOWN_TIMEOUT_SECONDS``,
    any step that failed or timed out). The last line is the ``show-status``
    command for these databases (:func:`show_status_command`), printed unwrapped
    so it can be copied.

    Raises:
        StorageError: ``trades.db`` cannot be opened.
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
    console.print(f"databases in {data_dir}; inspect them with:", markup=False, highlight=False)
    console.print(
        f"  {show_status_command(env_file)}", markup=False, highlight=False, soft_wrap=True
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

    notifier = outcome.daemon.notifier
    if isinstance(notifier, DiscordNotifier):
        unsent = notifier.stats()["queue_depth"]
        status += f", {unsent} alerts unsent" if unsent else ", alerts all sent"
    return ("shutdown", f"{used:.1f} s of {timeout:g} s, {status}")
