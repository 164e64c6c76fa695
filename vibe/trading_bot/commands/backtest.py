"""``backtest``: run the daemon over history, write the JSON and HTML reports, print a summary."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from vibe.common.errors import DataUnavailableError

if TYPE_CHECKING:
    from vibe.trading_bot.backtest.report import BacktestResult

from vibe.trading_bot.commands.common import (
    check_data_dir,
    check_range,
    check_timeframe,
    env_file_or_exit,
    fail,
    parse_day,
    parse_symbols,
    user_errors,
)
from vibe.trading_bot.commands.preflight import check_report_path
from vibe.trading_bot.commands.progress import SessionProgress
from vibe.trading_bot.utils.collector import paused_gc

EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's status for an interrupted command


@paused_gc()
def backtest_command(  # noqa: PLR0913 - one parameter per command-line option
    start: str,
    end: str,
    symbols: str | None,
    timeframe: str | None,
    data: Path | None,
    params: list[str],
    output: Path | None,
    notify: bool,
    env_file: Path | None,
) -> None:
    """Run a backtest (see ``python -m vibe.trading_bot backtest --help``).

    The cyclic garbage collector is paused for the whole command: a bounded batch
    run that allocates ~1 million long-lived objects (modules, bars, equity points,
    report values) and few reference cycles; with CPython's default thresholds it
    made ~400 collections (two full ones) costing 0.2 s of a 1-minute year's
    command, without freeing memory that mattered.
    """
    from vibe.trading_bot.backtest.runner import BacktestRequest, parse_params, run_backtest
    from vibe.trading_bot.config.loader import load_settings

    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if first is None or last is None:
        fail("--start and --end are required (YYYY-MM-DD)")
    check_range(first, last)
    chosen = parse_symbols(symbols)
    if timeframe is not None:
        check_timeframe(timeframe)
    if data is not None:
        check_data_dir(data, "--data")
    with user_errors():
        overrides: dict[str, object] = dict(parse_params(params))
        if chosen:
            overrides["symbols"] = chosen
        if timeframe:
            overrides["timeframe"] = timeframe
        settings = load_settings(env_file_or_exit(env_file), overrides)
        check_report_path(output, settings.storage.results_dir)
        request = BacktestRequest(
            first,
            last,
            tuple(settings.trading.symbols),
            settings.trading.timeframe,
            data,
            parse_params(params),
            notify,
        )
        if data is None:
            # yfinance warns about each failed step of a request (cookie, crumb); the
            # failure itself becomes one error line below
            logging.getLogger("yfinance").setLevel(logging.ERROR)
        try:
            with SessionProgress(Console(stderr=True)) as progress:
                result = asyncio.run(run_backtest(settings, request, progress.update))
        except DataUnavailableError as exc:
            fail(not_fetched_message(exc, first, last))
        _write(result, output, settings.storage.results_dir)
    # The reports are written and closed: the process ends at once after this
    # (cli.exit_now), without freeing the run's objects one by one.
    if result.stop_reason is not None:
        config = result.config
        fail(
            f"stopped by {result.stop_reason}: the reports cover {config.start.isoformat()} "
            f"to {config.end.isoformat()} only",
            EXIT_INTERRUPTED,
        )


_CURL_PREFIX = re.compile(r"^.*?curl: \(\d+\) ")


def brief_cause(message: str) -> str:
    """A provider's error without the request it repeats and the library's boilerplate.

    ``"Yahoo request SPY 5m ... failed: Failed to perform, curl: (6) Could not resolve
    host: query2.finance.yahoo.com (Domain name not found). See https://..."`` ->
    ``"Could not resolve host: query2.finance.yahoo.com (Domain name not found)"``.
    """
    text = message.split(" failed: ", 1)[-1]
    text = _CURL_PREFIX.sub("", text)
    return text.split(". See http", 1)[0].strip() or message


def not_fetched_message(exc: DataUnavailableError, start: date, end: date) -> str:
    """The one-line error of a backtest whose bars could not be fetched (no network...)."""
    causes = "; ".join(f"{name}: {brief_cause(message)}" for name, message in exc.failures)
    return (
        f"could not fetch the {exc.timeframe} bars of {exc.symbol} for "
        f"{start.isoformat()}..{end.isoformat()} ({causes or 'no data provider'}); "
        "without network, pass --data DIR, a folder of <SYMBOL>_<timeframe>.csv files "
        "(e.g. --data examples/data)"
    )


def _write(result: BacktestResult, output: Path | None, results_dir: Path) -> None:
    from vibe.trading_bot.backtest.console import print_summary
    from vibe.trading_bot.backtest.html_report import write_html
    from vibe.trading_bot.backtest.report import (
        default_output_path,
        html_path_for,
        result_to_dict,
        write_json,
    )

    payload = result_to_dict(result)  # once, for both reports
    json_path = output or default_output_path(results_dir, datetime.now(UTC))
    write_json(result, json_path, payload)
    console = Console()
    print_summary(result, console, payload)
    console.print(f"report: {json_path}", highlight=False)
    html_path = write_html(result, html_path_for(json_path), payload)
    console.print(f"chart:  {html_path}", highlight=False)
