"""``optimize`` after the checks: load the bars, run on the executor, write and print."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.data.frames import timeframe_seconds
from vibe.trading_bot.optimize.bars import load_bar_set
from vibe.trading_bot.optimize.console import top_trials_table, trial_progress
from vibe.trading_bot.optimize.driver import OptimizeRequest, default_output, run_optimization
from vibe.trading_bot.optimize.executors import make_executor
from vibe.trading_bot.optimize.interrupt import ctrl_c_flag
from vibe.trading_bot.optimize.results import RunInfo, report_dict

if TYPE_CHECKING:
    from vibe.trading_bot.commands.optimize import OptimizeArgs
    from vibe.trading_bot.config.settings import AppSettings


def _fetched(settings: AppSettings, request: OptimizeRequest, scheduler: MarketScheduler) -> Path:
    """No ``--data``: the bars a backtest would fetch, written once (:mod:`..optimize.fetch`)."""
    import asyncio
    import logging

    from vibe.trading_bot.optimize.fetch import fetch_bars

    # yfinance warns about each failed step of a request; the failure is one error line
    logging.getLogger("yfinance").setLevel(logging.ERROR)
    lookback = [settings.strategy.volume_lookback_bars]
    lookback += [int(v) for d in request.dims if d.name == "volume_lookback_bars" for v in d.values]
    return asyncio.run(fetch_bars(settings, scheduler, (request.start, request.end), max(lookback)))


def run_and_report(
    settings: AppSettings, request: OptimizeRequest, args: OptimizeArgs, workers: int
) -> bool:
    """Run the optimization and write ``--output`` (JSON) and the HTML beside it.

    Returns:
        ``True`` when Ctrl-C ended the run early (the reports hold what finished).

    Raises:
        NoDataError, DataError: the bars cannot be read.
        DataUnavailableError: no ``--data`` and Yahoo could not be reached.
        InvalidInputError: no (or too few, for the folds) sessions with bars.
        OperationalError: the Dask cluster cannot be reached.
        StorageError: a report cannot be written.
    """
    import json

    from vibe.trading_bot.backtest.report import html_path_for, write_text_atomic
    from vibe.trading_bot.optimize.html import render_html
    from vibe.trading_bot.web import chart_library_js

    scheduler = MarketScheduler.for_settings(settings, request.start.year - 1, request.end.year)
    data = args.data or _fetched(settings, request, scheduler)
    context = request.context
    bars = load_bar_set(data, context.symbols, context.timeframe, scheduler)
    executor = make_executor(args.executor, bars, workers, args.address)
    err = Console(stderr=True)
    err.print(f"optimize on {executor.description}; study storage {request.storage}",
              highlight=False, markup=False)  # fmt: skip
    try:
        with ctrl_c_flag() as ctrl_c, trial_progress(err) as progress:
            outcome = run_optimization(request, bars, executor, progress, ctrl_c)
    finally:
        executor.close()
    info = RunInfo(
        str(data.resolve()), args.executor, executor.description, request.storage,
        settings.trading.initial_capital, timeframe_seconds(context.timeframe) // 60,
    )  # fmt: skip
    report = report_dict(request, outcome, info)
    json_path = args.output or default_output(settings.storage.results_dir, request, bars)
    write_text_atomic(json_path, json.dumps(report, indent=1) + "\n")
    html_path = write_text_atomic(html_path_for(json_path), render_html(report, chart_library_js()))
    console = Console()
    console.print(top_trials_table(report))
    console.print(f"report: {json_path}", highlight=False)
    console.print(f"chart:  {html_path}", highlight=False)
    return outcome.interrupted
