"""Reading a bar CSV file (``timestamp,open,high,low,close,volume``), counting the bad rows.

A well-formed file goes through pandas' C parser (a year of 1-minute bars in
~40 ms; pandas' pyarrow engine was no faster on two cores and kept ~35 MB more
resident, its memory pool holding what it had parsed); times in the files'
fixed-width form are read by :mod:`~vibe.trading_bot.data.iso_offset_times`,
others by pandas' ISO-8601 parser. A file with any bad row is read again row
by row with the standard ``csv`` module, so each bad row is known by its line
number: a row cut short (an interrupted download), a row with too many fields,
a price or volume that is empty or not a number, or a timestamp that is not
ISO-8601 with an offset. Bad rows are skipped and reported in
:class:`MalformedRows`; blank lines are ignored.

Raises :class:`~vibe.common.errors.DataError` (naming the file) for what makes
the whole file unusable: it is empty, its header lacks a column, or it cannot
be read at all.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vibe.common.errors import DataError
from vibe.trading_bot.data.frames import BAR_COLUMNS
from vibe.trading_bot.data.iso_offset_times import fixed_offset_epoch_us

if TYPE_CHECKING:  # imported when a file is read: not by the CSV backtest path (bar_csv_bytes)
    import pandas as pd

TIMESTAMP = "timestamp"
CSV_COLUMNS = (TIMESTAMP, *BAR_COLUMNS)
#: Line numbers quoted in a warning; the count is always complete.
LINES_SHOWN = 10


@dataclass(frozen=True, slots=True)
class MalformedRows:
    """The rows of one file that were skipped.

    Attributes:
        path: the file.
        lines: 1-based line numbers of the skipped rows (the header is line 1), ascending.
    """

    path: Path
    lines: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Number of skipped rows."""
        return len(self.lines)

    def shown_lines(self) -> str:
        """``"100, 120, 402"``: the first :data:`LINES_SHOWN` line numbers, then ``(N more)``."""
        shown = ", ".join(str(line) for line in self.lines[:LINES_SHOWN])
        more = f" ... ({self.count - LINES_SHOWN} more)" if self.count > LINES_SHOWN else ""
        return shown + more


def read_bar_csv(path: Path) -> tuple[pd.DataFrame, MalformedRows]:
    """The file's rows as a frame indexed by UTC timestamp, and the rows skipped.

    The frame has the columns ``open, high, low, close, volume`` (floats) in the
    file's order; :func:`~vibe.trading_bot.data.frames.normalize_bars` makes it a
    bar frame.

    Raises:
        DataError: the file is empty, lacks a column, or cannot be read.
    """
    import pandas as pd

    _check_header(path)
    try:
        raw = pd.read_csv(path, engine="c")
    except (ValueError, OSError):  # a row with too many fields
        raw = None
    if raw is not None:
        raw.columns = [str(name).strip().lower() for name in raw.columns]
        clean = _clean_or_none(raw)
        if clean is not None:
            return clean, MalformedRows(path)
    return _read_rows(path)


def _check_header(path: Path) -> None:
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as stream:
            header = next(csv.reader(stream), None)
    except OSError as exc:
        raise DataError(f"cannot read bar file {path}: {exc.strerror or exc}") from exc
    if header is None or not any(name.strip() for name in header):
        raise DataError(
            f"{path}: the file is empty; expected a header {','.join(CSV_COLUMNS)} "
            "and one row per bar"
        )
    names = [name.strip().lower() for name in header]
    missing = [name for name in CSV_COLUMNS if name not in names]
    if missing:
        expected = list(BAR_COLUMNS) if TIMESTAMP not in missing else list(CSV_COLUMNS)
        raise DataError(f"{path}: missing columns {missing}; expected {expected}")


def _clean_or_none(raw: pd.DataFrame) -> pd.DataFrame | None:
    """The frame when every row is good, else ``None`` (the caller reads row by row)."""
    values = raw[list(BAR_COLUMNS)]
    if not all(dtype.kind in "if" for dtype in values.dtypes) or values.isna().to_numpy().any():
        return None
    index = _utc_index(raw[TIMESTAMP])
    if index is None:
        return None
    frame = values.astype(float)
    frame.index = index
    return frame


def _utc_index(texts: pd.Series) -> pd.DatetimeIndex | None:
    """The times as a UTC index named ``timestamp``; ``None`` when one is not ISO-8601."""
    import pandas as pd

    fast = fixed_offset_epoch_us(texts)
    if fast is not None:
        return pd.DatetimeIndex(fast.astype("datetime64[us]"), name=TIMESTAMP).tz_localize("UTC")
    try:
        return pd.DatetimeIndex(pd.to_datetime(texts, utc=True, format="ISO8601"))
    except (ValueError, TypeError):
        return None


def _read_rows(path: Path) -> tuple[pd.DataFrame, MalformedRows]:
    import pandas as pd

    bad: list[int] = []
    stamps: list[str] = []
    rows: list[list[float]] = []
    lines: list[int] = []
    with path.open(newline="", encoding="utf-8", errors="replace") as stream:
        reader = csv.reader(stream)
        header = [name.strip().lower() for name in next(reader)]
        width = len(header)
        where = [header.index(name) for name in BAR_COLUMNS]
        at = header.index(TIMESTAMP)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            number = reader.line_num
            values = _numbers(row, where) if len(row) == width else None
            if values is None:
                bad.append(number)
                continue
            stamps.append(row[at].strip())
            rows.append(values)
            lines.append(number)
    index = pd.DatetimeIndex(pd.to_datetime(stamps, utc=True, format="ISO8601", errors="coerce"))
    good = ~np.asarray(index.isna(), dtype=bool)
    bad.extend(line for line, ok in zip(lines, good, strict=True) if not ok)
    frame = pd.DataFrame(rows, columns=list(BAR_COLUMNS), dtype=float)
    frame = frame[good]
    frame.index = index[good]
    return frame, MalformedRows(path, sorted(bad))


def _numbers(row: list[str], where: list[int]) -> list[float] | None:
    try:
        values = [float(row[i]) for i in where]
    except ValueError:
        return None
    return values if all(math.isfinite(v) for v in values) else None
