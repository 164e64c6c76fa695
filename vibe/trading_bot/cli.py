"""Command line: ``python -m vibe.trading_bot <command>``.

Commands are registered only once they work end to end. Exit codes: 0 success,
2 bad configuration or bad arguments (the error names the variable or option).

``--help`` and ``--version`` answer without importing pandas, pydantic or the
daemon (well under 0.3 s): every command imports what it needs when it runs,
and the help is plain text (typer's rich help alone costs ~0.15 s of imports).
``validate-config`` (without ``--check-connections``) imports typer, pydantic and
pydantic-settings and nothing else of weight (not rich: its table and messages are
plain text, ~0.1 s less), runs without pydantic plugins and ends with ``os._exit``
once its output is flushed (see :func:`main`): 0.26-0.37 s on this project's 2-core
machine when busy, where our own modules and work (settings classes, typer's command
tree, loading, printing) are ~0.03 s and the rest is the interpreter and those three
libraries' imports.
"""

# No ``from __future__ import annotations``: typer would eval the commands' parameter
# annotations from strings on every start (~10 ms); only TYPE_CHECKING names are quoted.

import contextlib
import dataclasses
import gc
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from vibe.trading_bot.commands import optimize as optimize_cmd
from vibe.trading_bot.commands import options

if TYPE_CHECKING:
    from vibe.common.errors import ConfigurationError
    from vibe.trading_bot.commands.connections import EndpointCheck
    from vibe.trading_bot.config.settings import AppSettings

EXIT_CONFIG_ERROR = 2
EXIT_CONNECTION_FAILED = 1
DISTRIBUTION = "vibe-trading-bot"

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="vibe trading bot: ORB paper trading for US equities.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EnvFileOption = options.EnvFileOption


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"{DISTRIBUTION} {version(DISTRIBUTION)}")
        except PackageNotFoundError:
            typer.echo(f"{DISTRIBUTION} (not installed: version unknown)")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", help="print the version and exit", is_eager=True, callback=_print_version
        ),
    ] = False,
) -> None:
    """Paper-trading daemon for US equities (Opening Range Breakout)."""


def _issues_payload(error: "ConfigurationError") -> list[dict[str, Any]]:
    return [
        {"variable": i.variable, "value": i.value, "expected": i.expected} for i in error.issues
    ]


def _settings_payload(settings: "AppSettings") -> dict[str, dict[str, str]]:
    payload: dict[str, dict[str, str]] = {}
    for group, variable, value in settings.rows():
        payload.setdefault(group, {})[variable] = value
    return payload


def settings_table(rows: list[tuple[str, str, str]]) -> str:
    """The settings as plain text: a title, then one aligned line per setting.

    Args:
        rows: ``(group, VARIABLE, shown value)`` as from ``AppSettings.rows()``
            (secrets already masked; an empty value is shown as ``(not set)``).

    Returns:
        The table, lines joined by newlines, without a trailing newline.
    """
    header = ("group", "variable", "value")
    body = [(group, variable, value or "(not set)") for group, variable, value in rows]
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(2)]
    lines = ["vibe trading bot settings"]
    for group, variable, value in (header, tuple("-" * len(h) for h in header), *body):
        lines.append(f"{group:<{widths[0]}}  {variable:<{widths[1]}}  {value}".rstrip())
    return "\n".join(lines)


def _check_endpoints(settings: "AppSettings") -> "list[EndpointCheck]":
    # yfinance, websockets, boto3/azure: imported only when asked
    from vibe.trading_bot.commands.connections import check_endpoints_sync

    return check_endpoints_sync(settings)


def _print_checks(checks: "list[EndpointCheck]") -> None:
    for check in checks:
        typer.echo(check.line())


