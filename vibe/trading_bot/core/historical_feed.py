"""Recorded bars by session, for ``run --replay`` and ``backtest``.

Bars come from the data manager's history chain (a replay folder, or the
cache/Yahoo), validated there, for the requested sessions plus enough earlier
sessions to warm the strategy up (its volume average needs
``volume_lookback_bars`` bars of history). Within a session, bars of several
symbols are merged in time order, ties broken by symbol, so every run over the
same data sees the same sequence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from vibe.common.errors import InvalidInputError, NoDataError
from vibe.common.models import Bar
from vibe.trading_bot.core.bar_columns import BarColumns, epoch_microseconds
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.data.bar_table import BarTable
from vibe.trading_bot.data.frames import timeframe_seconds
from vibe.trading_bot.data.manager import DataManager
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)
NEW_YORK = ZoneInfo("America/New_York")
REGULAR_SESSION_MINUTES = 390


@dataclass(frozen=True, slots=True)
class TradingDay:
    """One session: its ET date and its open and close (tz-aware UTC; early closes included)."""

    day: date
    open: datetime
    close: datetime


def sessions_between(scheduler: MarketScheduler, start: date, end: date) -> list[TradingDay]:
    """Every session with ``start <= day <= end`` (weekends and holidays excluded)."""
    return [TradingDay(*session) for session in scheduler.session_list(start, end)]


def sessions_before(scheduler: MarketScheduler, day: date, count: int) -> list[TradingDay]:
    """The ``count`` sessions before ``day``, oldest first (``[]`` when ``count`` is 0)."""
    return [TradingDay(*session) for session in scheduler.sessions_before(day, count)]


def warmup_sessions_needed(lookback_bars: int, timeframe: str) -> int:
    """Whole sessions of history that hold at least ``lookback_bars`` bars (>= 1)."""
    per_session = REGULAR_SESSION_MINUTES * 60 // timeframe_seconds(timeframe)
    return max(1, math.ceil(lookback_bars / per_session))


class HistoricalFeed:
    """Bars of ``symbols`` for the sessions ``start..end`` (dates inclusive), plus warm-up.

    Args:
        data: where history comes from (validated bars).
        scheduler: the market calendar (sessions, early closes).
        symbols: tickers to load.
        timeframe: ``1m`` or ``5m`` (any timeframe the data layer supports).
        start: first session traded (ET date).
        end: last session traded (ET date, inclusive).
        warmup_sessions: sessions before ``start`` loaded for warm-up.
        keep_tables: keep each symbol's validated bars in :attr:`tables` after
            :meth:`load` (a backtest's benchmark and price charts reuse them instead
            of reading the bars again).

    Attributes:
        tables: symbol -> the bars read for the warm-up and traded sessions
            (``None`` when the data had none); empty unless ``keep_tables``.

    Raises:
        InvalidInputError: ``end`` before ``start``, or no session between them.
    """

    def __init__(
        self,
        data: DataManager,
        scheduler: MarketScheduler,
        symbols: Sequence[str],
        timeframe: str,
        start: date,
        end: date,
        warmup_sessions: int = 1,
        *,
        keep_tables: bool = False,
    ) -> None:
        if end < start:
            raise InvalidInputError(f"end={end.isoformat()} is before start={start.isoformat()}")
        self.days = sessions_between(scheduler, start, end)
        if not self.days:
            raise InvalidInputError(
                f"no market session between {start.isoformat()} and {end.isoformat()}"
            )
        self._data = data
        self._interval = timeframe_seconds(timeframe)
        self._timeframe = timeframe
        self.symbols = sorted(symbols)
        self._warmup_days = sessions_before(scheduler, start, warmup_sessions)
        self._columns: dict[str, BarColumns] = {}
        self._keep_tables = keep_tables
        self.tables: dict[str, BarTable | None] = {}

    async def load(self) -> None:
        """Read every symbol's bars for the warm-up and traded sessions.

        A symbol whose bars end before the last session's close is one warning
        (``data ends before --end``) naming its last bar (ET) and the sessions left
        without bars.

        Raises:
            NoDataError: a symbol has no bar in the traded sessions (names it, the range
                and the data layer's reason, e.g. Yahoo's retention).
            DataError | TemporaryError: the data source failed.
        """
        first = (self._warmup_days or self.days)[0].open
        last = self.days[-1].close
        for symbol in self.symbols:
            why = ""
            table: BarTable | None
            try:
                table = await self._data.get_history_table(symbol, self._timeframe, first, last)
            except NoDataError as exc:
                table, why = None, f" ({exc})"
            columns = BarColumns.of(symbol, table, self._interval)
            if self._keep_tables:
                self.tables[symbol] = table
            if columns.index(self.days[0].open) == len(columns):
                raise NoDataError(
                    f"symbol {symbol} has no {self._timeframe} bars between "
                    f"{self.days[0].day.isoformat()} and {self.days[-1].day.isoformat()}{why}"
                )
            self._columns[symbol] = columns
        self._warn_if_data_ends_early()

    def _warn_if_data_ends_early(self) -> None:
        """One warning per symbol whose bars stop before the last session's close."""
        final = self.days[-1]
        step = timedelta(seconds=self._interval)
        for symbol in self.symbols:
            columns = self._columns[symbol]
            last = columns.start(columns.index(final.close) - 1)  # load() ensured one exists
            if last + step >= final.close:
                continue
            empty = sum(1 for day in self.days if day.open > last)
            _log.warning(
                "data ends before --end",
                symbol=symbol,
                last_bar=last.astimezone(NEW_YORK).isoformat(),
                end=final.day.isoformat(),
                sessions_without_bars=empty,
            )

    def data_ended_before(self, day: TradingDay) -> bool:
        """True when no symbol has a bar at or after the open of ``day`` (the data ran out)."""
        opens_at = epoch_microseconds(day.open)
        return all(
            not len(columns) or columns.starts[-1] < opens_at for columns in self._columns.values()
        )

    def _between(self, lo: datetime, hi: datetime) -> list[Bar]:
        merged: list[Bar] = []
        for symbol in self.symbols:
            columns = self._columns.get(symbol)
            if columns is not None:
                merged.extend(columns.bars(columns.index(lo), columns.index(hi)))
        if len(self.symbols) > 1:
            merged.sort(key=lambda bar: (bar.timestamp, bar.symbol))
        return merged

    def warmup_days(self) -> list[TradingDay]:
        """The warm-up sessions before the first traded one, oldest first."""
        return list(self._warmup_days)

    def bars(self, day: TradingDay) -> list[Bar]:
        """Bars of the session ``day`` (``open <= start < close``), in time then symbol order."""
        return self._between(day.open, day.close)

    @property
    def bar_count(self) -> int:
        """Bars in the traded sessions, every symbol."""
        lo, hi = self.days[0].open, self.days[-1].close
        return sum(columns.index(hi) - columns.index(lo) for columns in self._columns.values())
