"""The exchange schedule as plain lists, computed once and cached (memory and disk).

pandas-market-calendars answers a schedule query by first evaluating every
holiday rule of the calendar (about 0.15 s for XNYS, plus ~0.1 s to import the
library): a noticeable share of a backtest command that otherwise takes about a
second. The result for a calendar and a range of years is fixed for a given
installed version of the library, so it is kept:

* in memory, per process (a parameter sweep builds many schedulers);
* on disk, as JSON under the cache folder (``DATA_DIR/cache/calendar`` in the
  daemon), stamped with the location and modification time of the installed
  pandas-market-calendars and exchange-calendars (XNYS takes its holidays and
  closures from the latter): upgrading either invalidates it.

A cache file that cannot be read, parsed or written is ignored (logged): the
schedule is then computed as if there were no cache.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, date
from pathlib import Path

from vibe.common.errors import ConfigIssue, ConfigurationError
from vibe.trading_bot.core.calendar_history import history_rows
from vibe.trading_bot.utils.atomic_file import write_bytes_atomically
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)
_LIBRARIES = ("pandas_market_calendars", "exchange_calendars")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_memory: dict[tuple[str, int, int], Schedule] = {}


@dataclass(frozen=True, slots=True)
class Schedule:
    """Every session of a calendar in a range of whole years, ascending.

    Attributes:
        dates: session dates (exchange-local, i.e. New York for XNYS).
        opens: session opens as UNIX epoch seconds (UTC).
        closes: session closes as UNIX epoch seconds (UTC), early closes included.
    """

    dates: list[date]
    opens: list[int]
    closes: list[int]


def load_schedule(
    calendar_name: str, first_year: int, last_year: int, cache_dir: Path | None = None
) -> Schedule:
    """The schedule of ``calendar_name`` from Jan 1 of ``first_year`` to Dec 31 of ``last_year``.

    Answered from the process memory, else from the sessions shipped with the
    package for past NYSE years (:mod:`.calendar_history`), else from ``cache_dir``
    (when given), else computed with pandas-market-calendars (and then stored in both).

    Raises:
        ConfigurationError: ``calendar_name`` is not a pandas-market-calendars name
            (names ``MARKET_CALENDAR``).
    """
    key = (calendar_name, first_year, last_year)
    schedule = _memory.get(key)
    if schedule is not None:
        return schedule
    shipped = history_rows(*key)
    if shipped is not None:
        schedule = _memory[key] = Schedule(*shipped)
        return schedule
    path = _cache_path(cache_dir, *key)
    stamp = _library_stamp()
    schedule = _read(path, stamp) if path is not None else None
    if schedule is None:
        schedule = compute_schedule(*key)
        if path is not None:
            _write(path, stamp, schedule)
    _memory[key] = schedule
    return schedule


def compute_schedule(calendar_name: str, first_year: int, last_year: int) -> Schedule:
    """The schedule computed by pandas-market-calendars (no cache, no shipped history).

    Raises:
        ConfigurationError: ``calendar_name`` is unknown (names ``MARKET_CALENDAR``).
    """
    import pandas_market_calendars as mcal

    try:
        calendar = mcal.get_calendar(calendar_name)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise ConfigurationError(
            [ConfigIssue("MARKET_CALENDAR", calendar_name, "a pandas-market-calendars name")]
        ) from exc
    frame = calendar.schedule(f"{first_year}-01-01", f"{last_year}-12-31")
    opens = frame["market_open"].dt.tz_convert(UTC).dt.as_unit("s").astype("int64")
    closes = frame["market_close"].dt.tz_convert(UTC).dt.as_unit("s").astype("int64")
    return Schedule([ts.date() for ts in frame.index], opens.tolist(), closes.tolist())


def _cache_path(cache_dir: Path | None, name: str, first: int, last: int) -> Path | None:
    if cache_dir is None or not _SAFE_NAME.fullmatch(name):
        return None
    return cache_dir / f"{name}_{first}_{last}.json"


def _library_stamp() -> str:
    """Where the calendar libraries are and when they were installed (changes on upgrade)."""
    return ";".join(_installed(name) for name in _LIBRARIES)


def _installed(name: str) -> str:
    spec = importlib.util.find_spec(name)
    origin = spec.origin if spec is not None and spec.origin else None
    if origin is None:
        return f"{name}:absent"
    try:
        return f"{origin}:{os.stat(origin).st_mtime_ns}"
    except OSError:
        return origin


def _read(path: Path, stamp: str) -> Schedule | None:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("library") != stamp:
            return None
        dates = [date.fromisoformat(d) for d in payload["dates"]]
        opens, closes = payload["opens"], payload["closes"]
        if not len(dates) == len(opens) == len(closes):
            raise ValueError("column lengths differ")
        return Schedule(dates, [int(s) for s in opens], [int(s) for s in closes])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        _log.warning("calendar cache unreadable, recomputing", path=str(path), error=repr(exc))
        return None


def _write(path: Path, stamp: str, schedule: Schedule) -> None:
    payload = {
        "library": stamp,
        "dates": [d.isoformat() for d in schedule.dates],
        "opens": schedule.opens,
        "closes": schedule.closes,
    }
    try:
        write_bytes_atomically(path, json.dumps(payload, separators=(",", ":")).encode())
    except OSError as exc:
        _log.warning("calendar cache not written", path=str(path), error=repr(exc))
