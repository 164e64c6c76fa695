"""The equity curve's columns and the daily changes read from them, on real 1-minute bars.

The curve is SPY's real year of 1-minute bars (``../shared/data/bars_1m/
alpaca_spy_2024-03_2025-04``): bar closes in UTC, equity = 100 shares at the close.
Each column is checked against the per-point definition (``datetime.timestamp``,
``iso_utc``), on the fast path (UTC, whole seconds) and on the curves that leave it
(New York offsets, a fraction of a second, ``pandas.Timestamp`` points); the daily
changes against plain Python with ``zoneinfo`` (two DST changes in the year).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from vibe.common.errors import InvalidInputError
from vibe.trading_bot.backtest.curve_columns import curve_columns
from vibe.trading_bot.backtest.equity_stats import day_changes
from vibe.trading_bot.backtest.json_values import iso_utc
from vibe.trading_bot.core.bar_columns import epoch_microseconds

NY = ZoneInfo("America/New_York")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CAPITAL = 100_000.0


@pytest.fixture(scope="module")
def spy_curve(shared_data: Path) -> list[tuple[datetime, float]]:
    path = shared_data / "bars_1m" / "alpaca_spy_2024-03_2025-04" / "SPY_1m.csv"
    frame = pd.read_csv(path)
    starts = pd.to_datetime(frame["timestamp"], utc=True) + pd.Timedelta(minutes=1)
    closes = [when.to_pydatetime() for when in starts]
    return list(zip(closes, (frame["close"] * 100.0).tolist(), strict=True))


def check_columns(curve: list[tuple[datetime, float]]) -> None:
    columns = curve_columns(curve)
    assert columns.times == [when for when, _ in curve]
    assert columns.seconds.dtype == np.float64
    assert columns.seconds.tolist() == [datetime.timestamp(when) for when, _ in curve]
    assert columns.iso == [iso_utc("t", when) for when, _ in curve]
    assert columns.micros.dtype == np.int64
    assert columns.micros.tolist() == [epoch_microseconds(when) for when, _ in curve]
    expected = np.array([value for _, value in curve], dtype=float)
    np.testing.assert_array_equal(columns.equity, expected)


def test_columns_equal_the_per_point_definitions(spy_curve):
    assert len(spy_curve) > 90_000
    assert spy_curve[0][0].tzinfo is UTC
    check_columns(spy_curve)
    assert curve_columns(spy_curve).iso[0] == "2024-03-26T13:31:00+00:00"


def test_curves_off_the_fast_path_give_the_same_columns(spy_curve):
    head = spy_curve[:2_000]
    in_new_york = [(when.astimezone(NY), value) for when, value in head]
    check_columns(in_new_york)
    mixed = [*head[:-1], (head[-1][0].astimezone(NY), math.nan)]
    check_columns(mixed)
    fraction = [*head[:-1], (head[-1][0] + timedelta(microseconds=250), math.inf)]
    check_columns(fraction)
    check_columns([(pd.Timestamp(when), value) for when, value in head[:50]])
    check_columns([])
    fast, slow = curve_columns(head), curve_columns(in_new_york)
    assert fast.iso == slow.iso and fast.seconds.tolist() == slow.seconds.tolist()
    assert fast.micros.tolist() == slow.micros.tolist()


def test_a_naive_time_is_refused_by_name(spy_curve):
    naive = [*spy_curve[:3], (datetime(2024, 3, 26, 13, 35), 1.0)]  # noqa: DTZ001
    with pytest.raises(InvalidInputError, match=r"equity_curve time.*naive"):
        curve_columns(naive)


def plain_day_changes(
    curve: list[tuple[datetime, float]],
) -> list[tuple[date, float, float]]:
    """Each New York day's last equity that is not NaN (NaN if none), against the day before."""
    closing: dict[date, float] = defaultdict(lambda: math.nan)
    for when, value in curve:
        day = when.astimezone(NY).date()
        if not math.isnan(value) or day not in closing:
            closing[day] = value
    out, previous = [], CAPITAL
    for day in sorted(closing):
        value = closing[day]
        out.append((day, value - previous, (value - previous) / previous * 100.0))
        previous = CAPITAL if math.isnan(value) else value
    return out


def changes_of(curve: list[tuple[datetime, float]]) -> list[tuple[date, float, float]]:
    columns = curve_columns(curve)
    changes = day_changes(columns.micros, columns.equity, CAPITAL)
    return [(change.day, change.pnl, change.return_pct) for change in changes]


def test_day_changes_match_plain_python(spy_curve):
    expected = plain_day_changes(spy_curve)
    assert len(expected) > 250  # every session of the year, across both DST changes
    assert changes_of(spy_curve) == expected
    assert day_changes(np.array([]), np.array([]), CAPITAL) == []


def test_day_changes_with_missing_equity(spy_curve):
    curve = list(spy_curve[:5_000])
    curve[10] = (curve[10][0], math.nan)  # a NaN inside a day: the day's last value stays
    curve[-1] = (curve[-1][0], math.nan)  # the last point of the last day
    first_day = curve[0][0].astimezone(NY).date()
    curve = [  # the first day has no value at all
        (when, math.nan if when.astimezone(NY).date() == first_day else value)
        for when, value in curve
    ]
    got, expected = changes_of(curve), plain_day_changes(curve)
    assert [row[0] for row in got] == [row[0] for row in expected]
    assert math.isnan(got[0][1]) and math.isnan(expected[0][1])
    assert got[1:] == expected[1:]


def test_new_york_dates_hold_across_every_offset_change_of_a_decade():
    """Every whole UTC hour of 2018-2027 and the microsecond before it, as zoneinfo has it."""
    from vibe.trading_bot.backtest.equity_stats import new_york_day_numbers

    hours = pd.date_range("2018-01-01", "2028-01-01", freq="h", tz="UTC").asi8 // 1000
    micros = np.sort(np.concatenate((hours, hours - 1)))
    expected = [
        ((EPOCH + timedelta(microseconds=us)).astimezone(NY).date() - date(1970, 1, 1)).days
        for us in micros.tolist()
    ]
    assert new_york_day_numbers(micros).tolist() == expected
