"""The market calendar: when the exchange is open, early closes, next open/close.

:class:`MarketScheduler` wraps a pandas-market-calendars calendar (``XNYS`` by
default, the ``MARKET_CALENDAR`` setting). The schedule is computed once per
range of years (:mod:`~vibe.trading_bot.core.calendar_schedule`: computed with
pandas-market-calendars, cached in memory and on disk) and kept as sorted lists
of epoch seconds, so per-bar questions (``is_open``, ``session_index``) are a
``bisect`` on a Python list: no pandas call per bar. Asking about a year outside
the computed range extends it (one schedule load per extension).

Sessions come from the exchange's own rules as encoded by
pandas-market-calendars: holidays, unscheduled closures (e.g. 2025-01-09 for
the National Day of Mourning) and early closes (13:00 ET on e.g. 2025-07-03).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

from vibe.common.errors import InvalidInputError
from vibe.common.models import require_aware
from vibe.trading_bot.core.calendar_schedule import load_schedule

if TYPE_CHECKING:
    import pandas as pd

    from vibe.trading_bot.config.settings import AppSettings

NEW_YORK = ZoneInfo("America/New_York")
_REGULAR_CLOSE_ET = (16, 0)
_MIN_YEAR, _MAX_YEAR = 1990, 2100


def _to_utc(ts: datetime) -> datetime:
    return require_aware("ts", ts).astimezone(UTC)


class MarketScheduler:
    """Exchange sessions with early closes, answered from a precomputed schedule.

    Args:
        calendar_name: a pandas-market-calendars name such as ``XNYS`` or ``NYSE``.
        start_year: first year to precompute (further years load on demand).
        end_year: last year to precompute.
        cache_dir: folder for the computed schedule (see
            :func:`~vibe.trading_bot.core.calendar_schedule.load_schedule`); ``None``
            keeps it in memory only.

    Raises:
        ConfigurationError: ``calendar_name`` is not a known calendar (names ``MARKET_CALENDAR``).
    """

    def __init__(
        self,
        calendar_name: str = "XNYS",
        start_year: int = 2015,
        end_year: int = 2030,
        cache_dir: Path | None = None,
    ):
        self.calendar_name = calendar_name
        self._cache_dir = cache_dir
        self._first_year = self._last_year = 0
        self._dates: list[date] = []
        self._opens: list[int] = []
        self._closes: list[int] = []
        self._build(start_year, end_year)

    @classmethod
    def for_settings(
        cls, settings: AppSettings, start_year: int = 2015, end_year: int = 2030
    ) -> MarketScheduler:
        """The ``MARKET_CALENDAR`` calendar, its schedule cached under ``DATA_DIR/cache/calendar``.

        Raises:
            ConfigurationError: ``MARKET_CALENDAR`` is not a known calendar.
        """
        cache_dir = settings.storage.data_dir / "cache" / "calendar"
        return cls(settings.trading.market_calendar, start_year, end_year, cache_dir)

    def _build(self, first_year: int, last_year: int) -> None:
        schedule = load_schedule(self.calendar_name, first_year, last_year, self._cache_dir)
        self._dates, self._opens, self._closes = schedule.dates, schedule.opens, schedule.closes
        self._first_year, self._last_year = first_year, last_year

    def _ensure(self, year: int) -> None:
        if not _MIN_YEAR <= year <= _MAX_YEAR:
            raise InvalidInputError(f"year={year}; expected a year in {_MIN_YEAR}..{_MAX_YEAR}")
        if year < self._first_year or year > self._last_year:
            self._build(min(year, self._first_year), max(year, self._last_year))

    def session_index(self, ts: datetime) -> int | None:
        """Index of the session containing ``ts`` (open <= ts < close), or ``None``.

        Raises:
            InvalidInputError: ``ts`` is naive.
        """
        seconds = _to_utc(ts).timestamp()
        self._ensure(ts.year)
        i = bisect_right(self._opens, seconds) - 1
        if i >= 0 and seconds < self._closes[i]:
            return i
        return None

    def session_bounds_at(self, seconds: float) -> tuple[int, int] | None:
        """``(open, close)`` epoch seconds of the session containing ``seconds``, or ``None``.

        The per-tick fast path (no datetime objects): ``seconds`` is UNIX time.
        """
        if not self._opens or seconds < self._opens[0] or seconds >= self._closes[-1]:
            self._ensure(_utc(int(seconds)).year)
        i = bisect_right(self._opens, seconds) - 1
        if i >= 0 and seconds < self._closes[i]:
            return self._opens[i], self._closes[i]
        return None

    def is_open(self, ts: datetime) -> bool:
        """True when the regular session is open at ``ts`` (open inclusive, close exclusive).

        Raises:
            InvalidInputError: ``ts`` is naive.
        """
        return self.session_index(ts) is not None

    def session(self, day: date) -> tuple[datetime, datetime] | None:
        """``(open, close)`` of the session on ``day`` as tz-aware UTC, or ``None`` if closed.

        Early closes are reflected in ``close`` (e.g. 17:00 UTC = 13:00 EDT on 2025-07-03).
        """
        self._ensure(day.year)
        i = _bisect_date(self._dates, day)
        if i is None:
            return None
        return _utc(self._opens[i]), _utc(self._closes[i])

    def is_early_close(self, day: date) -> bool:
        """True when ``day`` is a session that closes before 16:00 ET."""
        bounds = self.session(day)
        if bounds is None:
            return False
        close_et = bounds[1].astimezone(NEW_YORK)
        return (close_et.hour, close_et.minute) < _REGULAR_CLOSE_ET

    def next_open(self, ts: datetime) -> datetime:
        """The first session open strictly after ``ts``, tz-aware UTC.

        Raises:
            InvalidInputError: ``ts`` is naive.
        """
        seconds = _to_utc(ts).timestamp()
        return _utc(self._next_after("open", seconds, ts.year))

    def next_close(self, ts: datetime) -> datetime:
        """The first session close strictly after ``ts`` (today's close while open), UTC.

        Raises:
            InvalidInputError: ``ts`` is naive.
        """
        seconds = _to_utc(ts).timestamp()
        return _utc(self._next_after("close", seconds, ts.year))

    def _next_after(self, which: str, seconds: float, year: int) -> int:
        self._ensure(year)
        edges = self._opens if which == "open" else self._closes
        i = bisect_right(edges, seconds)
        if i >= len(edges):
            self._ensure(year + 1)
            edges = self._opens if which == "open" else self._closes
            i = bisect_right(edges, seconds)
        return edges[i]

    def _date_slice(self, start: date, end: date) -> tuple[int, int]:
        self._ensure(start.year)
        self._ensure(end.year)
        return bisect_left(self._dates, start), bisect_left(self._dates, end + timedelta(days=1))

    def session_list(self, start: date, end: date) -> list[tuple[date, datetime, datetime]]:
        """Every session with ``start <= date <= end`` as ``(date, open, close)``, ascending.

        ``open`` and ``close`` are tz-aware UTC (early closes included); the same
        sessions as :meth:`sessions` without building a DataFrame.
        """
        return self._rows(*self._date_slice(start, end))

    def sessions_before(self, day: date, count: int) -> list[tuple[date, datetime, datetime]]:
        """The ``count`` sessions before ``day``, oldest first, as ``(date, open, close)`` (UTC).

        ``[]`` when ``count`` is 0; fewer than ``count`` only before the calendar's
        first supported year.
        """
        if count <= 0:
            return []
        self._ensure(day.year)
        i = bisect_left(self._dates, day)
        while i < count and self._first_year > _MIN_YEAR:
            self._ensure(self._first_year - 1)
            i = bisect_left(self._dates, day)
        return self._rows(max(0, i - count), i)

    def _rows(self, lo: int, hi: int) -> list[tuple[date, datetime, datetime]]:
        return [
            (self._dates[i], _utc(self._opens[i]), _utc(self._closes[i])) for i in range(lo, hi)
        ]

    def sessions(self, start: date, end: date) -> pd.DataFrame:
        """Every session with ``start <= date <= end``.

        Returns:
            DataFrame indexed by session date (``date`` objects, ascending) with columns
            ``open`` and ``close`` (tz-aware UTC ``datetime64``) and ``early_close`` (bool).
        """
        import pandas as pd

        lo, hi = self._date_slice(start, end)
        opens = pd.to_datetime(np.array(self._opens[lo:hi], dtype="int64"), unit="s", utc=True)
        closes = pd.to_datetime(np.array(self._closes[lo:hi], dtype="int64"), unit="s", utc=True)
        local_close = closes.tz_convert(NEW_YORK)
        early = (local_close.hour * 60 + local_close.minute) < (16 * 60)
        frame = pd.DataFrame(
            {"open": opens, "close": closes, "early_close": np.asarray(early, dtype=bool)},
            index=pd.Index(self._dates[lo:hi], name="date"),
        )
        return frame

    def bounds_array(self, start: datetime, end: datetime) -> tuple[np.ndarray, np.ndarray]:
        """Session opens and closes overlapping ``[start, end]`` as int64 epoch seconds.

        For vectorised work (resampling, gap checks); both arrays are ascending.

        Raises:
            InvalidInputError: ``start`` or ``end`` is naive.
        """
        lo_s, hi_s = _to_utc(start).timestamp(), _to_utc(end).timestamp()
        self._ensure(start.year)
        self._ensure(end.year)
        lo = max(bisect_right(self._closes, lo_s), 0)
        hi = bisect_right(self._opens, hi_s)
        return (
            np.asarray(self._opens[lo:hi], dtype=np.int64),
            np.asarray(self._closes[lo:hi], dtype=np.int64),
        )

    def session_minutes(self, start: datetime, end: datetime) -> list[datetime]:
        """Every in-session minute start ``t`` with ``start <= t < end``, tz-aware UTC.

        Raises:
            InvalidInputError: ``start`` or ``end`` is naive.
        """
        lo_s, hi_s = _to_utc(start).timestamp(), _to_utc(end).timestamp()
        opens, closes = self.bounds_array(start, end)
        minutes: list[datetime] = []
        for open_s, close_s in zip(opens.tolist(), closes.tolist(), strict=True):
            first = max(open_s, int(-(-lo_s // 60) * 60))
            last = min(close_s, hi_s)
            minutes.extend(_utc(t) for t in range(first, int(last), 60) if t < hi_s)
        return minutes


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _bisect_date(dates: list[date], day: date) -> int | None:
    i = bisect_left(dates, day)
    return i if i < len(dates) and dates[i] == day else None
