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
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from vibe.common.errors import InvalidInputError, NoDataError
from vibe.common.models import Bar
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.data.frames import frame_to_bars, timeframe_seconds
from vibe.trading_bot.data.manager import DataManager

REGULAR_SESSION_MINUTES = 390


@dataclass(frozen=True, slots=True)
class TradingDay:
    """One session: its ET date and its open and close (tz-aware UTC; early closes included)."""

    day: date
    open: datetime
    close: datetime


def sessions_between(scheduler: MarketScheduler, start: date, end: date) -> list[TradingDay]:
    """Every session with ``start <= day <= end`` (weekends and holidays excluded)."""
    frame = scheduler.sessions(start, end)
    return [
        TradingDay(day, o.to_pydatetime(), c.to_pydatetime())
        for day, o, c in zip(frame.index, frame["open"], frame["close"], strict=True)
    ]


def sessions_before(scheduler: MarketScheduler, day: date, count: int) -> list[TradingDay]:
    """The ``count`` sessions before ``day``, oldest first (``[]`` when ``count`` is 0)."""
    if count <= 0:
        return []
    span = timedelta(days=7 * count + 10)
    return sessions_between(scheduler, day - span, day - timedelta(days=1))[-count:]


def warmup_sessions_needed(lookback_bars: int, timeframe: str) -> int:
    """Whole sessions of history that hold at least ``lookback_bars`` bars (>= 1)."""
    per_session = REGULAR_SESSION_MINUTES * 60 // timeframe_seconds(timeframe)
    return max(1, math.ceil(lookback_bars / per_session))


class HistoricalFeed:
    """Bars of ``symbols`` for the sessions ``start..end`` (dates inclusive), plus warm-up.

    Args:
        data: where history comes from (validated bar frames).
        scheduler: the market calendar (sessions, early closes).
        symbols: tickers to load.
        timeframe: ``1m`` or ``5m`` (any timeframe the data layer supports).
        start: first session traded (ET date).
        end: last session traded (ET date, inclusive).
        warmup_sessions: sessions before ``start`` loaded for warm-up.

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
        self._bars: dict[str, list[Bar]] = {}
        self._starts: dict[str, list[datetime]] = {}

    async def load(self) -> None:
        """Read every symbol's bars for the warm-up and traded sessions.

        Raises:
            NoDataError: a symbol has no bar in the traded sessions (names it and the range).
            DataError | TemporaryError: the data source failed.
        """
        first = (self._warmup_days or self.days)[0].open
        last = self.days[-1].close
        for symbol in self.symbols:
            try:
                frame = await self._data.get_history(symbol, self._timeframe, first, last)
            except NoDataError:
                frame = None
            bars = list(frame_to_bars(symbol, frame, self._interval)) if frame is not None else []
            starts = [bar.timestamp for bar in bars]
            if bisect_left(starts, self.days[0].open) == len(starts):
                raise NoDataError(
                    f"symbol {symbol} has no {self._timeframe} bars between "
                    f"{self.days[0].day.isoformat()} and {self.days[-1].day.isoformat()}"
                )
            self._bars[symbol], self._starts[symbol] = bars, starts

    def _between(self, lo: datetime, hi: datetime) -> list[Bar]:
        merged: list[Bar] = []
        for symbol in self.symbols:
            starts = self._starts.get(symbol, [])
            i, j = bisect_left(starts, lo), bisect_left(starts, hi)
            merged.extend(self._bars[symbol][i:j])
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
        total = 0
        for starts in self._starts.values():
            total += bisect_left(starts, hi) - bisect_left(starts, lo)
        return total
