"""Bar validation: every bar is checked before the strategy sees it.

Rules (a bar failing any is rejected, logged with its reason and counted):

* ``bad_price``: open, high, low or close is not finite or is <= 0;
* ``high_below_body``: high < max(open, close);
* ``low_above_body``: low > min(open, close);
* ``negative_volume``: volume < 0;
* ``duplicate``: same start time as the previous accepted bar of the symbol;
* ``out_of_order``: start time before the previous accepted bar of the symbol.

These are the OHLC consistency checks the source data in ``../shared/data``
was verified against (SOURCES.md), plus ordering for live streams.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from vibe.common.models import Bar
from vibe.trading_bot.data.bar_table import BarTable, utc_from_microseconds
from vibe.trading_bot.data.frames import PRICE_COLUMNS
from vibe.trading_bot.utils.logger import get_logger

if TYPE_CHECKING:
    import pandas as pd

_log = get_logger(__name__)


def bar_problem(o: float, h: float, lo: float, c: float, volume: int) -> str | None:
    """The first rule an OHLCV row breaks (see module docs), or ``None`` when valid."""
    for price in (o, h, lo, c):
        if not math.isfinite(price) or price <= 0:
            return "bad_price"
    if h < max(o, c):
        return "high_below_body"
    if lo > min(o, c):
        return "low_above_body"
    if volume < 0:
        return "negative_volume"
    return None


class BarValidator:
    """Checks bars and bar frames, counting rejections per reason.

    Attributes:
        rejections: ``Counter`` of rejected bars per reason (see module docs).
        on_reject: called with ``(symbol, reason)`` for every rejected bar (the
            ``/metrics`` feed), when set; it must not raise.
    """

    def __init__(self) -> None:
        self.rejections: Counter[str] = Counter()
        self._last: dict[str, datetime] = {}
        self.on_reject: Callable[[str, str], None] | None = None

    @property
    def rejected(self) -> int:
        """Total bars rejected so far."""
        return sum(self.rejections.values())

    def check(self, bar: Bar) -> bool:
        """True when ``bar`` is valid and in order for its symbol (then it becomes the last)."""
        reason = bar_problem(bar.open, bar.high, bar.low, bar.close, bar.volume)
        last = self._last.get(bar.symbol)
        if reason is None and last is not None and bar.timestamp <= last:
            reason = "duplicate" if bar.timestamp == last else "out_of_order"
        if reason is not None:
            self._reject(bar.symbol, bar.timestamp, reason)
            return False
        self._last[bar.symbol] = bar.timestamp
        return True

    def last_timestamp(self, symbol: str) -> datetime | None:
        """Start time of the last accepted bar of ``symbol``."""
        return self._last.get(symbol)

    def clean_frame(self, symbol: str, frame: pd.DataFrame) -> pd.DataFrame:
        """A bar frame without the rows that break a rule (vectorised; counted and logged).

        Duplicates keep the first row; the index is sorted first, so history
        frames are never rejected as ``out_of_order``.
        """
        frame = frame.sort_index(kind="stable")
        o, h, lo, c = (frame[col].to_numpy(dtype=np.float64) for col in PRICE_COLUMNS)
        v = frame["volume"].to_numpy()
        bad = np.zeros(len(frame), dtype=bool)
        for reason, mask in _problems(o, h, lo, c, v, frame.index.duplicated(keep="first")):
            for ts in frame.index[mask]:
                self._reject(symbol, ts.to_pydatetime(), reason)
            bad |= mask
        return frame[~bad] if bad.any() else frame

    def clean_table(self, symbol: str, table: BarTable) -> BarTable:
        """:meth:`clean_frame` for a :class:`BarTable`: the same rules, counts and logs."""
        starts = table.starts
        if len(starts) > 1 and not (np.diff(starts) > 0).all():
            table = table.take(np.argsort(starts, kind="stable"))
            starts = table.starts
        duplicated = np.zeros(len(starts), dtype=bool)
        duplicated[1:] = starts[1:] == starts[:-1]
        o, h, lo, c, v = table.opens, table.highs, table.lows, table.closes, table.volumes
        bad = np.zeros(len(starts), dtype=bool)
        for reason, mask in _problems(o, h, lo, c, v, duplicated):
            for micros in starts[mask].tolist():
                self._reject(symbol, utc_from_microseconds(micros), reason)
            bad |= mask
        return table.take(~bad) if bad.any() else table

    def _reject(self, symbol: str, ts: datetime, reason: str) -> None:
        self.rejections[reason] += 1
        if self.on_reject is not None:
            self.on_reject(symbol, reason)
        _log.warning("bar rejected", symbol=symbol, timestamp=ts.isoformat(), reason=reason)


def _problems(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    duplicated: np.ndarray,
) -> Iterator[tuple[str, np.ndarray]]:
    """Each rule of the module doc and the rows it rejects first, in the rules' order.

    Args:
        o: shape (n,) float64 opens, USD per share.
        h: shape (n,) float64 highs.
        lo: shape (n,) float64 lows.
        c: shape (n,) float64 closes.
        v: shape (n,) volumes, shares.
        duplicated: shape (n,) bool, True for a row whose time an earlier row has.

    Yields:
        ``(reason, mask)``: shape (n,) bool, the rows breaking this rule and none before.
    """
    prices = np.vstack([o, h, lo, c])
    checks = {
        "bad_price": ~(np.isfinite(prices).all(axis=0) & (prices > 0).all(axis=0)),
        "high_below_body": h < np.maximum(o, c),
        "low_above_body": lo > np.minimum(o, c),
        "negative_volume": v < 0,
        "duplicate": duplicated,
    }
    bad = np.zeros(len(o), dtype=bool)
    for reason, mask in checks.items():
        mask = mask & ~bad
        yield reason, mask
        bad |= mask
