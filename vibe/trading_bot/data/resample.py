"""Resample 1-minute bars to 5m/15m/1h/1d, anchored to the session open.

Buckets start at the session open (09:30 ET), not at UTC midnight or the top
of the hour: 1h bars are 09:30-10:30, ..., 15:30-16:00 (the last one short),
and on an early-close day the last bucket ends at 13:00. Bars outside every
session are dropped. Daily bars are labelled with the session date at 00:00
America/New_York (the convention of the daily files in ``../shared/data``).

Aggregation per bucket: open = first open, high = max high, low = min low,
close = last close, volume = sum (the standard OHLCV roll-up). The work is
vectorised with numpy ``reduceat`` over bucket boundaries (one pass, no
per-bar Python), so a year of 1-minute bars resamples in milliseconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vibe.common.errors import InvalidInputError
from vibe.trading_bot.core.scheduler import NEW_YORK, MarketScheduler
from vibe.trading_bot.data.frames import dt_index, empty_bars, timeframe_seconds

_NS = 1_000_000_000


def resample_bars(frame: pd.DataFrame, timeframe: str, scheduler: MarketScheduler) -> pd.DataFrame:
    """Roll a 1-minute bar frame up to ``timeframe``, anchored to each session's open.

    Args:
        frame: a 1-minute bar frame (see :mod:`vibe.trading_bot.data.frames`), sorted.
        timeframe: ``1m`` (returned as is), ``5m``, ``15m``, ``1h`` or ``1d``.
        scheduler: the market calendar giving each session's open and close.

    Returns:
        A bar frame of ``timeframe`` bars; buckets with no 1-minute bar are absent.

    Raises:
        InvalidInputError: unknown timeframe.
    """
    period = timeframe_seconds(timeframe)
    if timeframe == "1m" or frame.empty:
        return frame.copy() if not frame.empty else empty_bars()
    stamps, valid, session_open = session_positions(frame, scheduler)
    if not valid.all():
        frame, stamps, session_open = frame[valid], stamps[valid], session_open[valid]
    if frame.empty:
        return empty_bars()
    if period >= 86400:
        keys = session_open
    else:
        keys = session_open + (stamps - session_open) // period * period
    return _reduce(frame, keys, daily=period >= 86400)


def session_positions(
    frame: pd.DataFrame, scheduler: MarketScheduler
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Locate each bar of a non-empty, sorted bar frame in the calendar.

    Returns:
        ``(stamps, in_session, session_open)``: bar starts as int64 epoch seconds; a bool
        mask of bars with ``open <= start < close`` of some session; and that session's
        open in epoch seconds (meaningless where the mask is False).
    """
    index = dt_index(frame)
    stamps = index.as_unit("ns").asi8 // _NS
    opens, closes = scheduler.bounds_array(index[0], index[-1])
    if len(opens) == 0:
        return stamps, np.zeros(len(stamps), dtype=bool), np.zeros(len(stamps), dtype=np.int64)
    session = np.searchsorted(opens, stamps, side="right") - 1
    safe = session.clip(0)
    valid = (session >= 0) & (stamps < closes[safe])
    return stamps, valid, opens[safe]


def _reduce(frame: pd.DataFrame, keys: np.ndarray, daily: bool) -> pd.DataFrame:
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    ends = np.append(starts[1:], len(keys)) - 1
    o = frame["open"].to_numpy()
    h = frame["high"].to_numpy()
    lo = frame["low"].to_numpy()
    c = frame["close"].to_numpy()
    v = frame["volume"].to_numpy()
    index = pd.to_datetime(keys[starts] * _NS, utc=True)
    if daily:
        local = index.tz_convert(NEW_YORK).normalize()
        index = local.tz_convert("UTC")
    out = pd.DataFrame(
        {
            "open": o[starts],
            "high": np.maximum.reduceat(h, starts),
            "low": np.minimum.reduceat(lo, starts),
            "close": c[ends],
            "volume": np.add.reduceat(v, starts).astype(np.int64),
        },
        index=pd.DatetimeIndex(index, name="timestamp").as_unit("ns"),
    )
    return out


def check_resample_source(source_timeframe: str, target_timeframe: str) -> None:
    """Ensure ``target_timeframe`` can be built from ``source_timeframe`` bars.

    Raises:
        InvalidInputError: the target is shorter than, or not a multiple of, the source.
    """
    src, dst = timeframe_seconds(source_timeframe), timeframe_seconds(target_timeframe)
    if dst < src or (dst < 86400 and dst % src):
        raise InvalidInputError(
            f"cannot resample {source_timeframe} bars to {target_timeframe}; "
            "expected a longer timeframe that is a multiple of the source"
        )
