"""The pandas-free bar CSV reader and bar tables: the same bars as the pandas path, or no answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vibe.trading_bot.data.bar_csv import read_bar_csv
from vibe.trading_bot.data.bar_csv_bytes import read_bar_bytes
from vibe.trading_bot.data.bar_table import BarTable
from vibe.trading_bot.data.frames import normalize_bars
from vibe.trading_bot.data.providers.replay import ReplayProvider
from vibe.trading_bot.data.validation import BarValidator

HEADER = "timestamp,open,high,low,close,volume\n"
GOOD = [
    "2025-06-05T09:30:00-04:00,521.23,521.26,520.92,521.01,342898\n",
    "2025-06-05T09:31:00-04:00,521.03,521.1,520.88,521.07,186082\n",
    "2025-06-05T09:32:00-04:00,.5,0.75,0.25,0.5,0\n",
]
COLUMNS = ("starts", "opens", "highs", "lows", "closes", "volumes")


def bar_files(shared_data: Path) -> list[Path]:
    """Every recorded bar CSV (the files with the bar header)."""
    files = sorted(shared_data.glob("bars_*/**/*.csv"))
    return [path for path in files if path.read_bytes().startswith(HEADER.encode())]


def pandas_table(path: Path) -> BarTable:
    """The bars as the pandas reader gives them (read, normalized, as a table)."""
    raw, malformed = read_bar_csv(path)
    assert malformed.count == 0
    return BarTable.from_frame(normalize_bars(raw, str(path)))


def assert_same(table: BarTable, expected: BarTable) -> None:
    for name in COLUMNS:
        mine, theirs = getattr(table, name), getattr(expected, name)
        assert mine.dtype == theirs.dtype, name
        assert np.array_equal(mine, theirs), name  # exact: the same doubles


def test_every_recorded_bar_file_gives_exactly_the_pandas_bars(shared_data: Path) -> None:
    files = bar_files(shared_data)
    assert len(files) >= 30
    for path in files:
        table = read_bar_bytes(path)
        assert table is not None, path  # every recorded file is in the one form
        assert_same(table, pandas_table(path))


def test_a_table_and_its_frame_convert_both_ways_exactly(shared_data: Path) -> None:
    path = shared_data / "bars_1m" / "alpaca_spy_2024-03_2025-04" / "SPY_1m.csv"
    table = read_bar_bytes(path)
    assert table is not None and len(table) > 90_000
    raw, _ = read_bar_csv(path)
    frame = normalize_bars(raw, str(path))
    pd.testing.assert_frame_equal(table.to_frame(), frame)
    assert_same(BarTable.from_frame(table.to_frame()), table)


@pytest.mark.parametrize(
    "rows",
    [
        [GOOD[0].replace("\n", "\r\n"), GOOD[1]],  # CRLF
        [GOOD[0], "\n", GOOD[1]],  # a blank line
        [GOOD[0], GOOD[1][:30] + "\n"],  # a row cut short
        [GOOD[0], GOOD[1].replace("186082", "186082,7")],  # a field too many
        [GOOD[0], GOOD[1].replace("521.1,", ",")],  # an empty price
        [GOOD[0], GOOD[1].replace("521.1", "5.2e2")],  # an exponent
        [GOOD[0], GOOD[1].replace("521.1", "-521.1")],  # a sign
        [GOOD[0], GOOD[1].replace("521.1", "521.1.0")],  # two dots
        [GOOD[0], GOOD[1].replace("521.1", "nan")],
        [GOOD[0], GOOD[1].replace("521.1", " 521.1")],  # a space
        [GOOD[0], GOOD[1].replace("521.1", "1234567890123456")],  # 16 digits
        [GOOD[0], GOOD[1].replace("-04:00", "Z")],  # another time form
        [GOOD[0], GOOD[1].replace("2025-06-05", "2025-06-31")],  # an impossible date
        [GOOD[1], GOOD[0]],  # out of order
        [GOOD[0], GOOD[0]],  # a duplicate time
        [],  # no rows
    ],
)
def test_anything_but_the_one_form_is_left_to_the_pandas_reader(
    tmp_path: Path, rows: list[str]
) -> None:
    path = tmp_path / "SPY_1m.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    assert read_bar_bytes(path) is None


def test_other_headers_and_unreadable_files_are_left_to_the_pandas_reader(tmp_path: Path) -> None:
    path = tmp_path / "SPY_1m.csv"
    path.write_text("timestamp,close,open,high,low,volume\n" + GOOD[0], encoding="utf-8")
    assert read_bar_bytes(path) is None  # the pandas reader maps columns by name
    assert read_bar_bytes(tmp_path / "missing.csv") is None


def test_a_file_without_a_final_newline_and_plain_numbers_is_read(tmp_path: Path) -> None:
    path = tmp_path / "SPY_1m.csv"
    path.write_text(HEADER + "".join(GOOD).rstrip("\n"), encoding="utf-8")
    table = read_bar_bytes(path)
    assert table is not None
    assert table.opens.tolist() == [521.23, 521.03, 0.5]
    assert table.highs.tolist() == [521.26, 521.1, 0.75]
    assert table.volumes.tolist() == [342898, 186082, 0]
    assert table.starts[0] == 1_749_130_200_000_000  # 2025-06-05 13:30 UTC
    assert_same(table, pandas_table(path))


def test_the_replay_folder_serves_the_same_bars_as_a_table_and_as_a_frame(
    shared_data: Path, tmp_path: Path
) -> None:
    """Through the provider: its CSV read without pandas, and a file pandas must fix."""
    folder = shared_data / "bars_5m" / "yfinance_2025-06_2025-08"
    start = datetime(2025, 6, 5, 13, 30, tzinfo=UTC)
    end = datetime(2025, 6, 10, 20, 0, tzinfo=UTC)

    async def both(directory: Path) -> tuple[BarTable, pd.DataFrame]:
        provider = ReplayProvider(directory, timeframe="5m")
        table = await provider.get_history_table("SPY", "5m", start, end)
        return table, await provider.get_history("SPY", "5m", start, end)

    table, frame = asyncio.run(both(folder))
    assert len(table) == 4 * 78
    assert_same(table, BarTable.from_frame(frame))
    unsorted = tmp_path / "SPY_5m.csv"  # rows reversed: only the pandas reader sorts them
    lines = (folder / "SPY_5m.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    unsorted.write_text(lines[0] + "".join(reversed(lines[1:])), encoding="utf-8")
    reversed_table, _ = asyncio.run(both(tmp_path))
    assert_same(reversed_table, table)


def test_a_table_is_cleaned_as_its_frame_is() -> None:
    starts = pd.DatetimeIndex(
        ["2025-06-05 13:30", "2025-06-05 13:31", "2025-06-05 13:31", "2025-06-05 13:32",
         "2025-06-05 13:33", "2025-06-05 13:29"], tz="UTC", name="timestamp",
    ).as_unit("ns")  # fmt: skip
    frame = pd.DataFrame(
        {
            "open": [10.0, 10.0, 10.0, 10.0, -1.0, 10.0],
            "high": [10.5, 10.5, 10.5, 9.0, 10.5, 10.5],
            "low": [9.5, 9.5, 9.5, 9.5, 9.5, 9.5],
            "close": [10.0, 10.0, 10.0, 10.0, 10.0, 10.0],
            "volume": np.array([5, 6, 7, 8, 9, 10], dtype=np.int64),
        },
        index=starts,
    )
    by_frame, by_table = BarValidator(), BarValidator()
    cleaned = by_frame.clean_frame("SPY", frame)
    table = by_table.clean_table("SPY", BarTable.from_frame(frame))
    pd.testing.assert_frame_equal(table.to_frame(), cleaned)
    assert by_table.rejections == by_frame.rejections
    assert by_table.rejections == {"duplicate": 1, "high_below_body": 1, "bad_price": 1}


def test_windows_and_ranges_keep_the_bars_that_start_inside() -> None:
    minute = 60_000_000
    first = 1_749_130_200_000_000  # 2025-06-05 13:30 UTC
    starts = first + minute * np.arange(10, dtype=np.int64)
    prices = np.arange(10, dtype=np.float64) + 1.0
    table = BarTable(starts, prices, prices, prices, prices, np.arange(10, dtype=np.int64))

    def at(minutes: int) -> datetime:
        return datetime.fromtimestamp((first + minutes * minute) / 1e6, UTC)

    assert table.between(at(2), at(5)).opens.tolist() == [3.0, 4.0, 5.0]
    inside = table.in_windows([(at(0), at(2)), (at(7), at(20))])
    assert inside.volumes.tolist() == [0, 1, 7, 8, 9]
    assert (
        len(table.in_windows([])) == 0 and len(BarTable.empty().in_windows([(at(0), at(1))])) == 0
    )
