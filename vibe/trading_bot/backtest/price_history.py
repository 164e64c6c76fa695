"""The bars a backtest traded and each session's opening range, for the report's price charts.

A :class:`PriceHistory` keeps what the runner read again for the benchmark
(:mod:`.session_bars`: each symbol's bars inside the traded sessions) with the
sessions themselves and the strategy's opening-range length, so the HTML report can
draw one candlestick chart per symbol with each session's opening range.

Opening range (the rule of :mod:`vibe.common.strategies.orb`): the high and low of
the bars that **start** in ``[session open, session open + orb_minutes)``; a session
without such a bar has no range (NaN).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from vibe.common.errors import InvalidInputError
from vibe.trading_bot.data.bar_table import MICROS_PER_SECOND, BarTable


@dataclass(frozen=True, slots=True)
class OpeningRanges:
    """One symbol's opening range in every session of a :class:`PriceHistory`.

    Attributes:
        high: shape (sessions,) float64, range high in USD per share; NaN: no range.
        low: shape (sessions,) float64, range low in USD per share; NaN: no range.
    """

    high: np.ndarray
    low: np.ndarray


@dataclass(frozen=True, slots=True)
class PriceHistory:
    """The traded sessions and each symbol's bars in them.

    Attributes:
        bars: symbol -> its bars (a :class:`BarTable`: UTC bar starts, prices in USD per
            share, volumes in shares), oldest first; ``None`` when the bars could not be
            read again after the run.
        session_opens: shape (sessions,) int64, session opens, UTC epoch seconds, ascending.
        session_closes: shape (sessions,) int64, session closes (early closes included),
            UTC epoch seconds.
        orb_minutes: the strategy's opening-range length, minutes (> 0).
        bar_seconds: the bar length, seconds (60 for ``1m``, 300 for ``5m``).
    """

    bars: Mapping[str, BarTable | None]
    session_opens: np.ndarray
    session_closes: np.ndarray
    orb_minutes: int
    bar_seconds: int


def price_history(
    bars: Mapping[str, BarTable | None],
    sessions: Sequence[tuple[date, datetime, datetime]],
    orb_minutes: int,
    bar_seconds: int,
) -> PriceHistory:
    """A :class:`PriceHistory` from ``(date, open, close)`` sessions (tz-aware, ascending).

    Raises:
        InvalidInputError: ``orb_minutes`` or ``bar_seconds`` is not positive, or a
            session time is naive.
    """
    if orb_minutes <= 0 or bar_seconds <= 0:
        raise InvalidInputError(
            f"orb_minutes={orb_minutes!r}, bar_seconds={bar_seconds!r}; expected both > 0"
        )
    for _, opened, closed in sessions:
        if opened.tzinfo is None or closed.tzinfo is None:
            raise InvalidInputError(f"session {opened!r}..{closed!r} is naive; expected tz-aware")
    opens = np.array([int(s[1].timestamp()) for s in sessions], dtype=np.int64)
    closes = np.array([int(s[2].timestamp()) for s in sessions], dtype=np.int64)
    return PriceHistory(dict(bars), opens, closes, orb_minutes, bar_seconds)


def bar_start_seconds(bars: BarTable) -> np.ndarray:
    """Shape (bars,) int64: each bar's start, UTC epoch seconds (whole, rounded down)."""
    seconds: np.ndarray = bars.starts // MICROS_PER_SECOND
    return seconds


def opening_ranges(history: PriceHistory, bars: BarTable) -> OpeningRanges:
    """Each session's opening range in ``bars`` (see the module docstring for the rule)."""
    count = history.session_opens.size
    high = np.full(count, np.nan)
    low = np.full(count, np.nan)
    if not len(bars) or count == 0:
        return OpeningRanges(high, low)
    starts = bar_start_seconds(bars)
    which = np.searchsorted(history.session_opens, starts, side="right") - 1
    opens = history.session_opens[np.clip(which, 0, None)]
    inside = (which >= 0) & (starts < opens + history.orb_minutes * 60)
    sessions = which[inside]
    np.fmax.at(high, sessions, bars.highs[inside])
    np.fmin.at(low, sessions, bars.lows[inside])
    return OpeningRanges(high, low)
