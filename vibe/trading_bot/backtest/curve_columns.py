"""The equity curve as columns (epoch seconds, ISO text, equity), built in one pass.

A 1-minute year is ~98,500 ``(datetime, float)`` points. The JSON report needs each
time as ISO-8601 text, the charts and the analysis sections need it as a number; each
Python-level walk over the points costs ~20 ms, so :func:`curve_columns` walks them
once and the report's writers share the result (through
:attr:`~vibe.trading_bot.backtest.report.BacktestResult.curve_columns`).

The usual curve (tz-aware UTC bar closes on whole seconds) is formatted by orjson in C
(RFC 3339, the same text as ``datetime.isoformat`` for a zero UTC offset); the
fixed-width text is split into the ISO strings and parsed by numpy into epoch seconds.
Any other curve (another offset, fractions of a second) takes the exact per-point
path; both give the same columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter

import numpy as np
import orjson

from vibe.common.models import require_aware
from vibe.trading_bot.backtest.json_values import iso_utc, iso_utc_seconds
from vibe.trading_bot.data.bar_table import MICROS_PER_SECOND, epoch_microseconds

#: ``"YYYY-MM-DDTHH:MM:SS+00:00",``: one time of orjson's list, with its comma
_ROW = 28
#: the columns of a row that are not digits, and what they hold
_FIXED = np.array([0, 5, 8, 11, 14, 17, 20, 21, 22, 23, 24, 25, 26])
_TEMPLATE = np.frombuffer(b'"2000-01-01T00:00:00+00:00"', dtype=np.uint8)[_FIXED]


@dataclass(frozen=True, slots=True, eq=False)
class CurveColumns:
    """An equity curve's ``n`` points as columns, in the curve's order.

    Attributes:
        times: the ``n`` times as given (tz-aware ``datetime``).
        seconds: shape (n,) float64, each time as UTC epoch seconds (exactly
            ``datetime.timestamp()``).
        iso: ``n`` strings, each time as ISO-8601 UTC text with its ``+00:00`` offset
            (exactly :func:`~.json_values.iso_utc`), e.g. ``2024-03-26T13:31:00+00:00``.
        equity: shape (n,) float64, equity in USD (NaN and infinities kept).
        micros: shape (n,) int64, each time as UTC epoch microseconds (exact, as
            :func:`~vibe.trading_bot.data.bar_table.epoch_microseconds`): what the
            buy-and-hold benchmark compares bar ends with.
    """

    times: list[datetime]
    seconds: np.ndarray
    iso: list[str]
    equity: np.ndarray
    micros: np.ndarray


def curve_columns(curve: Sequence[tuple[datetime, float]]) -> CurveColumns:
    """The columns of ``curve`` (``(tz-aware time, equity USD)`` pairs).

    Raises:
        InvalidInputError: a naive time (named ``equity_curve time``).
    """
    times = list(map(itemgetter(0), curve))
    equity = np.fromiter(map(itemgetter(1), curve), dtype=float, count=len(curve))
    fast = _whole_utc_seconds(times)
    if fast is not None:
        whole_seconds, iso = fast
        micros = whole_seconds * MICROS_PER_SECOND
        return CurveColumns(times, whole_seconds.astype(np.float64), iso, equity, micros)
    if None in {when.tzinfo for when in times}:
        require_aware("equity_curve time", next(w for w in times if w.tzinfo is None))
    seconds = np.fromiter(map(datetime.timestamp, times), dtype=float, count=len(times))
    micros = np.fromiter(map(epoch_microseconds, times), dtype=np.int64, count=len(times))
    whole = np.round(seconds)
    if np.array_equal(whole, seconds):
        iso = iso_utc_seconds(whole.astype(np.int64))
    else:
        iso = [iso_utc("equity_curve time", w) for w in times]
    return CurveColumns(times, seconds, iso, equity, micros)


def _whole_utc_seconds(times: list[datetime]) -> tuple[np.ndarray, list[str]] | None:
    """Epoch seconds (int64) and ISO texts, when every time is on a whole second at offset 0.

    ``None`` otherwise: a naive time, another offset, fractions of a second, no time.
    """
    try:
        text = orjson.dumps(times)  # b'["2024-03-26T13:31:00+00:00","2024-...",...]'
    except orjson.JSONEncodeError:  # not a datetime (a subclass, say): the exact path
        return None
    count = len(times)
    if count == 0 or len(text) != count * _ROW + 1:
        return None
    rows = np.frombuffer(text, dtype=np.uint8, count=count * _ROW, offset=1).reshape(count, -1)
    if not (rows[:, _FIXED] == _TEMPLATE).all():
        return None
    naive = np.ascontiguousarray(rows[:, 1:20]).view("S19").ravel()
    seconds = naive.astype("datetime64[s]").astype(np.int64)
    return seconds, text[2:-2].decode("ascii").split('","')
