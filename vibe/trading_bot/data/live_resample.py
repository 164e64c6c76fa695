"""Live 1-minute bars -> bars of the configured timeframe, anchored to the session open.

The incremental twin of :func:`~vibe.trading_bot.data.resample.resample_bars`
(which a replay uses on recorded 1-minute files): the same buckets (from the
session open, the last one cut at an early close), the same roll-up (first
open, max high, min low, last close, summed volume) and the same bar length
on every bucket, so live bars equal the replay's bars of the same minutes.
1-minute bars outside every session are dropped.

Emission: a bucket is emitted as soon as it is known to be complete, whichever
comes first:

* its last minute's bar arrives (the bar ending at the bucket's end, or at the
  session close);
* a bar of a later bucket arrives for the same symbol (the bucket's last
  minutes had no trade);
* :meth:`LiveResampler.flush_due` is called with a trading time at least
  ``grace_seconds`` after the bucket's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from vibe.common.models import Bar
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.data.frames import timeframe_seconds


@dataclass(slots=True)
class _Bucket:
    start: int  # epoch seconds
    end: int  # epoch seconds: start + period, or the session close if earlier
    open: float
    high: float
    low: float
    close: float
    volume: int


class LiveResampler:
    """Rolls each symbol's live 1-minute bars up to ``timeframe`` (see module doc).

    Args:
        timeframe: target timeframe (``1m`` passes bars through, ``5m``, ``15m``, ``1h``).
        scheduler: the market calendar (session opens anchor the buckets).
        grace_seconds: how long after a bucket's end :meth:`flush_due` waits for its
            last minute (trading-time seconds, >= 0).

    Raises:
        InvalidInputError: unknown timeframe.
    """

    def __init__(
        self, timeframe: str, scheduler: MarketScheduler, grace_seconds: float = 5.0
    ) -> None:
        self.period = timeframe_seconds(timeframe)
        self._scheduler = scheduler
        self._grace = grace_seconds
        self._building: dict[str, _Bucket] = {}
        self._emitted: dict[str, int] = {}  # per symbol, start of the last emitted bucket
        self.dropped = 0

    def add(self, bar: Bar) -> list[Bar]:
        """Add one 1-minute ``bar``; return the bars it completed, oldest first."""
        if self.period == bar.interval_seconds:
            return [bar]
        start = int(bar.timestamp.timestamp())
        bounds = self._scheduler.session_bounds_at(start)
        if bounds is None:
            self.dropped += 1
            return []
        session_open, session_close = bounds
        key = session_open + (start - session_open) // self.period * self.period
        if key <= self._emitted.get(bar.symbol, -1):  # a minute of an emitted bucket: too late
            self.dropped += 1
            return []
        out: list[Bar] = []
        bucket = self._building.get(bar.symbol)
        if bucket is not None and bucket.start != key:
            out.append(self._emit(bar.symbol))
            bucket = None
        if bucket is None:
            end = min(key + self.period, session_close)
            self._building[bar.symbol] = bucket = _Bucket(
                key, end, bar.open, bar.high, bar.low, bar.close, bar.volume
            )
        else:
            bucket.high = max(bucket.high, bar.high)
            bucket.low = min(bucket.low, bar.low)
            bucket.close = bar.close
            bucket.volume += bar.volume
        if start + bar.interval_seconds >= bucket.end:
            out.append(self._emit(bar.symbol))
        return out

    def flush_due(self, now: datetime) -> list[Bar]:
        """Emit the buckets that ended ``grace_seconds`` or more before ``now`` (UTC)."""
        limit = now.timestamp() - self._grace
        due = sorted(s for s, b in self._building.items() if b.end <= limit)
        return sorted((self._emit(s) for s in due), key=lambda b: (b.timestamp, b.symbol))

    def flush_all(self) -> list[Bar]:
        """Emit every bucket being built (end of the stream)."""
        bars = [self._emit(s) for s in sorted(self._building)]
        return sorted(bars, key=lambda b: (b.timestamp, b.symbol))

    def _emit(self, symbol: str) -> Bar:
        b = self._building.pop(symbol)
        self._emitted[symbol] = b.start
        start = datetime.fromtimestamp(b.start, tz=UTC)
        return Bar(symbol, start, b.open, b.high, b.low, b.close, b.volume, self.period)
