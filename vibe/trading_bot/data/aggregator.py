"""Ticks (trade prints) -> 1-minute bars aligned to the exchange's minutes.

Minute boundaries: America/New_York is offset from UTC by whole hours, so its
minutes are exactly the UTC minutes (``floor(t / 60 s)``); DST changes move no
boundary. Only ticks inside the regular session (``open <= t < close`` from
the :class:`~vibe.trading_bot.core.scheduler.MarketScheduler`, early closes
included) make bars; others are counted in ``out_of_session_ticks`` and
dropped, so a 13:00 early close never emits a 13:00 bar.

Emission: a minute's bar is emitted as soon as it is known to be closed,
whichever comes first:

* the next tick of that symbol belongs to a later minute, or
* :meth:`BarAggregator.flush_due` is called (a clock timer) with a time at or
  after the minute's end plus ``grace_seconds`` (default 1 s, to let prints
  that were delayed in transit land in their own minute). Right after a message
  the stream calls it with the stream's own time (:meth:`BarAggregator.stream_time`,
  the newest print seen, never ahead of the clock): prints still unread in the
  socket after a stall of the process cannot be cut off by a clock that ran on.

Late-tick policy: a tick for a minute that is already emitted (or older than
the minute being built) is counted in ``late_ticks`` and dropped: emitted bars
are final, as with NautilusTrader's time-bar aggregator. Price-only updates
(size 0) move OHLC but add no volume.
"""

from __future__ import annotations

from datetime import UTC, datetime

from vibe.common.models import Bar, Tick
from vibe.trading_bot.core.scheduler import MarketScheduler

_MINUTE_MS = 60_000


class _Building:
    __slots__ = ("close", "high", "low", "minute", "open", "volume")

    def __init__(self, minute: int, price: float, size: int) -> None:
        self.minute = minute
        self.open = self.high = self.low = self.close = price
        self.volume = size


class BarAggregator:
    """Builds 1-minute bars per symbol from trade prints.

    Args:
        scheduler: the market calendar; ticks outside a session are dropped.
        grace_seconds: how long after a minute's end :meth:`flush_due` waits
            before emitting it (seconds, >= 0).

    Attributes:
        late_ticks: ticks dropped because their minute was already emitted.
        out_of_session_ticks: ticks dropped because the market was closed.
        ticks: ticks accepted into a bar.
    """

    def __init__(self, scheduler: MarketScheduler, grace_seconds: float = 1.0) -> None:
        self._scheduler = scheduler
        self._grace_ms = int(grace_seconds * 1000)
        self._building: dict[str, _Building] = {}
        self._emitted: dict[str, int] = {}
        self._session: tuple[int, int] = (0, 0)
        self.late_ticks = 0
        self.out_of_session_ticks = 0
        self.ticks = 0
        self.latest_ms = 0  # the newest print's time seen (any symbol, in session or not)

    def add_tick(self, tick: Tick) -> Bar | None:
        """Add one :class:`Tick`; return the bar it closed, if any."""
        ms = int(tick.timestamp.timestamp() * 1000)
        return self.add_trade(tick.symbol, ms, tick.price, tick.size)

    def add_trade(self, symbol: str, ts_ms: int, price: float, size: int) -> Bar | None:
        """Add one trade print (the hot path: plain values, UNIX milliseconds).

        Returns:
            The previous minute's bar when this print is the first of a later minute.
        """
        if ts_ms > self.latest_ms:
            self.latest_ms = ts_ms
        minute = ts_ms // _MINUTE_MS
        if not self._in_session(minute):
            self.out_of_session_ticks += 1
            return None
        bar = self._building.get(symbol)
        if bar is not None and bar.minute == minute:
            if price > bar.high:
                bar.high = price
            elif price < bar.low:
                bar.low = price
            bar.close = price
            bar.volume += size
            self.ticks += 1
            return None
        if (bar is not None and minute < bar.minute) or minute <= self._emitted.get(symbol, -1):
            self.late_ticks += 1
            return None
        self._building[symbol] = _Building(minute, price, size)
        self.ticks += 1
        return self._emit(symbol, bar) if bar is not None else None

    def _in_session(self, minute: int) -> bool:
        seconds = minute * 60
        open_s, close_s = self._session
        if open_s <= seconds < close_s:
            return True
        bounds = self._scheduler.session_bounds_at(seconds)
        if bounds is None:
            return False
        self._session = bounds
        return True

    def _emit(self, symbol: str, bar: _Building) -> Bar:
        self._emitted[symbol] = bar.minute
        start = datetime.fromtimestamp(bar.minute * 60, tz=UTC)
        return Bar(symbol, start, bar.open, bar.high, bar.low, bar.close, bar.volume, 60)

    def stream_time(self) -> datetime | None:
        """The newest print's time seen, any symbol (UTC); ``None`` before the first."""
        return datetime.fromtimestamp(self.latest_ms / 1000, tz=UTC) if self.latest_ms else None

    def flush_due(self, now: datetime) -> list[Bar]:
        """Emit every building bar whose minute ended at least ``grace_seconds`` before ``now``.

        Returns:
            The emitted bars, ordered by start time then symbol.
        """
        now_ms = int(now.timestamp() * 1000)
        due = [
            symbol
            for symbol, bar in self._building.items()
            if (bar.minute + 1) * _MINUTE_MS + self._grace_ms <= now_ms
        ]
        bars = [self._emit(symbol, self._building.pop(symbol)) for symbol in due]
        bars.sort(key=lambda b: (b.timestamp, b.symbol))
        return bars

    def flush_all(self) -> list[Bar]:
        """Emit every building bar now (end of stream or shutdown)."""
        bars = [self._emit(symbol, bar) for symbol, bar in self._building.items()]
        self._building.clear()
        bars.sort(key=lambda b: (b.timestamp, b.symbol))
        return bars
