from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from vibe.common.errors import DataError, InvalidInputError, NoDataError
from vibe.trading_bot.data.providers.replay import ReplayProvider


def test_reads_real_1m_file_as_bar_frame(spy_1m):
    assert isinstance(spy_1m.index, pd.DatetimeIndex)
    assert str(spy_1m.index.tz) == "UTC"
    assert list(spy_1m.columns) == ["open", "high", "low", "close", "volume"]
    assert spy_1m["volume"].dtype == "int64"
    assert spy_1m["close"].dtype == "float64"
    assert spy_1m.index.is_monotonic_increasing and spy_1m.index.is_unique
    first = spy_1m.iloc[0]
    assert spy_1m.index[0] == pd.Timestamp("2024-03-26T13:30:00Z")
    assert (first["open"], first["close"], first["volume"]) == (521.23, 521.01, 342898)
    # the 2025-01-09 closure has no bars; the 2024-07-03 early close has 210
    days = spy_1m.index.tz_convert("America/New_York").date
    counts = pd.Series(1, index=days).groupby(level=0).sum()
    assert pd.Timestamp("2025-01-09").date() not in counts.index
    assert counts[pd.Timestamp("2024-07-03").date()] == 210


@pytest.mark.asyncio
async def test_history_slice_and_early_close_5m(shared_data, scheduler):
    provider = ReplayProvider(shared_data / "bars_5m" / "yfinance_2025-06_2025-08", scheduler)
    start = datetime(2025, 7, 3, 13, 30, tzinfo=UTC)
    frame = await provider.get_history("SPY", "5m", start, datetime(2025, 7, 4, tzinfo=UTC))
    assert len(frame) == 40  # SPY misses 12:50 and 12:55 that day (SOURCES.md)
    assert frame.index[-1] < datetime(2025, 7, 3, 17, 0, tzinfo=UTC)
    aapl = await provider.get_history("AAPL", "5m", start, datetime(2025, 7, 4, tzinfo=UTC))
    assert len(aapl) == 42
    assert aapl.index[-1] == pd.Timestamp("2025-07-03T16:55:00Z")


@pytest.mark.asyncio
async def test_provider_gap_days_are_served_as_they_are(shared_data, scheduler):
    provider = ReplayProvider(shared_data / "bars_5m" / "yfinance_2025-12_2026-03", scheduler)
    day = await provider.get_history(
        "AAPL", "5m", datetime(2026, 1, 20, 14, tzinfo=UTC), datetime(2026, 1, 21, tzinfo=UTC)
    )
    assert len(day) == 77  # one bar missing at the source (bars_day_index.csv)
    xmas = await provider.get_history(
        "AAPL", "5m", datetime(2025, 12, 24, tzinfo=UTC), datetime(2025, 12, 25, tzinfo=UTC)
    )
    assert len(xmas) == 42


@pytest.mark.asyncio
async def test_stream_in_timestamp_order_across_symbols(shared_data, scheduler):
    provider = ReplayProvider(
        shared_data / "bars_5m" / "yfinance_2025-06_2025-08",
        scheduler,
        timeframe="5m",
        start=datetime(2025, 7, 3, tzinfo=UTC),
        end=datetime(2025, 7, 8, tzinfo=UTC),
    )
    bars = [bar async for bar in provider.stream_bars(["SPY", "AAPL", "MSFT"])]
    keys = [(b.timestamp, b.symbol) for b in bars]
    assert keys == sorted(keys)
    assert {b.symbol for b in bars} == {"SPY", "AAPL", "MSFT"}
    assert len([b for b in bars if b.symbol == "AAPL"]) == 42 + 78  # Jul 3 (early) + Jul 7
    assert all(b.interval_seconds == 300 for b in bars)


@pytest.mark.asyncio
async def test_resamples_when_only_finer_file_exists(spy_dir, scheduler, spy_1m):
    provider = ReplayProvider(spy_dir, scheduler)
    start, end = datetime(2024, 7, 3, tzinfo=UTC), datetime(2024, 7, 4, tzinfo=UTC)
    five = await provider.get_history("SPY", "5m", start, end)
    assert len(five) == 42
    assert five["volume"].sum() == spy_1m.loc[start:end]["volume"].sum()


@pytest.mark.asyncio
async def test_errors_name_the_problem(tmp_path, scheduler):
    with pytest.raises(DataError, match="does not exist"):
        ReplayProvider(tmp_path / "nope")
    provider = ReplayProvider(tmp_path)
    start, end = datetime(2025, 1, 2, tzinfo=UTC), datetime(2025, 1, 3, tzinfo=UTC)
    with pytest.raises(NoDataError, match=r"SPY_1m\.csv"):
        await provider.get_history("SPY", "1m", start, end)
    with pytest.raises(InvalidInputError):
        await provider.get_history("SPY", "2m", start, end)
    with pytest.raises(InvalidInputError):
        await provider.get_history("SPY", "1m", end, start)
    (tmp_path / "BAD_1m.csv").write_text("timestamp,open\nnot-a-time,1\n")
    with pytest.raises(DataError, match=r"BAD_1m\.csv"):
        await provider.get_history("BAD", "1m", start, end)


@pytest.mark.asyncio
async def test_a_file_cut_off_mid_line_keeps_its_complete_rows(tmp_path, scheduler, shared_data):
    folder = shared_data / "bars_5m" / "yfinance_2025-06_2025-08"
    original = (folder / "SPY_5m.csv").read_bytes()
    (tmp_path / "SPY_5m.csv").write_bytes(original[:-40])  # an interrupted download
    whole = ReplayProvider(folder, scheduler).load("SPY", "5m")
    cut = ReplayProvider(tmp_path, scheduler).load("SPY", "5m")
    assert len(cut) == len(whole) - 1  # only the broken last row is lost
    assert cut.equals(whole.iloc[:-1])
