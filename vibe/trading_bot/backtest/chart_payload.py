"""The data the HTML report's charts draw, as compact JSON (packed integer columns).

A year of 1-minute bars is ~98,000 bars and as many equity points; a list of dicts
would be ~20 MB of JSON and slow to write. Here every series is a *packed column*
(:func:`packed`): the differences between consecutive values (the first from 0), as
little-endian 16-bit integers (the rare wider ones, such as overnight gaps, listed
apart), 32-bit integers or 64-bit floats, base64-encoded. Writing one costs about a
millisecond and the year's payload is about 3 MB; the page decodes it with ``unpack``
in ``web/static/charts/series_codec.js``. Nothing is thinned or dropped here: every bar
and every equity point is in the payload; the browser chooses how coarse to *draw* by
zoom level (``price_chart.js``).

Layout of :func:`chart_payload` (times are UTC epoch seconds):

* ``capital``: initial capital, USD. ``bar_seconds``: bar length, seconds.
  ``orb_minutes``: opening-range length, minutes (``null`` without price bars).
* ``equity``: ``t`` (bar close times), ``v`` (equity in cents; NaN: no value at that
  point, the next difference continues from the last value), ``benchmark`` (the same
  for the buy-and-hold value; ``null`` without one); each a packed column.
* ``sessions``: ``open`` and ``close`` of every traded session (plain lists).
* ``symbols``: symbol -> ``scale`` (prices are integers of ``price * scale``) and packed
  columns ``t`` (bar starts), ``o``, ``h``, ``l``, ``c`` (``price * scale``), ``v``
  (volume, shares), plus ``range_high``, ``range_low`` (each session's opening range,
  ``price * scale``; ``null`` without one, plain lists). A symbol whose bars were
  unavailable is absent.
* ``trades``: one list per trade, in the report's order: ``[symbol, side, quantity,
  entry_time, entry_price, exit_time, exit_price, pnl_usd, exit_reason]``; the exit
  fields are ``null`` for a trade still open.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from vibe.common.errors import InvalidInputError
from vibe.common.models import Trade
from vibe.trading_bot.backtest.json_values import finite_or_none
from vibe.trading_bot.backtest.price_history import (
    PriceHistory,
    bar_start_seconds,
    opening_ranges,
)
from vibe.trading_bot.backtest.report import BacktestResult
from vibe.trading_bot.data.bar_table import BarTable

#: the finest price step a report keeps, decimals (as the JSON report's prices)
MAX_PRICE_DECIMALS = 6
#: how many prices :func:`price_scale` tries a scale on before it scales all of them
SCALE_SAMPLE = 1_000
#: an int16 column may list up to one difference in this many as a wide exception
WIDE_SHARE = 64
_INT16, _INT32 = np.iinfo(np.int16), np.iinfo(np.int32)


def packed(values: np.ndarray) -> dict[str, Any]:
    """A packed column (see the module docstring) of ``values`` (shape (n,), int or float).

    Returns:
        ``{"dtype": "i2" | "i4" | "f8", "data": base64 text}``: the differences
        ``values[i] - values[i - 1]`` (``values[-1]`` taken as 0) as int16 when at most
        1 in :data:`WIDE_SHARE` of them falls outside int16 (those are 0 in ``data`` and
        listed exactly in ``"wide": [[index, difference], ...]``: overnight gaps, the
        first value), else int32 when they fit, else float64. NaN differences stay NaN.
    """
    deltas = np.diff(np.asarray(values, dtype=np.float64), prepend=0.0)
    if not (np.all(np.isfinite(deltas)) and np.all(deltas == np.round(deltas))):
        return _column(deltas)
    small = (deltas >= _INT16.min) & (deltas <= _INT16.max)
    wide = np.flatnonzero(~small)
    if wide.size * WIDE_SHARE <= deltas.size:
        column = _column(np.where(small, deltas, 0.0).astype(np.int16))
        if wide.size:
            exact = deltas[wide].tolist()
            column["wide"] = [[i, round(d)] for i, d in zip(wide.tolist(), exact, strict=True)]
        return column
    if deltas.size == 0 or _INT32.min <= deltas.min() <= deltas.max() <= _INT32.max:
        return _column(deltas.astype(np.int32))
    return _column(deltas)


def _column(deltas: np.ndarray) -> dict[str, Any]:
    little = deltas.astype(deltas.dtype.newbyteorder("<"), copy=False)
    code = f"{little.dtype.kind}{little.dtype.itemsize}"
    return {"dtype": code, "data": base64.b64encode(little.tobytes()).decode("ascii")}


def cents_column(usd: np.ndarray) -> dict[str, Any]:
    """USD amounts (float64, shape (n,)) as a packed column of cents.

    A NaN or infinite amount becomes a NaN difference; the difference after it is taken
    from the last finite amount, so a reader that skips NaN keeps an exact running sum.
    """
    finite = np.isfinite(usd)
    cents = np.round(usd * 100.0)
    if finite.all():
        return packed(cents)
    last = np.maximum.accumulate(np.where(finite, np.arange(finite.size), -1))
    filled = np.where(last >= 0, cents[np.maximum(last, 0)], 0.0)  # 0 before the first
    deltas = np.diff(filled, prepend=0.0)
    deltas[~finite] = np.nan
    return _column(deltas)


def price_scale(prices: np.ndarray) -> int:
    """The smallest ``10**d`` (2 <= d <= 6) at which every price is a whole number.

    Prices finer than 6 decimals are rounded to 6 (as the JSON report rounds them).
    ``prices``: any shape, float64 USD. Each scale is first tried on the first
    :data:`SCALE_SAMPLE` prices (a year of 1-minute bars has ~400,000): when one of
    those is not whole, the rest need not be scaled.
    """
    flat = np.ravel(prices, order="K")  # no copy
    for decimals in range(2, MAX_PRICE_DECIMALS):
        factor = 10.0**decimals
        if _all_whole(flat[:SCALE_SAMPLE], factor) and _all_whole(flat, factor):
            return int(10**decimals)
    return int(10**MAX_PRICE_DECIMALS)


def _all_whole(prices: np.ndarray, factor: float) -> bool:
    """Every ``price * factor`` within 1e-6 of a whole number."""
    scaled = prices * factor
    error = np.subtract(scaled, np.round(scaled), out=scaled)
    return bool(np.all(np.abs(error, out=error) < 1e-6))


def _scaled_or_none(values: np.ndarray, scale: int) -> list[int | None]:
    return [None if np.isnan(v) else round(v * scale) for v in values.tolist()]


def symbol_bars(history: PriceHistory, symbol: str, bars: BarTable) -> dict[str, Any]:
    """One symbol's ``symbols`` entry (see the module docstring).

    Raises:
        InvalidInputError: a price or volume is missing or not finite (names the symbol).
    """
    prices = np.column_stack((bars.opens, bars.highs, bars.lows, bars.closes)).astype(float)
    volume = bars.volumes.astype(float)
    if not (np.isfinite(prices).all() and np.isfinite(volume).all()):
        raise InvalidInputError(f"bars of {symbol}: a price or volume is not finite")
    scale = price_scale(prices)
    scaled = np.round(prices * scale)
    ranges = opening_ranges(history, bars)
    return {
        "scale": scale,
        "t": packed(bar_start_seconds(bars)),
        **{name: packed(scaled[:, i]) for i, name in enumerate(("o", "h", "l", "c"))},
        "v": packed(np.round(volume)),
        "range_high": _scaled_or_none(ranges.high, scale),
        "range_low": _scaled_or_none(ranges.low, scale),
    }


def _seconds(trade_time: datetime | None) -> int | None:
    return None if trade_time is None else int(trade_time.timestamp())


def trade_rows(trades: Sequence[Trade]) -> list[list[Any]]:
    """The ``trades`` lists (see the module docstring), prices to 6 decimals, P&L to cents."""
    return [
        [
            t.symbol,
            t.side.value,
            t.quantity,
            _seconds(t.entry_time),
            finite_or_none(t.entry_price, MAX_PRICE_DECIMALS),
            _seconds(t.exit_time),
            finite_or_none(t.exit_price, MAX_PRICE_DECIMALS),
            finite_or_none(t.pnl, 2),
            None if t.exit_reason is None else t.exit_reason.value,
        ]
        for t in trades
    ]


def _equity(result: BacktestResult) -> dict[str, Any]:
    columns = result.curve_columns
    bench = result.benchmark
    return {
        "t": packed(np.round(columns.seconds)),
        "v": cents_column(columns.equity),
        "benchmark": None if bench is None else cents_column(np.asarray(bench.equity)),
    }


def chart_payload(result: BacktestResult) -> dict[str, Any]:
    """Everything the report's charts draw (layout in the module docstring).

    Raises:
        InvalidInputError: a bar with a missing or non-finite price or volume.
    """
    history = result.prices
    symbols: dict[str, Any] = {}
    sessions: dict[str, list[int]] = {"open": [], "close": []}
    if history is not None:
        sessions = {
            "open": history.session_opens.tolist(),
            "close": history.session_closes.tolist(),
        }
        for symbol in result.config.symbols:
            bars = history.bars.get(symbol)
            if bars is not None and len(bars):
                symbols[symbol] = symbol_bars(history, symbol, bars)
    return {
        "capital": result.config.initial_capital,
        "bar_seconds": None if history is None else history.bar_seconds,
        "orb_minutes": None if history is None else history.orb_minutes,
        "equity": _equity(result),
        "sessions": sessions,
        "symbols": symbols,
        "trades": trade_rows(result.trades),
    }
