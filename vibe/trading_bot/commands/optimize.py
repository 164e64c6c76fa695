"""``optimize``: search strategy parameters with Optuna, optionally walk-forward.

The typer command (light imports, so ``--help`` stays fast) checks the flags and
hands over to :func:`optimize_command`. Every user error is one line and exit 2
(an unknown ``--space`` name, a bad spec, a value the settings refuse); Ctrl-C
writes the reports of the trials finished so far and exits 130.
"""

# No ``from __future__ import annotations``: typer would eval the commands' parameter
# annotations from strings on every start (~10 ms); only TYPE_CHECKING names are quoted.

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vibe.trading_bot.commands import options

if TYPE_CHECKING:
    from vibe.trading_bot.config.settings import AppSettings
    from vibe.trading_bot.optimize.driver import OptimizeRequest
    from vibe.trading_bot.optimize.space import Dimension

EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class OptimizeArgs:
    """The flags of ``optimize`` as given (see ``optimize --help``)."""

    start: str
    end: str
    symbols: str | None
    timeframe: str | None
    data: Path | None
    space: list[str]
    param: list[str]
    objective: str
    min_trades: int
    sampler: str
    trials: int | None
    seed: int | None
    walk_forward: int | None
    executor: str
    address: str | None
    workers: int | None
    output: Path | None
    env_file: Path | None


def optimize(  # noqa: PLR0913 - one parameter per command-line option
    start: Annotated[str, typer.Option("--start", help="first session, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--end", help="last session (inclusive), YYYY-MM-DD")],
    space: Annotated[
        list[str],
        typer.Option(
            "--space",
            help="NAME=a,b,c or NAME=LOW:HIGH:STEP (any backtest --param name), repeatable",
        ),
    ],
    symbols: options.SymbolsOption = None,
    timeframe: Annotated[str | None, typer.Option(help="1m or 5m (default: TIMEFRAME)")] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="folder of <SYMBOL>_<tf>.csv (default: cache, else Yahoo)"),
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="name=value fixed for every trial")
    ] = None,
    objective: Annotated[
        str,
        typer.Option(help="sharpe|sortino|calmar|total_return_pct|profit_factor|expectancy_usd"),
    ] = "sharpe",
    min_trades: Annotated[
        int, typer.Option("--min-trades", help="fewer closed trades: infeasible")
    ] = 1,
    sampler: Annotated[str, typer.Option(help="grid, tpe or random")] = "grid",
    trials: Annotated[
        int | None, typer.Option(help="trials in the study (default: the grid; tpe/random 100)")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="sampler seed (reproducible)")] = None,
    walk_forward: Annotated[
        int | None, typer.Option("--walk-forward", help="anchored walk-forward with K folds")
    ] = None,
    executor: Annotated[str, typer.Option(help="local (process pool) or dask")] = "local",
    address: Annotated[
        str | None, typer.Option(help="Dask scheduler tcp://HOST:PORT (--executor dask)")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="local worker processes (default: the CPU count)")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", help="report JSON path")] = None,
    env_file: options.EnvFileOption = None,
) -> None:
    """Search strategy parameters (Optuna), each trial a backtest; walk-forward optional."""
    args = OptimizeArgs(
        start, end, symbols, timeframe, data, space, param or [], objective, min_trades,
        sampler, trials, seed, walk_forward, executor, address, workers, output, env_file,
    )  # fmt: skip
    optimize_command(args)


def _check_flags(args: OptimizeArgs) -> None:
    from vibe.trading_bot.commands.common import check_data_dir, check_timeframe, fail
    from vibe.trading_bot.optimize.objective import OBJECTIVES
    from vibe.trading_bot.optimize.samplers import SAMPLERS

    if args.timeframe is not None:
        check_timeframe(args.timeframe)
    if args.data is not None:
        check_data_dir(args.data, "--data")
    choices = {"--objective": (args.objective, OBJECTIVES), "--sampler": (args.sampler, SAMPLERS)}
    choices["--executor"] = (args.executor, ("local", "dask"))
    for flag, (value, allowed) in choices.items():
        if value not in allowed:
            fail(f"{flag}={value!r}: expected one of {', '.join(allowed)}")
    for flag, number, low in (
        ("--min-trades", args.min_trades, 0),
        ("--trials", args.trials, 1),
        ("--walk-forward", args.walk_forward, 1),
        ("--workers", args.workers, 1),
    ):
        if number is not None and number < low:
            fail(f"{flag}={number}: expected an integer >= {low}")
    _check_executor(args)


