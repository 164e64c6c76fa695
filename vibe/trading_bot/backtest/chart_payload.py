"""The data the HTML report's charts draw, as compact JSON (columnar, delta-coded integers).

A year of 1-minute bars is ~98,000 bars and as many equity points; a list of dicts
would be ~20 MB of JSON. Here every series is a column of integers, each stored as
the difference from the one before (the first as it is), so most numbers are one to
four characters and the whole payload of such a year is a few MB. The page decodes
them with ``undelta`` in ``web/static/charts/series_codec.js``. Nothing is thinned
or dropped here: every bar and every equity point is in the payload; the browser
chooses how coarse to *draw* by zoom level (``price_chart.js``).

Layout of :func:`chart_payload` (times are UTC epoch seconds):

* ``capital``: initial capital, USD. ``bar_seconds``: bar length, seconds.
  ``orb_minutes``: opening-range length, minutes.
* ``equity``: ``t`` (delta-coded bar close times), ``v`` (delta-coded equity in
  cents; ``null``: no value at that point, the next delta continues from the last
  value), ``benchmark`` (the same for the buy-and-hold value; ``[]`` without one).
* ``sessions``: ``open`` and ``close`` of every traded session (plain lists).
* ``symbols``: symbol -> ``scale`` (prices are integers of ``price * scale``), ``t``
  (delta-coded bar starts), ``o`` (open minus the previous close, the first absolute),
  ``h``, ``l``, ``c`` (high, low, close minus the open), ``v`` (volume in shares, plain),
  ``range_high``, ``range_low`` (each session's opening range, ``price * scale``;
  ``null`` without one). A symbol whose bars were unavailable is absent.
* ``trades``: one list per trade, in the report's order: ``[symbol, side, quantity,
  entry_time, entry_price, exit_time, exit_price, pnl_usd, exit_reason]``; the exit
  fields are ``null`` for a trade still open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from vibe.common.errors import InvalidInputError
from vibe.common.models import Trade
from vibe.trading_bot.backtest.json_values import finite_or_none
from vibe.trading_bot.backtest.price_history import (
    PriceHistory,
    bar_start_seconds,
    opening_ranges,
)
from vibe.trading_bot.backtest.report import BacktestResult

#: the finest price step a report keeps, decimals (as the JSON report's prices)
MAX_PRICE_DECIMALS = 6
_PRICE_COLUMNS = ("open", "high", "low", "close")


def delta_coded(values: np.ndarray) -> list[int]:
    """``[v0, v1 - v0, v2 - v1, ...]`` of an int64 array (shape (n,)); ``[]`` when empty."""
    if values.size == 0:
        return []
    out = np.empty_like(values)
    out[0] = values[0]
    np.subtract(values[1:], values[:-1], out=out[1:])
    coded: list[int] = out.tolist()
    return coded


def delta_coded_cents(usd: np.ndarray) -> list[int | None]:
    """USD amounts (float64, shape (n,)) as delta-coded cents; NaN/inf -> ``None``.

    The delta after a ``None`` is taken from the last finite value, so a reader that
    skips ``None`` keeps an exact running sum.
    """
    finite = np.isfinite(usd)
    cents = np.where(finite, np.round(usd * 100.0), np.nan)
    filled = pd.Series(cents).ffill().fillna(0.0).to_numpy(dtype=np.int64)
    coded: list[int | None] = list(delta_coded(filled))
    for i in np.flatnonzero(~finite).tolist():
        coded[i] = None
    return coded


def price_scale(prices: np.ndarray) -> int:
    """The smallest ``10**d`` (2 <= d <= 6) at which every price is a whole number.

    Prices finer than 6 decimals are rounded to 6 (as the JSON report rounds them).
    """
    for decimals in range(2, MAX_PRICE_DECIMALS):
        scaled = prices * 10.0**decimals
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6):
            return int(10**decimals)
    return int(10**MAX_PRICE_DECIMALS)


def _scaled_or_none(values: np.ndarray, scale: int) -> list[int | None]:
    return [None if np.isnan(v) else round(v * scale) for v in values.tolist()]


def symbol_bars(history: PriceHistory, symbol: str, frame: pd.DataFrame) -> dict[str, Any]:
    """One symbol's ``symbols`` entry (see the module docstring).

    Raises:
        InvalidInputError: a price or volume is missing or not finite (names the symbol).
    """
    prices = frame.loc[:, list(_PRICE_COLUMNS)].to_numpy(dtype=float)
    volume = frame["volume"].to_numpy(dtype=float)
    if not (np.isfinite(prices).all() and np.isfinite(volume).all()):
        raise InvalidInputError(f"bars of {symbol}: a price or volume is not finite")
    scale = price_scale(prices)
    o, h, low, c = np.round(prices * scale).astype(np.int64).T
    previous_close = np.concatenate(([0], c[:-1]))
    ranges = opening_ranges(history, frame)
    return {
        "scale": scale,
        "t": delta_coded(bar_start_seconds(frame)),
        "o": (o - previous_close).tolist(),
        "h": (h - o).tolist(),
        "l": (low - o).tolist(),
        "c": (c - o).tolist(),
        "v": np.round(volume).astype(np.int64).tolist(),
        "range_high": _scaled_or_none(ranges.high, scale),
        "range_low": _scaled_or_none(ranges.low, scale),
    }


def _seconds(trade_time: Any) -> int | None:
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
    curve = result.equity_curve
    times = np.fromiter((when.timestamp() for when, _ in curve), dtype=float, count=len(curve))
    values = np.fromiter((value for _, value in curve), dtype=float, count=len(curve))
    bench = result.benchmark
    return {
        "t": delta_coded(np.round(times).astype(np.int64)),
        "v": delta_coded_cents(values),
        "benchmark": [] if bench is None else delta_coded_cents(np.asarray(bench.equity)),
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
            frame = history.bars.get(symbol)
            if frame is not None and not frame.empty:
                symbols[symbol] = symbol_bars(history, symbol, frame)
    return {
        "capital": result.config.initial_capital,
        "bar_seconds": None if history is None else history.bar_seconds,
        "orb_minutes": None if history is None else history.orb_minutes,
        "equity": _equity(result),
        "sessions": sessions,
        "symbols": symbols,
        "trades": trade_rows(result.trades),
    }
