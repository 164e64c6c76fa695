"""The historical feed's fast paths give the same answers as the plain ones."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import date, timedelta

import pandas as pd
import pytest

from vibe.trading_bot.core import bar_columns
from vibe.trading_bot.core.bar_columns import BarColumns, share_columns
from vibe.trading_bot.core.historical_feed import sessions_before, sessions_between
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.data.bar_table import BarTable
from vibe.trading_bot.data.frames import frame_to_bars
from vibe.trading_bot.data.providers.replay import ReplayProvider
from vibe.trading_bot.utils.collector import paused_gc


@pytest.fixture(scope="module")
def scheduler() -> MarketScheduler:
    return MarketScheduler("XNYS", 2023, 2027)


@pytest.mark.parametrize("count", [0, 1, 4, 9])
def test_sessions_before_are_the_previous_sessions(scheduler: MarketScheduler, count: int) -> None:
    days = sessions_between(scheduler, date(2023, 1, 1), date(2026, 1, 31))
    for i, day in enumerate(days):
        expected = days[max(0, i - count) : i] if count else []
        if i >= count:  # the window inside the listed range
            assert sessions_before(scheduler, day.day, count) == expected, day
    # a day that is not a session (a weekend) has the same window as the next session
    assert sessions_before(scheduler, date(2025, 1, 11), count) == sessions_before(
        scheduler, date(2025, 1, 13), count
    )


def test_sessions_before_skip_the_2025_01_09_closure(scheduler: MarketScheduler) -> None:
    window = [d.day for d in sessions_before(scheduler, date(2025, 1, 13), 4)]
    assert window == [date(2025, 1, 6), date(2025, 1, 7), date(2025, 1, 8), date(2025, 1, 10)]


def test_sessions_before_reach_back_past_the_computed_years() -> None:
    scheduler = MarketScheduler("XNYS", 2025, 2025)
    window = [d.day for d in sessions_before(scheduler, date(2025, 1, 3), 3)]
    assert window == [date(2024, 12, 30), date(2024, 12, 31), date(2025, 1, 2)]


@pytest.mark.parametrize(("name", "seconds"), [("SPY_5m", 300), ("AAPL_5m", 300)])
def test_bar_columns_equal_frame_to_bars(shared_data, scheduler, name, seconds) -> None:
    folder = shared_data / "bars_5m" / "yfinance_2025-06_2025-08"
    frame = ReplayProvider(folder, scheduler, timeframe="5m").load(name.split("_")[0], "5m")
    columns = BarColumns.of("SPY", BarTable.from_frame(frame), seconds)
    bars = columns.bars()
    assert bars == list(frame_to_bars("SPY", frame, seconds))
    assert [columns.start(i) for i in range(len(columns))] == [bar.timestamp for bar in bars]
    assert all(type(bar.volume) is int for bar in bars)
    as_float = frame.astype({"volume": "float64"})
    assert BarColumns.of("SPY", BarTable.from_frame(as_float), seconds).bars() == bars


@pytest.fixture
def sharing() -> Iterator[None]:
    """Columns shared as in an ``optimize`` worker (two bar sets kept), off afterwards."""
    share_columns(limit=2)
    yield
    bar_columns._KEPT.limit = bar_columns._KEPT.bars = 0
    bar_columns._KEPT.columns.clear()


def test_shared_columns_serve_equal_bars_again_and_never_stale_ones(
    shared_data, scheduler, sharing
) -> None:
    folder = shared_data / "bars_5m" / "yfinance_2025-06_2025-08"
    frame = ReplayProvider(folder, scheduler, timeframe="5m").load("SPY", "5m")
    first = BarColumns.of("SPY", BarTable.from_frame(frame), 300)
    assert (
        BarColumns.of("SPY", BarTable.from_frame(frame.copy()), 300) is first
    )  # equal bars, another frame
    session = first.bars(0, 78)
    assert session == list(frame_to_bars("SPY", frame.iloc[:78], 300))
    again = first.bars(0, 78)
    assert again == session and again is not session
    assert all(a is b for a, b in zip(again, session, strict=True))  # built once
    again.clear()  # a caller's list is its own
    assert first.bars(0, 78) == session
    assert bar_columns._KEPT.bars == 78
    assert BarColumns.of("QQQ", BarTable.from_frame(frame), 300) is not first  # another symbol
    changed, closes = frame.copy(), frame["close"].to_numpy(copy=True)
    closes[40] += 0.01
    changed["close"] = closes
    other = BarColumns.of("SPY", BarTable.from_frame(changed), 300)  # same range, one close differs
    assert other is not first
    assert bar_columns._KEPT.bars == 0  # first's bars went with it
    assert other.bars(0, 78)[40].close == pytest.approx(session[40].close + 0.01)
    assert (
        BarColumns.of("SPY", BarTable.from_frame(frame), 300) is not first
    )  # replaced, not served stale
    BarColumns.of("IWM", BarTable.from_frame(frame), 300)
    BarColumns.of("DIA", BarTable.from_frame(frame), 300)  # two sets kept: the SPY ones are dropped
    assert set(bar_columns._KEPT.columns) == {
        (name, 300, len(frame), int(first.starts[0]), int(first.starts[-1]))
        for name in ("IWM", "DIA")
    }
    with pytest.raises(ValueError, match="limit=0"):
        share_columns(0)
    with pytest.raises(ValueError, match="max_bars=-1"):
        share_columns(2, max_bars=-1)


def test_shared_columns_keep_no_more_bars_than_allowed(shared_data, scheduler, sharing) -> None:
    folder = shared_data / "bars_5m" / "yfinance_2025-06_2025-08"
    frame = ReplayProvider(folder, scheduler, timeframe="5m").load("SPY", "5m")
    share_columns(limit=2, max_bars=100)
    columns = BarColumns.of("SPY", BarTable.from_frame(frame), 300)
    day1, day2 = columns.bars(0, 78), columns.bars(78, 156)
    assert bar_columns._KEPT.bars == 78  # the second session would exceed 100 bars
    assert all(a is b for a, b in zip(columns.bars(0, 78), day1, strict=True))  # kept
    rebuilt = columns.bars(78, 156)
    assert rebuilt == day2 and rebuilt[0] is not day2[0]  # built again, not kept
    BarColumns.of("QQQ", BarTable.from_frame(frame), 300)
    BarColumns.of(
        "IWM", BarTable.from_frame(frame), 300
    )  # SPY's columns dropped: their bars no longer count
    assert bar_columns._KEPT.bars == 0


def test_bar_columns_of_nothing() -> None:
    assert BarColumns.of("SPY", None, 60).bars() == []


def test_paused_gc_restores_the_previous_state() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()


@pytest.mark.parametrize("offset", [pd.Timedelta(0), pd.Timedelta(microseconds=7)])
def test_bar_columns_rebuild_exact_start_times(offset: pd.Timedelta) -> None:
    index = (
        pd.DatetimeIndex(
            ["1965-03-01 14:30:00", "2025-01-08 14:31:00", "2025-07-03 16:59:00"], tz="UTC"
        ).as_unit("ns")
        + offset
    )
    frame = pd.DataFrame(
        {"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": [10.9, 20.0, 30.0]},
        index=index,
    )
    columns = BarColumns.of("SPY", BarTable.from_frame(frame), 60)
    starts = [bar.timestamp for bar in columns.bars()]
    assert starts == list(index.to_pydatetime())
    assert all(dt.utcoffset() == timedelta(0) for dt in starts)
    assert starts[2].microsecond == offset.microseconds
    assert [bar.volume for bar in columns.bars()] == [10, 20, 30]  # as int(): toward zero
    assert columns.bars(1, 2) == columns.bars()[1:2]
    assert columns.index(starts[1]) == 1 and columns.index(starts[2] + timedelta(1)) == 3
    assert columns.start(2) == starts[2] and len(BarColumns.of("SPY", None, 60)) == 0
