"""Reading bar CSV files: good files fast, every bad row skipped and named by its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from vibe.common.errors import DataError
from vibe.tests.conftest import REPO_ROOT
from vibe.trading_bot.data.bar_csv import read_bar_csv
from vibe.trading_bot.data.frames import normalize_bars

SPY = REPO_ROOT / "examples" / "data" / "SPY_5m.csv"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "SPY_5m.csv"
    path.write_text(text)
    return path


def test_a_real_file_has_no_malformed_row() -> None:
    frame, malformed = read_bar_csv(SPY)
    assert malformed.count == 0
    assert len(frame) == len(SPY.read_text().splitlines()) - 1
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert str(frame.index.dtype).endswith(", UTC]")


def test_bad_rows_are_skipped_and_named_by_line(tmp_path: Path) -> None:
    rows = SPY.read_text().splitlines()[:12]
    rows[2] = rows[2] + ",99"  # line 3: a field too many
    rows[4] = "yesterday" + rows[4][rows[4].index(",") :]  # line 5: bad timestamp
    rows[6] = rows[6].replace(",", ",nan,", 1).rsplit(",", 1)[0]  # line 7: nan price
    rows.insert(8, "")  # line 9: a blank line is not a bad row
    rows[10] = rows[10].split(",")[0] + ",1,2"  # line 11: cut short
    path = write(tmp_path, "\n".join(rows) + "\n")
    frame, malformed = read_bar_csv(path)
    assert malformed.lines == [3, 5, 7, 11]
    assert malformed.shown_lines() == "3, 5, 7, 11"
    assert len(frame) == 11 - 4
    assert len(normalize_bars(frame, str(path))) == 7


def test_many_bad_rows_show_the_first_ten(tmp_path: Path) -> None:
    rows = SPY.read_text().splitlines()[:31]
    rows[1:31] = [row.rsplit(",", 1)[0] + ",x" for row in rows[1:31]]
    _, malformed = read_bar_csv(write(tmp_path, "\n".join(rows)))
    assert malformed.count == 30
    assert malformed.shown_lines() == "2, 3, 4, 5, 6, 7, 8, 9, 10, 11 ... (20 more)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        ("timestamp,open,high,low,close\n", r"missing columns \['volume'\]"),
        ("time,open,high,low,close,volume\n", r"missing columns \['timestamp'\]"),
    ],
)
def test_unusable_files_are_one_error_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(DataError, match=rf"SPY_5m\.csv: {message}"):
        read_bar_csv(write(tmp_path, text))


def test_duplicate_timestamps_keep_the_last_row(tmp_path: Path) -> None:
    rows = SPY.read_text().splitlines()[:4]
    rows.append(rows[3].rsplit(",", 1)[0] + ",7")  # same bar again, volume 7
    frame, malformed = read_bar_csv(write(tmp_path, "\n".join(rows)))
    bars = normalize_bars(frame, "dup")
    assert malformed.count == 0 and len(bars) == 3
    assert bars["volume"].iloc[-1] == 7
