"""``run`` and ``run --replay``: the daemon, live or on recorded bars.

Both hold the exclusive lock on ``DATA_DIR`` (:mod:`~vibe.trading_bot.storage.data_dir_lock`)
for the whole run: a second daemon on the same folder exits 1 at once with one
``error: ...`` line naming the folder and the holder's pid.

A ``DATA_DIR`` belongs to the mode that made it (live, or the replay of one
folder; :mod:`~vibe.trading_bot.storage.folder_mode`): a run of another mode
exits 2 with one ``error: ...`` line naming the folder and why, unless
``--allow-mode-change`` is given. A replay resumes after the last bar it
processed; when nothing is left (the replay was already complete) the summary
says so and how to start over.
"""

from __future__ import annotations

import asyncio
import shlex
from dataclasses import replace
from datetime import date, datetime
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
from vibe.trading_bot.storage.folder_mode import check_folder_mode

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
    *,
    allow_mode_change: bool = False,
) -> None:
    """Run the daemon (see ``python -m vibe.trading_bot run --help``).

    Raises:
        typer.Exit: 2 for a user error (one ``error: ...`` line, e.g. a ``DATA_DIR``
            made by another mode without ``allow_mode_change``), 1 for an
            operational failure such as a ``DATA_DIR`` in use by another daemon.
    """
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    check_range(first, last)
    pace = parse_speed(speed)
    chosen = parse_symbols(symbols)
    with user_errors():
        settings = load_settings(
            env_file_or_exit(env_file), {"symbols": chosen} if chosen else None
        )
        plan = replace(
            _plan(settings, replay, pace, first, last), allow_mode_change=allow_mode_change
        )
        _preflight(settings, plan)
        console = Console(stderr=True)
        with DataDirLock(plan.data_dir):  # one daemon per DATA_DIR, before any file is opened
            mode = plan.folder_mode
            if mode is not None:  # nothing started, nothing written yet
                check_folder_mode(plan.data_dir, mode, allow_mode_change)
            resumed_from = _stored_cursor(plan)
            with SessionProgress(console, enabled=plan.mode is RunMode.REPLAY) as progress:
                plan = _with_progress(plan, progress)
                outcome = asyncio.run(_run(settings, plan))
        if plan.mode is RunMode.REPLAY:
            from vibe.trading_bot.commands.summary import print_run_summary

            out = Console()
            print_run_summary(settings, outcome, out, env_file)
            if resumed_from is not None and progress.bars == 0 and outcome.stop_reason is None:
                _say_already_complete(plan, resumed_from, out)


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


def _stored_cursor(plan: RunPlan) -> datetime | None:
    """The resume cursor of this replay's source in ``DATA_DIR/state.db`` (read-only), if any.

    Only a peek, to say "nothing replayed" afterwards: a file this read-only open
    refuses gives ``None``, and the run's own (writable) open then migrates it or
    stops with the same error. A ``kill -9`` between creating ``state.db`` and
    committing its schema leaves a file at schema version 0, which the read-only
    open refuses and the writable one completes.
    """
    from vibe.common.clock import LiveClock
    from vibe.common.errors import StorageError
    from vibe.trading_bot.storage.run_state import RunStateStore

    if plan.mode is not RunMode.REPLAY or not (plan.data_dir / RunStateStore.FILENAME).is_file():
        return None
    try:
        state = RunStateStore.in_data_dir(plan.data_dir, LiveClock(), read_only=True)
    except StorageError:
        return None
    try:
        return state.cursor(plan.source)
    finally:
        state.close()


def _say_already_complete(plan: RunPlan, cursor: datetime, console: Console) -> None:
    """Say plainly that the replay had nothing left to do, and how to start over."""
    from zoneinfo import ZoneInfo

    last = cursor.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M %Z")
    console.print(
        f"nothing replayed: DATA_DIR {plan.data_dir} already holds this replay up to its last "
        f"bar (ending {last}) and a replay resumes where it stopped; to start over, delete "
        f"that folder (rm -rf {shlex.quote(str(plan.data_dir))}) or set DATA_DIR to a new one",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _with_progress(plan: RunPlan, progress: SessionProgress) -> RunPlan:
    return replace(plan, progress=progress.update) if progress.enabled else plan


async def _run(settings: AppSettings, plan: RunPlan) -> RunOutcome:
    from vibe.trading_bot.core.orchestrator import Orchestrator

    return await Orchestrator(settings, plan).run()
