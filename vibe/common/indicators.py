"""Technical indicators as vectorized pandas/numpy functions (no Python loop over rows).

Every function takes pandas Series (float64 prices in USD per share, volumes in
shares) sharing one index, returns Series (or a DataFrame of Series) on that same
index, and leaves the first *warm-up* values NaN. Values at row ``i`` use rows
``<= i`` only (no look-ahead).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vibe.common.errors import InvalidInputError


def _require_window(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{name}={value!r}; expected an int >= 1")


def sma(values: pd.Series, window: int) -> pd.Series:
    """Simple moving average: mean of the last ``window`` values.

    Shape: same as ``values``. Warm-up: ``window - 1`` NaN.

    Raises:
        InvalidInputError: ``window`` < 1.
    """
    _require_window("window", window)
    return values.rolling(window, min_periods=window).mean()


def ema(values: pd.Series, span: int) -> pd.Series:
    """Exponential moving average, alpha = 2 / (span + 1), seeded with the first value.

    ``y[0] = x[0]; y[i] = alpha * x[i] + (1 - alpha) * y[i-1]`` (pandas
    ``ewm(span, adjust=False)``, as in the ``ta`` package). Warm-up: ``span - 1`` NaN.

    Raises:
        InvalidInputError: ``span`` < 1.
    """
    _require_window("span", span)
    return values.ewm(span=span, min_periods=span, adjust=False).mean()


def wilder_smooth(values: pd.Series, window: int) -> pd.Series:
    """Wilder's smoothing (a moving average with alpha = 1 / window).

    Seed = mean of the first ``window`` values, then
    ``y[i] = (y[i-1] * (window - 1) + x[i]) / window``.

    Source: J. Welles Wilder, *New Concepts in Technical Trading Systems* (1978).
    Leading NaNs in ``values`` are skipped; warm-up: (leading NaNs) + ``window - 1``.

    Raises:
        InvalidInputError: ``window`` < 1.
    """
    _require_window("window", window)
    valid = values.notna().to_numpy()
    first_valid = int(valid.argmax()) if valid.any() else len(values)
    seed_at = first_valid + window - 1
    seeded = values.copy().astype("float64")
    if seed_at >= len(values):
        return pd.Series(np.nan, index=values.index)
    seeded.iloc[:seed_at] = np.nan
    seeded.iloc[seed_at] = values.iloc[first_valid : seed_at + 1].mean()
    return seeded.ewm(alpha=1.0 / window, adjust=False).mean()


def rsi(close: pd.Series, window: int = 14) -> pd.Series:
    """Relative Strength Index with Wilder's smoothing, in [0, 100].

    ``RSI = 100 - 100 / (1 + avg_gain / avg_loss)`` where gains/losses are the positive
    / negative close-to-close changes smoothed by :func:`wilder_smooth` (100 when
    avg_loss is 0). Source: Wilder (1978). Warm-up: ``window`` NaN (one for the first
    change). The ``ta`` package seeds its average with the first change instead of a
    ``window`` mean; the two converge as ``((window - 1) / window) ** n``.

    Raises:
        InvalidInputError: ``window`` < 1.
    """
    change = close.diff()
    gain = wilder_smooth(change.clip(lower=0.0), window)
    loss = wilder_smooth((-change).clip(lower=0.0), window)
    out = 100.0 - 100.0 / (1.0 + gain / loss.where(loss != 0))
    return out.mask((loss == 0) & gain.notna(), 100.0)


def true_range(high: pd.Series, low: pd.Series, close: pd.Series) -> pd.Series:
    """True range: ``max(high - low, |high - prev close|, |low - prev close|)``.

    The first bar, with no previous close, uses ``high - low``. Source: Wilder (1978).
    No warm-up.
    """
    prev = close.shift(1)
    ranges = pd.concat([high - low, (high - prev).abs(), (low - prev).abs()], axis=1)
    return ranges.max(axis=1, skipna=True)


def atr(high: pd.Series, low: pd.Series, close: pd.Series, window: int = 14) -> pd.Series:
    """Average True Range: :func:`wilder_smooth` of :func:`true_range`, USD per share.

    Source: Wilder (1978); matches ``ta.volatility.AverageTrueRange``. Warm-up:
    ``window - 1`` NaN.

    Raises:
        InvalidInputError: ``window`` < 1.
    """
    return wilder_smooth(true_range(high, low, close), window)


def session_vwap(
    high: pd.Series,
    low: pd.Series,
    close: pd.Series,
    volume: pd.Series,
    session: pd.Series | np.ndarray | None = None,
) -> pd.Series:
    """Session-anchored VWAP: cumulative (typical price x volume) / cumulative volume.

    Typical price = (high + low + close) / 3; both sums restart at each session's first
    bar. ``session`` labels each row's session (default: the America/New_York date of
    the bar's start; the index must then be a tz-aware DatetimeIndex). Sums are plain
    sequential sums. NaN while a session has had no volume; otherwise no warm-up.
    """
    if session is None:
        index = high.index
        if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
            raise InvalidInputError("session_vwap needs a tz-aware DatetimeIndex or `session`")
        session = np.asarray(index.tz_convert("America/New_York").date)
    keys = pd.Series(np.asarray(session), index=high.index)
    start = (keys != keys.shift(1)).to_numpy()
    seg = np.cumsum(start) - 1
    starts = np.flatnonzero(start)
    pos = np.arange(len(keys)) - starts[seg]
    matrix = np.zeros((starts.size, int(pos.max()) + 1 if len(keys) else 0))
    pv = ((high + low + close) / 3.0 * volume).to_numpy(dtype=np.float64)
    vol = volume.to_numpy(dtype=np.float64)
    matrix[seg, pos] = pv
    cum_pv = np.cumsum(matrix, axis=1)[seg, pos]
    matrix[seg, pos] = vol
    cum_v = np.cumsum(matrix, axis=1)[seg, pos]
    out = np.full(len(keys), np.nan)
    np.divide(cum_pv, cum_v, out=out, where=cum_v != 0)
    return pd.Series(out, index=high.index)


def macd(close: pd.Series, fast: int = 12, slow: int = 26, signal: int = 9) -> pd.DataFrame:
    """MACD (Gerald Appel): ``macd = EMA(fast) - EMA(slow)``, ``signal = EMA(macd, signal)``.

    Returns columns ``macd``, ``signal``, ``histogram`` (= macd - signal). EMAs as in
    :func:`ema` (matches ``ta.trend.MACD``). Warm-up: ``slow - 1`` NaN for ``macd``,
    ``slow + signal - 2`` for ``signal`` and ``histogram``.

    Raises:
        InvalidInputError: a window < 1 or ``fast >= slow``.
    """
    if fast >= slow:
        raise InvalidInputError(f"fast={fast}, slow={slow}; expected fast < slow")
    line = ema(close, fast) - ema(close, slow)
    sig = ema(line, signal)
    return pd.DataFrame({"macd": line, "signal": sig, "histogram": line - sig})


def bollinger_bands(close: pd.Series, window: int = 20, num_std: float = 2.0) -> pd.DataFrame:
    """Bollinger Bands: SMA ± ``num_std`` population standard deviations (ddof=0).

    Source: John Bollinger, *Bollinger on Bollinger Bands* (2001), which uses the
    population deviation; matches ``ta.volatility.BollingerBands``. Returns columns
    ``middle``, ``upper``, ``lower``. Warm-up: ``window - 1`` NaN.

    Raises:
        InvalidInputError: ``window`` < 1.
    """
    middle = sma(close, window)
    std = close.rolling(window, min_periods=window).std(ddof=0)
    return pd.DataFrame(
        {"middle": middle, "upper": middle + num_std * std, "lower": middle - num_std * std}
    )


def mean_volume(volume: pd.Series, lookback: int = 20) -> pd.Series:
    """Mean volume of the **previous** ``lookback`` bars (the current bar excluded), shares.

    This is the ORB volume filter's baseline. Warm-up: ``lookback`` NaN.

    Raises:
        InvalidInputError: ``lookback`` < 1.
    """
    _require_window("lookback", lookback)
    return volume.shift(1).rolling(lookback, min_periods=lookback).mean()


def relative_volume(volume: pd.Series, lookback: int = 20) -> pd.Series:
    """Volume divided by :func:`mean_volume` (dimensionless; NaN when the mean is 0).

    Warm-up: ``lookback`` NaN.
    """
    base = mean_volume(volume, lookback)
    return volume / base.where(base != 0)
