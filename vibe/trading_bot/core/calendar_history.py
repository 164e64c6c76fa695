"""Past NYSE sessions shipped with the package: a backtest's calendar without a build.

A cold ``backtest`` (fresh ``DATA_DIR``) would otherwise import
pandas-market-calendars and exchange-calendars (~0.15 s) and evaluate every
holiday rule from 1885 to 2200 (~0.19 s) to learn the sessions of the few past
years it replays. Past sessions do not change, so the schedule of whole past
years is kept here, in ``xnys_history.json``, written from
pandas-market-calendars' ``XNYS`` calendar by ``python -m
vibe.trading_bot.core.calendar_history`` (the libraries' versions are recorded in
the file). A test compares every year of the file with the installed libraries,
so an upgrade that corrects history fails CI until the file is written again.

Only completed years are stored: the current and future years always come from
the library (an ad-hoc closure, such as a national day of mourning, is announced
days ahead). File layout (integers, compact): ``first_day`` (proleptic ordinal of
the first session), ``day_steps`` (days from each session to the next), and per
session ``open_minutes`` / ``close_minutes`` (minutes after 00:00 UTC of the
session date; early closes and DST included).
"""

from __future__ import annotations

import json
import sys
from bisect import bisect_left
from datetime import date
from functools import cache
from itertools import accumulate, pairwise
from pathlib import Path

#: ``MARKET_CALENDAR`` names the shipped history answers (pandas-market-calendars' NYSE).
HISTORY_CALENDARS = frozenset({"XNYS", "NYSE"})
HISTORY_FILE = Path(__file__).with_name("xnys_history.json")
FIRST_YEAR, LAST_YEAR = 2000, 2025
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_SECONDS = 86_400

SessionRows = tuple[list[date], list[int], list[int]]


def history_rows(calendar_name: str, first_year: int, last_year: int) -> SessionRows | None:
    """Sessions of whole years ``first_year..last_year`` from the shipped file, or ``None``.

    ``None`` when the calendar is not NYSE's, the years are not all in the file
    (``FIRST_YEAR..LAST_YEAR``) or the file is missing: the caller then asks the
    library.

    Returns:
        ``(dates, opens, closes)``: session dates (New York) ascending, opens and
        closes as UNIX epoch seconds (UTC, early closes included).
    """
    if calendar_name not in HISTORY_CALENDARS or first_year > last_year:
        return None
    if first_year < FIRST_YEAR or last_year > LAST_YEAR:
        return None
    ordinals, opens, closes = _history()
    if not ordinals:
        return None
    lo = bisect_left(ordinals, date(first_year, 1, 1).toordinal())
    hi = bisect_left(ordinals, date(last_year + 1, 1, 1).toordinal())
    days = ordinals[lo:hi]
    dates = list(map(date.fromordinal, days))
    return dates, _edges(days, opens[lo:hi]), _edges(days, closes[lo:hi])


def _edges(ordinals: list[int], minutes: list[int]) -> list[int]:
    """Epoch seconds of ``minutes`` after 00:00 UTC of each session day."""
    return [
        (day - _EPOCH_ORDINAL) * _DAY_SECONDS + minute * 60
        for day, minute in zip(ordinals, minutes, strict=True)
    ]


@cache
def _history() -> tuple[list[int], list[int], list[int]]:
    try:
        payload = json.loads(HISTORY_FILE.read_text(encoding="utf-8"))
        ordinals = list(accumulate(payload["day_steps"], initial=payload["first_day"]))
        opens, closes = payload["open_minutes"], payload["close_minutes"]
    except (OSError, ValueError, KeyError, TypeError):
        return [], [], []  # a broken install falls back to the library
    if not len(ordinals) == len(opens) == len(closes):
        return [], [], []
    return ordinals, opens, closes


def history_payload(dates: list[date], opens: list[int], closes: list[int]) -> dict[str, object]:
    """The file's JSON object for sessions ``dates`` with epoch-second ``opens``/``closes``.

    Raises:
        ValueError: an open or close not on a whole minute, or no session.
    """
    if not dates:
        raise ValueError("no session to store")
    ordinals = [day.toordinal() for day in dates]
    midnights = [(ordinal - _EPOCH_ORDINAL) * _DAY_SECONDS for ordinal in ordinals]
    minutes = []
    for edges in (opens, closes):
        offsets = [edge - midnight for edge, midnight in zip(edges, midnights, strict=True)]
        if any(offset % 60 for offset in offsets):
            raise ValueError("session edges must be whole minutes")
        minutes.append([offset // 60 for offset in offsets])
    return {
        "calendar": "XNYS",
        "first_year": dates[0].year,
        "last_year": dates[-1].year,
        "libraries": _library_versions(),
        "first_day": ordinals[0],
        "day_steps": [b - a for a, b in pairwise(ordinals)],
        "open_minutes": minutes[0],
        "close_minutes": minutes[1],
    }


def _library_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("pandas_market_calendars", "exchange_calendars")}


def write_history(path: Path = HISTORY_FILE) -> Path:
    """Write ``FIRST_YEAR..LAST_YEAR`` of pandas-market-calendars' XNYS to ``path``."""
    from vibe.trading_bot.core.calendar_schedule import compute_schedule

    schedule = compute_schedule("XNYS", FIRST_YEAR, LAST_YEAR)
    payload = history_payload(schedule.dates, schedule.opens, schedule.closes)
    path.write_text(json.dumps(payload, separators=(",", ":")) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":  # python -m vibe.trading_bot.core.calendar_history
    sys.stdout.write(f"wrote {write_history()}\n")
