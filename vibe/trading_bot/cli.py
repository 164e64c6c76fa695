"""Command line: ``python -m vibe.trading_bot <command>``.

Commands are registered only once they work end to end. Exit codes: 0 success,
2 bad configuration or bad arguments (the error names the variable or option).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vibe.common.errors import ConfigurationError
from vibe.trading_bot.config.loader import load_settings
from vibe.trading_bot.config.settings import AppSettings

EXIT_CONFIG_ERROR = 2

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="vibe trading bot: ORB paper trading for US equities.",
    pretty_exceptions_enable=False,
)

EnvFileOption = Annotated[
    Path, typer.Option("--env-file", help="dotenv file read after the environment")
]


@app.callback()
def _root() -> None:
    """Paper-trading daemon for US equities (Opening Range Breakout)."""


def _issues_payload(error: ConfigurationError) -> list[dict[str, Any]]:
    return [
        {"variable": i.variable, "value": i.value, "expected": i.expected} for i in error.issues
    ]


def _settings_payload(settings: AppSettings) -> dict[str, dict[str, str]]:
    payload: dict[str, dict[str, str]] = {}
    for group, variable, value in settings.rows():
        payload.setdefault(group, {})[variable] = value
    return payload


def _print_table(settings: AppSettings, console: Console) -> None:
    table = Table(title="vibe trading bot settings", show_lines=False)
    table.add_column("group", style="cyan")
    table.add_column("variable", style="bold")
    table.add_column("value")
    for group, variable, value in settings.rows():
        table.add_row(group, variable, value or "[dim](not set)[/dim]")
    console.print(table)


def load_or_exit(env_file: Path, as_json: bool = False) -> AppSettings:
    """Load settings, or print every bad variable and exit 2.

    Raises:
        typer.Exit: with code 2 when the configuration is invalid.
    """
    try:
        return load_settings(env_file)
    except ConfigurationError as exc:
        if as_json:
            typer.echo(json.dumps({"valid": False, "errors": _issues_payload(exc)}, indent=2))
        else:
            err = Console(stderr=True)
            err.print(f"[red]configuration error[/red] ({len(exc.issues)} problem(s)):")
            for issue in exc.issues:
                err.print(f"  {issue}", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_CONFIG_ERROR) from None


@app.command("validate-config")
def validate_config(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    env_file: EnvFileOption = Path(".env"),
) -> None:
    """Load and check the settings; print them with secrets masked (exit 2 if invalid)."""
    settings = load_or_exit(env_file, as_json)
    if as_json:
        typer.echo(json.dumps({"valid": True, "settings": _settings_payload(settings)}, indent=2))
    else:
        _print_table(settings, Console())
        Console().print("[green]configuration is valid[/green]")


def main() -> None:
    """Entry point of ``python -m vibe.trading_bot`` and the ``vibe-trading-bot`` script."""
    app()
