"""Bars from files: ``<SYMBOL>_<timeframe>.csv`` or ``.parquet`` in one folder.

The CSV format is the one of ``../shared/data/bars_*/`` (see its SOURCES.md):
header ``timestamp,open,high,low,close,volume``; ``timestamp`` ISO-8601 with a
UTC offset (bar start; daily files: session date at 00:00 ET). Parquet files
hold the same columns, or a bar frame with a ``timestamp`` index.

If a symbol has no file for the requested timeframe but has ``1m`` (or a
finer timeframe that divides it), the bars are resampled from it with
:func:`~vibe.trading_bot.data.resample.resample_bars`. Gaps in the files are
served as they are (no filling): the data manager detects and reports them.
Malformed CSV rows (cut short, not numbers, bad timestamps) are skipped and
counted, with one warning per file naming it, the count and the line numbers
(:mod:`~vibe.trading_bot.data.bar_csv`).

:meth:`ReplayProvider.get_history_table` answers a CSV in the bar files' one form
(:mod:`~vibe.trading_bot.data.bar_csv_bytes`) without pandas, for the ``backtest``
command; any other file is read as a frame first (the same bars either way).
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from vibe.common.errors import DataError, NoDataError
from vibe.common.models import Bar
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.data.bar_csv import read_bar_csv
from vibe.trading_bot.data.bar_csv_bytes import read_bar_bytes
from vibe.trading_bot.data.bar_table import BarTable
from vibe.trading_bot.data.frames import (
    TIMEFRAME_SECONDS,
    check_range,
    frame_to_bars,
    normalize_bars,
    require_range,
    slice_range,
    timeframe_seconds,
)
from vibe.trading_bot.utils.logger import get_logger

if TYPE_CHECKING:
    import pandas as pd

_log = get_logger(__name__)

#: Bar frames already in memory, by resolved folder then ``(symbol, timeframe)``
#: (:func:`preload_frames`): a process that runs many backtests on one folder
#: (an ``optimize`` worker) reads each file once.
_PRELOADED: dict[Path, dict[tuple[str, str], pd.DataFrame]] = {}


def preload_frames(directory: Path, frames: dict[tuple[str, str], pd.DataFrame]) -> None:
    """Serve ``frames`` to later :class:`ReplayProvider` instances on ``directory``.

    ``frames`` are bar frames as :meth:`ReplayProvider.load` returns them, keyed by
    ``(symbol, timeframe)``; every provider created afterwards in this process on
    ``directory`` serves them instead of reading its files. They must not be modified.
    """
    _PRELOADED[Path(directory).resolve()] = dict(frames)


class ReplayProvider:
    """Serves history and a bar stream from a folder of bar files.

    Args:
        directory: folder with ``<SYMBOL>_<timeframe>.csv`` / ``.parquet`` files.
        scheduler: calendar used to resample from finer files (optional).
        timeframe: timeframe of :meth:`stream_bars` (``1m`` .. ``1d``).
        start: first bar start streamed (inclusive, tz-aware); ``None`` = from the first bar.
        end: streamed bars start before this (exclusive, tz-aware); ``None`` = to the end.

    Raises:
        DataError: ``directory`` is not a readable folder.
    """

    name = "replay"
    reconnects = 0

    def __init__(
        self,
        directory: Path | str,
        scheduler: MarketScheduler | None = None,
        timeframe: str = "1m",
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise DataError(f"replay folder {self.directory} does not exist or is not a folder")
        timeframe_seconds(timeframe)
        self._scheduler = scheduler
        self._timeframe = timeframe
        self._start, self._end = start, end
        self._frames = dict(_PRELOADED.get(self.directory.resolve(), {}))
        self._tables: dict[tuple[str, str], BarTable] = {}

    async def connect(self) -> None:
        """Nothing to open; files are read on first use."""

    async def close(self) -> None:
        """Forget the files read so far."""
        self._frames.clear()
        self._tables.clear()

    def symbols(self, timeframe: str | None = None) -> list[str]:
        """Symbols with a file for ``timeframe`` (any timeframe when ``None``), sorted."""
        found = set()
        for path in self.directory.iterdir():
            stem, _, tf = path.stem.rpartition("_")
            known = path.suffix in (".csv", ".parquet") and tf in TIMEFRAME_SECONDS and stem
            if known and (timeframe is None or tf == timeframe):
                found.add(stem)
        return sorted(found)

    def load(self, symbol: str, timeframe: str) -> pd.DataFrame:
        """The whole file of ``symbol``/``timeframe`` as a bar frame (read once, then kept).

        Raises:
            NoDataError: no file for the symbol at this timeframe or a finer one.
            DataError: the file is unreadable or malformed (the message names it).
        """
        key = (symbol, timeframe)
        if key not in self._frames:
            self._frames[key] = self._read_or_resample(symbol, timeframe)
        return self._frames[key]

    def load_table(self, symbol: str, timeframe: str) -> BarTable:
        """:meth:`load` as a :class:`BarTable` (read once, then kept).

        A CSV in the bar files' one form is read without pandas
        (:func:`~vibe.trading_bot.data.bar_csv_bytes.read_bar_bytes`); anything else
        through :meth:`load`. The bars are the same either way.

        Raises:
            NoDataError: no file for the symbol at this timeframe or a finer one.
            DataError: the file is unreadable or malformed (the message names it).
        """
        key = (symbol, timeframe)
        table = self._tables.get(key)
        if table is None:
            path = None if key in self._frames else self._find(symbol, timeframe)
            if path is not None and path.suffix == ".csv":
                table = read_bar_bytes(path)
            if table is None:
                table = BarTable.from_frame(self.load(symbol, timeframe))
            self._tables[key] = table
        return table

    def _read_or_resample(self, symbol: str, timeframe: str) -> pd.DataFrame:
        path = self._find(symbol, timeframe)
        if path is not None:
            return _read_file(path)
        wanted = timeframe_seconds(timeframe)
        if self._scheduler is not None:
            from vibe.trading_bot.data.resample import resample_bars

            for finer, seconds in sorted(TIMEFRAME_SECONDS.items(), key=lambda kv: kv[1]):
                if seconds < wanted and self._find(symbol, finer) is not None:
                    return resample_bars(self.load(symbol, finer), timeframe, self._scheduler)
        raise NoDataError(
            f"no {timeframe} bars for {symbol}: expected {symbol}_{timeframe}.csv or .parquet "
            f"in {self.directory}"
        )

    def _find(self, symbol: str, timeframe: str) -> Path | None:
        for suffix in (".parquet", ".csv"):
            path = self.directory / f"{symbol}_{timeframe}{suffix}"
            if path.is_file():
                return path
        return None

    async def get_history(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """Bars with ``start <= timestamp < end`` from the file (bar frame; may be empty).

        Raises:
            InvalidInputError: bad timeframe or range.
            NoDataError: no file for this symbol and timeframe.
            DataError: unreadable file.
        """
        lo, hi = check_range(start, end)
        frame = await asyncio.to_thread(self.load, symbol, timeframe)
        return slice_range(frame, lo, hi).copy()

    async def get_history_table(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> BarTable:
        """:meth:`get_history` as a :class:`BarTable` (see :meth:`load_table`).

        Raises:
            InvalidInputError: bad timeframe or range.
            NoDataError: no file for this symbol and timeframe.
            DataError: unreadable file.
        """
        timeframe_seconds(timeframe)
        require_range(start, end)
        table = await asyncio.to_thread(self.load_table, symbol, timeframe)
        return table.between(start, end)

    async def stream_bars(self, symbols: Sequence[str]) -> AsyncIterator[Bar]:
        """Every bar of ``symbols`` in timestamp order (ties by symbol), within start/end.

        Raises:
            NoDataError: a symbol has no file.
        """
        seconds = timeframe_seconds(self._timeframe)
        streams = []
        for symbol in sorted(symbols):
            frame = await asyncio.to_thread(self.load, symbol, self._timeframe)
            frame = self._window(frame)
            streams.append(_keyed(symbol, frame_to_bars(symbol, frame, seconds)))
        for _, _, bar in heapq.merge(*streams):
            yield bar

    def _window(self, frame: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        lo = pd.Timestamp(self._start) if self._start else frame.index.min()
        hi = pd.Timestamp(self._end) if self._end else frame.index.max() + pd.Timedelta(1, "s")
        if frame.empty:
            return frame
        return slice_range(frame, lo.tz_convert("UTC"), hi.tz_convert("UTC"))


def _keyed(symbol: str, bars: Iterator[Bar]) -> Iterator[tuple[datetime, str, Bar]]:
    for bar in bars:
        yield bar.timestamp, symbol, bar


def _read_file(path: Path) -> pd.DataFrame:
    """The file as a bar frame; a CSV's malformed rows are skipped with one warning.

    Raises:
        DataError: the file is empty, lacks a column or cannot be read (names it).
    """
    if path.suffix != ".parquet":
        raw, malformed = read_bar_csv(path)
        if malformed.count:
            _log.warning(
                "malformed rows skipped",
                file=str(path),
                rows=malformed.count,
                lines=malformed.shown_lines(),
            )
        return normalize_bars(raw, str(path))
    import pandas as pd

    try:
        raw = pd.read_parquet(path)
        if "timestamp" in raw.columns:
            raw = raw.set_index("timestamp")
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"cannot read bar file {path}: {exc}") from exc
    return normalize_bars(raw, str(path))