def _check_executor(args: OptimizeArgs) -> None:
    from vibe.trading_bot.commands.common import fail

    if args.executor == "dask":
        if args.address is None or "://" not in args.address:
            fail(f"--address={args.address!r}: --executor dask needs tcp://HOST:PORT")
        if args.workers is not None:
            fail("--workers: applies to --executor local (a Dask cluster has its own workers)")
    elif args.address is not None:
        fail(f"--address={args.address}: applies to --executor dask only")


def _check_space_values(
    env_file: Path, overrides: dict[str, object], dims: "list[Dimension]"
) -> None:
    """Every searched value must be accepted by the settings (one error names the first bad)."""
    from vibe.common.errors import ConfigurationError, InvalidInputError
    from vibe.trading_bot.config.loader import load_settings
    from vibe.trading_bot.optimize.space import param_text

    for dim in dims:
        for value in dim.values:
            try:
                load_settings(env_file, overrides | {dim.name: param_text(value)})
            except ConfigurationError as exc:
                expected = "; ".join(issue.expected for issue in exc.issues)
                raise InvalidInputError(
                    f"--space {dim.name}={dim.spec}: value {param_text(value)!r} refused; "
                    f"expected {expected}"
                ) from None


def _request(args: OptimizeArgs, env_file: Path) -> "tuple[AppSettings, OptimizeRequest]":
    from vibe.common.errors import InvalidInputError
    from vibe.trading_bot.backtest.runner import allowed_params, parse_params
    from vibe.trading_bot.commands.common import check_range, parse_day, parse_symbols
    from vibe.trading_bot.config.loader import load_settings
    from vibe.trading_bot.optimize.driver import OptimizeRequest
    from vibe.trading_bot.optimize.space import parse_space
    from vibe.trading_bot.optimize.study import SearchSettings, storage_url
    from vibe.trading_bot.optimize.trial import TrialContext, context_settings

    first, last = parse_day(args.start, "--start"), parse_day(args.end, "--end")
    if first is None or last is None:
        raise InvalidInputError("--start and --end are required (YYYY-MM-DD)")
    check_range(first, last)
    fixed = parse_params(args.param)
    dims = parse_space(args.space, allowed_params())
    for dim in dims:
        if dim.name in fixed:
            raise InvalidInputError(f"--space {dim.name}: also fixed by --param; expected one")
    overrides: dict[str, object] = dict(fixed)
    if (chosen := parse_symbols(args.symbols)) is not None:
        overrides["symbols"] = chosen
    if args.timeframe:
        overrides["timeframe"] = args.timeframe
    settings = load_settings(env_file, overrides)
    _check_space_values(env_file, overrides, dims)
    trading = settings.trading
    context = TrialContext(
        tuple(trading.symbols), trading.timeframe, context_settings(settings, fixed)
    )
    search = SearchSettings(args.sampler, args.seed, args.trials, args.objective, args.min_trades)
    storage = storage_url(settings.storage.results_dir)
    request = OptimizeRequest(first, last, context, dims, fixed, search, args.walk_forward, storage)
    return settings, request


def optimize_command(args: OptimizeArgs) -> None:
    """Run ``optimize`` (see the module doc): check, search, write JSON + HTML, print."""
    from vibe.common.errors import DataUnavailableError
    from vibe.trading_bot.commands.backtest import not_fetched_message
    from vibe.trading_bot.commands.common import env_file_or_exit, fail, user_errors
    from vibe.trading_bot.commands.optimize_run import run_and_report
    from vibe.trading_bot.commands.preflight import check_report_path

    _check_flags(args)
    if args.executor == "local":  # its imports run beside ours (see optimize.fork_server)
        from vibe.trading_bot.optimize.fork_server import start_fork_server

        start_fork_server()
    with user_errors():
        settings, request = _request(args, env_file_or_exit(args.env_file))
        check_report_path(args.output, settings.storage.results_dir)
        workers = args.workers or os.cpu_count() or 1
        try:
            interrupted = run_and_report(settings, request, args, workers)
        except DataUnavailableError as exc:
            fail(not_fetched_message(exc, request.start, request.end))
    if interrupted:
        fail("interrupted: the reports hold the trials finished so far; run the same "
             "command again to resume", EXIT_INTERRUPTED)  # fmt: skip
