"""Opening Range Breakout over a whole frame at once (research and fast backtests).

:func:`orb_signals` applies exactly the rules of :class:`~vibe.common.strategies.orb.OrbStrategy`
with numpy array operations (no Python loop over bars or sessions) and returns
the same signals and rejections, bit for bit: the session VWAP is a sequential
per-session cumulative sum (as the per-bar path accumulates it) and volume sums
are exact integer sums.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import numpy as np
import pandas as pd

from vibe.common.errors import InvalidInputError
from vibe.common.models import ExitReason, SignalAction
from vibe.common.strategies.orb_rules import RULE_BY_CODE, OrbParams, check_breakouts

_NS_PER_MINUTE = 60_000_000_000
_REQUIRED = ("high", "low", "close", "volume")

#: Columns of the frame returned by :func:`orb_signals`.
SIGNAL_COLUMNS = (
    "session",
    "bar_start",
    "timestamp",
    "action",
    "price",
    "stop_price",
    "take_profit_price",
    "exit_reason",
    "rejected_by",
)

SessionTimes = pd.DataFrame | Mapping[date, tuple[datetime, datetime]]


def session_bounds(sessions: SessionTimes) -> tuple[np.ndarray, np.ndarray]:
    """Session opens and closes as sorted int64 arrays of UTC epoch nanoseconds.

    Args:
        sessions: a DataFrame with tz-aware (or offset-bearing ISO text) columns
            ``market_open``/``market_close`` (pandas_market_calendars ``schedule``) or
            ``open``/``close`` (``calendar/XNYS_sessions_*.csv``), one row per session;
            or a mapping ``session date -> (open, close)`` of tz-aware datetimes.

    Raises:
        InvalidInputError: the columns are missing, a time is naive, or a close is not
            after its open.
    """
    if isinstance(sessions, pd.DataFrame):
        names = ("market_open", "market_close")
        if not set(names) <= set(sessions.columns):
            names = ("open", "close")
        if not set(names) <= set(sessions.columns):
            raise InvalidInputError(
                f"sessions columns={list(sessions.columns)}; expected market_open/market_close"
                " or open/close"
            )
        raw_open, raw_close = sessions[names[0]], sessions[names[1]]
    else:
        raw_open = pd.Series([v[0] for v in sessions.values()], dtype=object)
        raw_close = pd.Series([v[1] for v in sessions.values()], dtype=object)
    opens, closes = _to_utc_ns(raw_open), _to_utc_ns(raw_close)
    order = np.argsort(opens, kind="stable")
    opens, closes = opens[order], closes[order]
    if np.any(closes <= opens):
        raise InvalidInputError("sessions: a close is not after its open; expected open < close")
    return opens, closes


def _to_utc_ns(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values.dtype) and values.dt.tz is None:
        raise InvalidInputError("sessions times are naive; expected tz-aware datetimes")
    try:
        converted = pd.to_datetime(values, utc=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"sessions times {values.head(1).tolist()}: {exc}") from exc
    return np.asarray(converted.dt.as_unit("ns").astype("int64"))


def orb_signals(
    frame: pd.DataFrame,
    sessions: SessionTimes,
    params: OrbParams | None = None,
    *,
    interval_seconds: int | None = None,
) -> pd.DataFrame:
    """Every ORB entry, rejection and end-of-day flatten in ``frame``.

    Args:
        frame: bars of one symbol, indexed by a tz-aware, strictly increasing
            DatetimeIndex of bar **start** times, with float columns ``high``, ``low``,
            ``close`` (USD per share) and an integer ``volume`` column (shares). Bars
            outside every session are ignored, as the per-bar path ignores them.
        sessions: session opens and closes (see :func:`session_bounds`); early closes
            must be in it.
        params: rule parameters; defaults to :class:`OrbParams()`.
        interval_seconds: bar length; default: the smallest gap between bar starts.

    Returns:
        One row per event, ordered by time, with columns :data:`SIGNAL_COLUMNS`:
        ``session`` (``datetime.date``, America/New_York), ``bar_start`` and
        ``timestamp`` (signal bar start / close, ``datetime64[ns, UTC]``), ``action``
        (``open_long``, ``open_short`` or ``close``), ``price`` (signal bar close),
        ``stop_price`` and ``take_profit_price`` (entries only, else NaN),
        ``exit_reason`` (``end_of_day`` on closes, else None) and ``rejected_by``
        (the rule name for a rejected breakout, else None). Rows with ``rejected_by``
        set are records, not orders. A ``close`` row follows every accepted entry at
        the session's flatten bar (the position may be closed earlier by its stop or
        target; that is the executor's business).

    Raises:
        InvalidInputError: the index is not tz-aware and strictly increasing, a column
            is missing, or the interval cannot be inferred.
    """
    p = params or OrbParams()
    ts, arrays = _bar_arrays(frame)
    interval_ns = _interval_ns(ts, interval_seconds)
    opens, closes = session_bounds(sessions)
    sid = np.searchsorted(opens, ts, side="right") - 1
    keep = (sid >= 0) & (ts < closes[np.maximum(sid, 0)])
    ts, sid = ts[keep], sid[keep]
    high, low, close, volume = (a[keep] for a in arrays)
    if ts.size == 0:
        return _empty()
    change = np.empty(ts.size, dtype=bool)
    change[0] = True
    np.not_equal(sid[1:], sid[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    seg = np.cumsum(change) - 1
    open_ns, close_ns = opens[sid], closes[sid]
    in_range = ts < open_ns + p.orb_minutes * _NS_PER_MINUTE
    range_high = np.maximum.reduceat(np.where(in_range, high, -np.inf), starts)[seg]
    range_low = np.minimum.reduceat(np.where(in_range, low, np.inf), starts)[seg]
    last_entry = max(p.entry_cutoff_minutes_before_close, p.flatten_minutes_before_close)
    hunting = ~in_range & (ts < close_ns - last_entry * _NS_PER_MINUTE - interval_ns)
    hunting &= range_high >= range_low
    breakout = close > range_high
    if p.allow_short:
        breakout |= close < range_low
    first = _first_per_segment(np.flatnonzero(hunting & breakout), seg)
    is_long = close[first] > range_high[first]
    vwap = _session_vwap(high, low, close, volume, seg, starts)[first]
    codes = check_breakouts(
        p,
        is_long,
        close[first],
        volume[first],
        vwap,
        _previous_volume(volume, first, p.volume_lookback_bars),
        range_high[first],
        range_low[first],
    )
    flatten_at = close_ns - p.flatten_minutes_before_close * _NS_PER_MINUTE - interval_ns
    flat_first = _first_per_segment(np.flatnonzero(ts >= flatten_at), seg)
    accepted_segs = seg[first[codes == 0]]
    flat_first = flat_first[np.isin(seg[flat_first], accepted_segs)]
    entries = (first, is_long, codes, range_high[first], range_low[first])
    return _assemble(p, ts, close, interval_ns, opens[sid], entries, flat_first)


def _bar_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, list[np.ndarray]]:
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise InvalidInputError(
            f"frame index {type(index).__name__}; expected a tz-aware DatetimeIndex of bar starts"
        )
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"frame lacks columns {missing}; expected {list(_REQUIRED)}")
    ts = np.asarray(index.as_unit("ns").asi8)
    if ts.size > 1 and not np.all(ts[1:] > ts[:-1]):
        raise InvalidInputError("frame index is not strictly increasing; sort and deduplicate")
    arrays = [frame[c].to_numpy(dtype=np.float64) for c in _REQUIRED[:3]]
    arrays.append(frame["volume"].to_numpy(dtype=np.int64))
    return ts, arrays


def _interval_ns(ts: np.ndarray, interval_seconds: int | None) -> int:
    if interval_seconds is not None:
        if interval_seconds <= 0:
            raise InvalidInputError(f"interval_seconds={interval_seconds}; expected > 0")
        return interval_seconds * 1_000_000_000
    if ts.size < 2:
        raise InvalidInputError("cannot infer the bar interval from < 2 bars; pass it")
    return int(np.min(np.diff(ts)))


def _first_per_segment(indices: np.ndarray, seg: np.ndarray) -> np.ndarray:
    if indices.size == 0:
        return indices
    segs = seg[indices]
    new = np.empty(indices.size, dtype=bool)
    new[0] = True
    np.not_equal(segs[1:], segs[:-1], out=new[1:])
    return indices[new]


def _session_vwap(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    seg: np.ndarray,
    starts: np.ndarray,
) -> np.ndarray:
    # Sequential per-session sums (a padded matrix cumulated along its rows) so the
    # float result equals the per-bar path's running ``+=``; NaN where no volume yet.
    pos = np.arange(seg.size) - starts[seg]
    matrix = np.zeros((starts.size, int(pos.max()) + 1))
    matrix[seg, pos] = (high + low + close) / 3.0 * volume
    cum_pv = np.cumsum(matrix, axis=1)[seg, pos]
    cum_all = np.cumsum(volume)
    cum_v = cum_all - (cum_all[starts] - volume[starts])[seg]
    out = np.full(seg.size, np.nan)
    np.divide(cum_pv, cum_v, out=out, where=cum_v != 0)
    return out


def _previous_volume(
    volume: np.ndarray, at: np.ndarray, lookback: int
) -> tuple[np.ndarray, np.ndarray]:
    csum = np.concatenate(([0], np.cumsum(volume)))
    begin = np.maximum(at - lookback, 0)
    return csum[at] - csum[begin], np.minimum(at, lookback)


def _assemble(
    p: OrbParams,
    ts: np.ndarray,
    close: np.ndarray,
    interval_ns: int,
    session_open: np.ndarray,
    entries: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    flat_first: np.ndarray,
) -> pd.DataFrame:
    first, is_long, codes, range_high, range_low = entries
    price = close[first]
    accepted = codes == 0
    stop = np.where(is_long, range_low, range_high)
    target = price + np.where(is_long, 1.0, -1.0) * p.take_profit_r * np.abs(price - stop)
    idx = np.concatenate((first, flat_first))
    long_s, short_s = SignalAction.OPEN_LONG.value, SignalAction.OPEN_SHORT.value
    action = np.concatenate(
        (np.where(is_long, long_s, short_s), np.full(flat_first.size, SignalAction.CLOSE.value))
    ).astype(object)
    nan_tail = np.full(flat_first.size, np.nan)
    rules = np.array([None if r is None else r.value for r in RULE_BY_CODE], dtype=object)
    exit_reason = np.array(
        [None] * first.size + [ExitReason.END_OF_DAY.value] * flat_first.size, dtype=object
    )
    order = np.argsort(idx, kind="stable")
    at = idx[order]
    utc = pd.DatetimeIndex(ts[at].astype("datetime64[ns]")).tz_localize("UTC")
    sessions = pd.DatetimeIndex(session_open[at].astype("datetime64[ns]")).tz_localize("UTC")
    data = {
        "session": sessions.tz_convert("America/New_York").date,
        "bar_start": utc,
        "timestamp": utc + pd.Timedelta(interval_ns, unit="ns"),
        "action": action[order],
        "price": close[at],
        "stop_price": np.concatenate((np.where(accepted, stop, np.nan), nan_tail))[order],
        "take_profit_price": np.concatenate((np.where(accepted, target, np.nan), nan_tail))[order],
        "exit_reason": exit_reason[order],
        "rejected_by": np.concatenate((rules[codes], np.full(flat_first.size, None)))[order],
    }
    return pd.DataFrame(data, columns=list(SIGNAL_COLUMNS))


def _empty() -> pd.DataFrame:
    dtypes = {"bar_start": "datetime64[ns, UTC]", "timestamp": "datetime64[ns, UTC]"}
    dtypes |= {c: "float64" for c in ("price", "stop_price", "take_profit_price")}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, object)) for c in SIGNAL_COLUMNS})
