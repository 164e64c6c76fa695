"""Fixed-width ISO-8601 times read fast give exactly pandas' answer, or step aside."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vibe.trading_bot.data.bar_csv import read_bar_csv
from vibe.trading_bot.data.iso_offset_times import fixed_offset_epoch_us


def pandas_epoch_us(texts: pd.Series) -> np.ndarray:
    parsed = pd.to_datetime(texts, utc=True, format="ISO8601").dt.as_unit("us")
    return parsed.astype("int64").to_numpy()


def bar_files(shared_data: Path) -> list[Path]:
    return sorted(shared_data.glob("bars_*/**/*.csv"))


def test_every_recorded_bar_file_is_read_fast_and_as_pandas_reads_it(shared_data: Path) -> None:
    files = bar_files(shared_data)
    assert len(files) >= 30
    for path in files:
        raw = pd.read_csv(path, engine="c")
        fast = fixed_offset_epoch_us(raw["timestamp"])
        assert fast is not None, path
        np.testing.assert_array_equal(fast, pandas_epoch_us(raw["timestamp"]), err_msg=str(path))


def test_read_bar_csv_gives_the_frame_pandas_parsing_gave(shared_data: Path) -> None:
    path = shared_data / "bars_1m" / "alpaca_spy_2024-03_2025-04" / "SPY_1m.csv"
    frame, malformed = read_bar_csv(path)
    raw = pd.read_csv(path, engine="c")
    expected = raw[["open", "high", "low", "close", "volume"]].astype(float)
    expected.index = pd.DatetimeIndex(pd.to_datetime(raw["timestamp"], utc=True, format="ISO8601"))
    assert malformed.count == 0
    pd.testing.assert_frame_equal(frame, expected)


EDGES = [
    "2024-03-10T01:59:00-05:00",  # the last minute before a DST change...
    "2024-03-10T03:00:00-04:00",  # ...and the first after it
    "2024-11-03T01:30:00-04:00",
    "2024-11-03T01:30:00-05:00",  # the repeated hour, told apart by the offset
    "2024-02-29T09:30:00-05:00",  # leap day
    "2000-02-29T00:00:00+00:00",  # leap century
    "1965-03-01T09:30:00-05:00",  # before the epoch
    "2025-12-31T23:59:59+14:00",
    "2025-01-01T00:00:00-12:30",
]


def test_offsets_dst_leap_days_and_old_dates_match_pandas() -> None:
    texts = pd.Series(EDGES, dtype="str")
    fast = fixed_offset_epoch_us(texts)
    assert fast is not None
    np.testing.assert_array_equal(fast, pandas_epoch_us(texts))
    as_objects = fixed_offset_epoch_us(pd.Series(EDGES, dtype=object))
    assert as_objects is not None
    np.testing.assert_array_equal(as_objects, fast)


@pytest.mark.parametrize(
    "odd",
    [
        "2024-03-26T13:30:00Z",  # another spelling of UTC
        "2024-03-26 09:30:00-04:00",  # a space for the T
        "2024-03-26T09:30:00.5-04:00",  # a fraction of a second
        "2024-02-30T09:30:00-05:00",  # no such day
        "2023-02-29T09:30:00-05:00",  # not a leap year
        "1900-02-29T09:30:00-05:00",  # nor is 1900
        "2024-13-01T09:30:00-05:00",  # no such month
        "2024-03-26T24:00:00-04:00",  # no such hour
        "2024-03-26T09:60:00-04:00",  # no such minute
        "2024-03-26T09:30:00*04:00",  # no sign
        "2024-03-26T09:3a:00-04:00",  # not a digit
        "2024-03-26T09:30:00-24:00",  # no such offset
    ],
)
def test_any_other_text_is_left_to_pandas(odd: str) -> None:
    assert fixed_offset_epoch_us(pd.Series([EDGES[0], odd], dtype="str")) is None


def test_missing_empty_and_non_text_columns_are_left_to_pandas() -> None:
    assert fixed_offset_epoch_us(pd.Series([EDGES[0], None], dtype="str")) is None
    assert fixed_offset_epoch_us(pd.Series([], dtype="str")) is None
    assert fixed_offset_epoch_us(pd.Series([1, 2])) is None


def test_a_same_width_impossible_date_is_still_a_malformed_row(tmp_path: Path) -> None:
    path = tmp_path / "SPY_5m.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2024-02-29T09:30:00-05:00,508.0,508.5,507.9,508.2,1000\n"
        "2024-02-30T09:35:00-05:00,508.2,508.6,508.1,508.4,900\n"
        "2024-03-01T09:30:00-05:00,509.0,509.5,508.9,509.2,1100\n"
    )
    frame, malformed = read_bar_csv(path)
    assert malformed.lines == [3]
    assert [str(t) for t in frame.index] == [
        "2024-02-29 14:30:00+00:00",
        "2024-03-01 14:30:00+00:00",
    ]
