"""``run`` and ``run --replay``: the daemon, live or on recorded bars.

Both hold the exclusive lock on ``DATA_DIR`` (:mod:`~vibe.trading_bot.storage.data_dir_lock`)
for the whole run: a second daemon on the same folder exits 1 at once with one
``error: ...`` line naming the folder and the holder's pid.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from vibe.trading_bot.commands.common import (
    check_data_dir,
    check_range,
    env_file_or_exit,
    fail,
    parse_day,
    parse_speed,
    parse_symbols,
    user_errors,
)
from vibe.trading_bot.commands.progress import SessionProgress
from vibe.trading_bot.config.loader import load_settings
from vibe.trading_bot.config.settings import AppSettings
from vibe.trading_bot.core.run_plan import RunMode, RunPlan
from vibe.trading_bot.storage.data_dir_lock import DataDirLock

if TYPE_CHECKING:
    from vibe.trading_bot.core.orchestrator import RunOutcome


def replay_dates(
    settings: AppSettings, folder: Path, symbols: list[str], timeframe: str
) -> tuple[date, date]:
    """First and last session date (ET) in the replay files of ``symbols``.

    Raises:
        NoDataError: a symbol has no file; DataError: a file is unreadable.
    """
    from vibe.trading_bot.core.scheduler import MarketScheduler
    from vibe.trading_bot.data.frames import dt_index
    from vibe.trading_bot.data.providers.replay import ReplayProvider

    scheduler = MarketScheduler.for_settings(settings)
    provider = ReplayProvider(folder, scheduler, timeframe=timeframe)
    firsts, lasts = [], []
    for symbol in symbols:
        frame = provider.load(symbol, timeframe)
        if frame.empty:
            fail(f"symbol {symbol} has no {timeframe} bars in {folder}")
        index = dt_index(frame).tz_convert("America/New_York")
        firsts.append(index[0].date())
        lasts.append(index[-1].date())
    return min(firsts), max(lasts)


def run_command(
    replay: Path | None,
    speed: str,
    start: str | None,
    end: str | None,
    symbols: str | None,
    env_file: Path | None,
) -> None:
    """Run the daemon (see ``python -m vibe.trading_bot run --help``)."""
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    check_range(first, last)
    pace = parse_speed(speed)
    chosen = parse_symbols(symbols)
    with user_errors():
        settings = load_settings(
            env_file_or_exit(env_file), {"symbols": chosen} if chosen else None
        )
        plan = _plan(settings, replay, pace, first, last)
        _preflight(settings, plan)
        console = Console(stderr=True)
        with (
            DataDirLock(plan.data_dir),  # one daemon per DATA_DIR, before any file is opened
            SessionProgress(console, enabled=plan.mode is RunMode.REPLAY) as progress,
        ):
            plan = _with_progress(plan, progress)
            outcome = asyncio.run(_run(settings, plan))
        if plan.mode is RunMode.REPLAY:
            from vibe.trading_bot.commands.summary import print_run_summary

            print_run_summary(settings, outcome, Console())


def _plan(
    settings: AppSettings,
    replay: Path | None,
    speed: float | None,
    start: date | None,
    end: date | None,
) -> RunPlan:
    trading = settings.trading
    data_dir, symbols = settings.storage.data_dir, tuple(trading.symbols)
    if replay is None:
        if start or end:
            fail("--start/--end apply to --replay (and backtest) only")
        return RunPlan(RunMode.LIVE, data_dir, symbols, trading.timeframe)
    check_data_dir(replay, "--replay")
    if start is None or end is None:
        first, last = replay_dates(settings, replay, list(symbols), trading.timeframe)
        start, end = start or first, end or last
        check_range(start, end)
    return RunPlan(
        RunMode.REPLAY,
        data_dir,
        symbols,
        trading.timeframe,
        replay_dir=replay,
        start=start,
        end=end,
        speed=speed,
    )


def _preflight(settings: AppSettings, plan: RunPlan) -> None:
    """Exit 2 now, with one line, for what would stop the start-up later (see :mod:`.preflight`)."""
    from vibe.trading_bot.commands.preflight import check_port_free, check_writable_folder

    check_writable_folder(plan.data_dir, f"DATA_DIR={plan.data_dir}")
    if plan.serve_health:
        health = settings.health
        check_port_free(health.health_check_host, health.health_check_port)


def _with_progress(plan: RunPlan, progress: SessionProgress) -> RunPlan:
    from dataclasses import replace

    return replace(plan, progress=progress.update) if progress.enabled else plan


async def _run(settings: AppSettings, plan: RunPlan) -> RunOutcome:
    from vibe.trading_bot.core.orchestrator import Orchestrator

    return await Orchestrator(settings, plan).run()