def load_or_exit(env_file: Path | None, as_json: bool = False) -> "AppSettings":
    """Load settings, or print every bad variable and exit 2.

    Args:
        env_file: ``--env-file`` as given (``None``: ``.env`` when it exists).
        as_json: report problems as JSON on stdout.

    Raises:
        typer.Exit: with code 2 when the configuration is invalid or the named
            ``--env-file`` does not exist.
    """
    from vibe.common.errors import ConfigurationError
    from vibe.trading_bot.commands.common import env_file_or_exit
    from vibe.trading_bot.config.loader import load_settings

    path = env_file_or_exit(env_file)
    try:
        return load_settings(path)
    except ConfigurationError as exc:
        if as_json:
            typer.echo(json.dumps({"valid": False, "errors": _issues_payload(exc)}, indent=2))
        else:
            title = typer.style("configuration error", fg="red")  # colour on a terminal only
            typer.echo(f"{title} ({len(exc.issues)} problem(s)):", err=True)
            for issue in exc.issues:
                typer.echo(f"  {issue}", err=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from None


@app.command("validate-config")
def validate_config(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    env_file: EnvFileOption = None,
    check_connections: Annotated[
        bool,
        typer.Option(
            "--check-connections",
            help=(
                "also probe Yahoo, Finnhub, the cloud sync backend and the Discord webhook;"
                " exit 1 if one is unreachable"
            ),
        ),
    ] = False,
) -> None:
    """Load and check the settings; print them with secrets masked (exit 2 if invalid)."""
    settings = load_or_exit(env_file, as_json)
    payload: dict[str, Any] = {"valid": True, "settings": _settings_payload(settings)}
    checks = _check_endpoints(settings) if check_connections else []
    if checks:
        payload["connection_checks"] = [dataclasses.asdict(check) for check in checks]
        cloud = next(c for c in checks if c.name.startswith("cloud sync"))
        payload["cloud_sync_check"] = {
            "ok": cloud.ok,
            "provider": settings.cloud.cloud_provider,
            "target": cloud.target,
            "detail": cloud.detail,
            "enabled": settings.cloud.enable_cloud_sync,
            "duration_seconds": cloud.duration_seconds,
        }
        discord = next(c for c in checks if c.name == "discord webhook")
        payload["webhook_check"] = {
            "ok": discord.ok,
            "configured": discord.configured,
            "target": discord.target,
            "detail": discord.detail,
            "duration_seconds": discord.duration_seconds,
        }
    if as_json:
        typer.echo(json.dumps(payload, indent=2, default=str))
    else:
        typer.echo(settings_table(settings.rows()))
        typer.secho("configuration is valid", fg="green")  # colour on a terminal only
        _print_checks(checks)
    if not all(check.ok for check in checks):
        raise typer.Exit(EXIT_CONNECTION_FAILED)


@app.command("run")
def run(
    replay: options.ReplayOption = None,
    speed: options.SpeedOption = "max",
    start: options.DayOption = None,
    end: options.DayOption = None,
    symbols: options.SymbolsOption = None,
    env_file: EnvFileOption = None,
    allow_mode_change: options.AllowModeChangeOption = False,
) -> None:
    """Run the paper-trading daemon: live, or on recorded bars with --replay."""
    from vibe.trading_bot.commands import run as run_cmd

    run_cmd.run_command(
        replay, speed, start, end, symbols, env_file, allow_mode_change=allow_mode_change
    )


@app.command("backtest")
def backtest(  # noqa: PLR0913 - one parameter per command-line option
    start: Annotated[str, typer.Option("--start", help="first session, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--end", help="last session (inclusive), YYYY-MM-DD")],
    symbols: options.SymbolsOption = None,
    timeframe: Annotated[str | None, typer.Option(help="1m or 5m (default: TIMEFRAME)")] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="folder of <SYMBOL>_<tf>.csv (default: Yahoo)")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="name=value override, repeatable")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", help="report JSON path")] = None,
    notify: Annotated[bool, typer.Option("--notify", help="send Discord alerts")] = False,
    env_file: EnvFileOption = None,
) -> None:
    """Backtest the strategy with the daemon's own components on a simulated clock."""
    from vibe.trading_bot.commands.backtest import backtest_command

    backtest_command(start, end, symbols, timeframe, data, param or [], output, notify, env_file)


app.command("optimize")(optimize_cmd.optimize)


@app.command("show-status")
def show_status(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    env_file: EnvFileOption = None,
) -> None:
    """Status of the running daemon (or, when none answers, of its databases)."""
    from vibe.trading_bot.commands.status import status_command

    status_command(as_json, env_file)


#: Commands that run to completion and exit: the process keeps Python's cyclic
#: garbage collector off (the ``backtest`` command pauses it for its own run, see
#: :mod:`.commands.backtest`; here it also stays off for start-up and exit, where
#: re-enabling it cost a 0.1 s collection of the finished run's objects that the
#: process was about to hand back to the OS), and ends through :func:`exit_now`.
#: ``validate-config`` too: tearing down the interpreter's modules after it (pydantic's
#: and typer's) took 0.04-0.08 s of its ~0.35 s (median of 15 alternating runs,
#: 0.387 -> 0.305 s on the busy 2-core machine).
_RUN_TO_EXIT = frozenset({"backtest", "validate-config"})
#: Commands that only check the settings run without pydantic plugins (pydantic's
#: documented ``PYDANTIC_DISABLE_PLUGINS``, unless the user set it): finding plugins
#: scans every installed package's entry points (10-30 ms of a 0.3 s budget), and an
#: observer of validations (e.g. logfire's) has nothing to record in a settings check.
_NO_PYDANTIC_PLUGINS = frozenset({"validate-config"})


def exit_now(exc: SystemExit) -> NoReturn:
    """End the process at once (``os._exit``) with the exit status ``exc`` carries.

    For a command that has finished its work (:data:`_RUN_TO_EXIT`): its reports are
    written and its stores, threads and files closed (``validate-config``: its table or
    JSON printed, its connection checks done). What the interpreter would still
    do is run its exit handlers, tear its modules down and free the run's objects one
    by one (a 1-minute year's ~100,000 bars, points and records), which the OS does at
    once: 0.05-0.06 s of CPU per backtest (min 1.60 -> 1.54 s in alternating runs).
    Logging is shut down first (handlers flushed and closed), then stdout and stderr
    are flushed; a message given as the status is printed to stderr with status 1, as
    ``sys.exit`` does.
    """
    import logging

    code = exc.code
    if code is None or isinstance(code, int):
        status = code or 0
    else:
        print(code, file=sys.stderr)
        status = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed, or a reader gone
            stream.flush()
    os._exit(status)


def main() -> None:
    """Entry point of ``python -m vibe.trading_bot`` and the ``vibe-trading-bot`` script."""
    command = sys.argv[1:2]
    run_to_exit = bool(_RUN_TO_EXIT.intersection(command))
    if run_to_exit:
        gc.disable()
    if _NO_PYDANTIC_PLUGINS.intersection(command):
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        app()
    except SystemExit as exc:
        if run_to_exit:
            exit_now(exc)
        raise
