"""Real bars moved by whole weeks into Yahoo's retention window, for the Yahoo stand-in.

Yahoo serves 5-minute bars for the last 60 days only (see
:mod:`vibe.trading_bot.data.providers.yahoo_rules`), measured on the real wall
clock. A test of the path without ``--data`` therefore needs recorded bars dated
within the last weeks of today's real date: :func:`recent_shift` finds the
latest whole number of weeks that moves a run of recorded sessions before today,
with every session a regular full session (no holiday, no early close) both
where it was recorded and where it lands; :func:`write_shifted` writes those
sessions' bars, moved, as ``<SYMBOL>_<tf>.csv`` (the ``../shared/data`` bar
format, ISO-8601 times with their offset). The move is made in New York wall
time, so a session keeps its weekday and its 09:30-16:00 ET hours across a
daylight-saving change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from vibe.trading_bot.core.scheduler import NEW_YORK, MarketScheduler

#: Newest age (days before today) of a moved session: inside Yahoo's 60 days with room to spare.
MAX_AGE_DAYS = 50


def _regular(scheduler: MarketScheduler, day: date) -> bool:
    return scheduler.session(day) is not None and not scheduler.is_early_close(day)


def recent_shift(
    scheduler: MarketScheduler, days: Sequence[date], today: date, max_age_days: int = MAX_AGE_DAYS
) -> int:
    """Weeks to add to ``days`` (recorded sessions, oldest first) to land just before ``today``.

    Raises:
        ValueError: a recorded day is not a regular session, or no shift of at most
            ``max_age_days`` keeps every day a regular session before ``today``.
    """
    odd = [d for d in days if not _regular(scheduler, d)]
    if odd:
        raise ValueError(f"recorded days {odd} are not regular full sessions")
    weeks = (today - timedelta(days=1) - days[-1]).days // 7
    while days[0] + timedelta(weeks=weeks) >= today - timedelta(days=max_age_days):
        moved = [d + timedelta(weeks=weeks) for d in days]
        if all(_regular(scheduler, d) for d in moved):
            return weeks
        weeks -= 1
    raise ValueError(f"no shift of {days[0]}..{days[-1]} to regular sessions before {today}")


def shift_frame(frame: pd.DataFrame, weeks: int) -> pd.DataFrame:
    """``frame`` (UTC index) with every time moved by ``weeks`` in New York wall time."""
    local = pd.DatetimeIndex(frame.index).tz_convert(NEW_YORK).tz_localize(None)
    moved = (local + pd.Timedelta(weeks=weeks)).tz_localize(NEW_YORK).tz_convert("UTC")
    out = frame.copy()
    out.index = moved.rename("timestamp")
    return out


def write_shifted(
    source: Path,
    symbols: Sequence[str],
    timeframe: str,
    days: Sequence[date],
    weeks: int,
    folder: Path,
) -> Path:
    """Write the bars of ``days`` from ``source``'s CSV files, moved by ``weeks``, to ``folder``.

    Returns:
        ``folder`` (created), holding one ``<SYMBOL>_<timeframe>.csv`` per symbol.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for symbol in symbols:
        frame = pd.read_csv(source / f"{symbol}_{timeframe}.csv")
        frame.index = pd.to_datetime(frame.pop("timestamp"), utc=True)
        sessions = pd.DatetimeIndex(frame.index).tz_convert(NEW_YORK).date
        picked = shift_frame(frame[pd.Series(sessions).isin(set(days)).to_numpy()], weeks)
        local = pd.DatetimeIndex(picked.index).tz_convert(NEW_YORK)
        picked.index = pd.Index([t.isoformat() for t in local], name="timestamp")
        picked.to_csv(folder / f"{symbol}_{timeframe}.csv")
    return folder


@dataclass(frozen=True)
class RecentBars:
    """Recorded bars moved before today: the folder and the traded window after the move."""

    folder: Path
    start: date
    end: date


def recent_bars(
    recorded: tuple[Path, Sequence[str], str],
    window: tuple[date, date],
    folder: Path,
    warmup_sessions: int = 1,
    today: date | None = None,
) -> RecentBars:
    """The sessions ``window`` (recorded dates, plus ``warmup_sessions`` before) moved by
    :func:`recent_shift` before ``today`` (default the real date: Yahoo's retention
    counts from it) and written by :func:`write_shifted`.

    ``recorded`` is ``(source folder, symbols, timeframe)``.
    """
    source, symbols, timeframe = recorded
    today = today or datetime.now(UTC).date()
    scheduler = MarketScheduler("XNYS", min(window[0].year, today.year) - 1, today.year + 1)
    before = scheduler.sessions_before(window[0], warmup_sessions)
    days = [day for day, _, _ in [*before, *scheduler.session_list(*window)]]
    weeks = recent_shift(scheduler, days, today)
    write_shifted(source, symbols, timeframe, days, weeks, folder)
    move = timedelta(weeks=weeks)
    return RecentBars(folder, window[0] + move, window[1] + move)
