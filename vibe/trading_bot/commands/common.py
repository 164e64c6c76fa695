"""Argument parsing and error reporting shared by the ``run``, ``backtest`` and status commands.

Every user error (bad date, end before start, unknown ``--param``, a symbol
without data, an unreadable data folder) ends the command with ONE line on
stderr, ``error: ...`` naming the bad value and what was expected, and exit
status 2.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import NoReturn

import typer

from vibe.common.errors import (
    ConfigurationError,
    DataError,
    InvalidInputError,
    NoDataError,
    OperationalError,
    StorageError,
)

EXIT_USAGE = 2
EXIT_FAILURE = 1


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code`` (default 2)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can fix into one line and exit 2.

    Storage and other operational failures (a database that cannot be opened, a
    port taken after the start-up checks) are one line too, with exit status 1.
    """
    try:
        yield
    except ConfigurationError as exc:
        fail("; ".join(str(issue) for issue in exc.issues) or str(exc))
    except (InvalidInputError, NoDataError, DataError) as exc:
        fail(str(exc))
    except (StorageError, OperationalError) as exc:  # needs a person, not a traceback
        fail(str(exc), EXIT_FAILURE)


def parse_day(value: str | None, option: str) -> date | None:
    """``YYYY-MM-DD`` -> date (``None`` stays ``None``); exits 2 naming ``option`` otherwise."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}={value!r}: expected a date YYYY-MM-DD")


def check_range(start: date | None, end: date | None) -> None:
    """Exit 2 when ``end`` is before ``start``."""
    if start is not None and end is not None and end < start:
        fail(f"--end={end.isoformat()} is before --start={start.isoformat()}")


def parse_symbols(value: str | None) -> list[str] | None:
    """``A,B`` -> ``["A", "B"]`` (validated later with the settings); ``None`` stays ``None``."""
    if value is None:
        return None
    symbols = [part.strip().upper() for part in value.split(",") if part.strip()]
    if not symbols:
        fail(f"--symbols={value!r}: expected tickers like SPY,QQQ")
    return symbols


def parse_speed(value: str) -> float | None:
    """``max`` -> ``None`` (as fast as possible); a positive number -> market seconds per second."""
    if value.strip().lower() == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        speed = -1.0
    if not speed > 0 or speed == float("inf"):
        fail(
            f"--speed={value!r}: expected a positive number (60 = a market minute a second) or max"
        )
    return speed


def check_timeframe(value: str) -> str:
    """Exit 2 unless ``value`` is a known bar timeframe."""
    from vibe.trading_bot.data.frames import TIMEFRAME_SECONDS

    if value not in TIMEFRAME_SECONDS:
        fail(f"--timeframe={value!r}: expected one of {', '.join(TIMEFRAME_SECONDS)}")
    return value


def check_data_dir(path: Path, option: str) -> Path:
    """Exit 2 unless ``path`` is a readable folder holding bar files."""
    if not path.is_dir():
        fail(f"{option}={path}: not a folder (expected <SYMBOL>_<timeframe>.csv files)")
    try:
        names = [p.name for p in path.iterdir()]
    except OSError as exc:
        fail(f"{option}={path}: cannot be read ({exc.strerror or exc})")
    if not any(n.endswith((".csv", ".parquet")) for n in names):
        fail(f"{option}={path}: holds no <SYMBOL>_<timeframe>.csv or .parquet file")
    return path


#: The dotenv file read when ``--env-file`` is not given (only if it exists).
DEFAULT_ENV_FILE = Path(".env")


def env_file_or_exit(option: Path | None) -> Path:
    """The dotenv file to read: ``--env-file`` as given, else ``.env`` (read only if present).

    A file named with ``--env-file`` must exist: a typo there would otherwise run
    on silent defaults.

    Raises:
        typer.Exit: with code 2 when the named file is missing or not a file.
    """
    if option is None:
        return DEFAULT_ENV_FILE
    if not option.exists():
        fail(f"--env-file={option}: no such file (expected a dotenv file of NAME=value lines)")
    if not option.is_file():
        fail(f"--env-file={option}: not a file (expected a dotenv file of NAME=value lines)")
    return option
