"""Bars loaded once on the client and installed once in each worker process.

The client reads the ``--data`` folder with the backtest's own
:class:`~vibe.trading_bot.data.providers.replay.ReplayProvider` (resampled from a
finer file when needed) into a :class:`BarSet`. A worker installs it once
(:func:`install`): the frames are registered with
:func:`~vibe.trading_bot.data.providers.replay.preload_frames`, so each trial's
backtest reads them from memory instead of parsing the files again.

* Local pool: each worker receives the bar set once, as its initializer's argument,
  and serves it under the ``--data`` folder itself.
* Dask: the client scatters the bar set to every worker once (``broadcast=True``);
  each worker writes it as ``<SYMBOL>_<timeframe>.parquet`` into a temporary folder
  of its own (deleted when the worker process exits) and serves it from there. The
  workers need no shared path and no copy of the data.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from vibe.trading_bot.core.bar_columns import share_columns
from vibe.trading_bot.core.scheduler import NEW_YORK, MarketScheduler
from vibe.trading_bot.data.providers.replay import ReplayProvider, preload_frames

FrameKey = tuple[str, str]


@dataclass(frozen=True)
class BarSet:
    """The bar frames of one optimization.

    Attributes:
        origin: the client's ``--data`` folder (absolute).
        frames: ``(symbol, timeframe)`` -> bar frame (UTC ``DatetimeIndex``, float64
            ``open, high, low, close, volume``) as the replay provider loads it.
        digest: SHA-256 of the frames' contents (hex): a worker installs each once.
    """

    origin: Path
    frames: dict[FrameKey, pd.DataFrame] = field(repr=False)
    digest: str

    def sessions(self, start: date, end: date) -> list[date]:
        """ET dates in ``[start, end]`` on which every symbol has a bar, ascending."""
        days: set[date] | None = None
        for frame in self.frames.values():
            local = pd.DatetimeIndex(frame.index).tz_convert(NEW_YORK).date
            found = {d for d in set(local) if start <= d <= end}
            days = found if days is None else days & found
        return sorted(days or ())


def load_bar_set(
    data: Path, symbols: tuple[str, ...], timeframe: str, scheduler: MarketScheduler
) -> BarSet:
    """Read each symbol's bars at ``timeframe`` from ``data`` (as a backtest would).

    Raises:
        NoDataError: a symbol has no file at this timeframe or a finer one.
        DataError: a file is unreadable or malformed (names it).
    """
    provider = ReplayProvider(data, scheduler, timeframe)
    frames = {(symbol, timeframe): provider.load(symbol, timeframe) for symbol in symbols}
    digest = hashlib.sha256()
    for (symbol, tf), frame in sorted(frames.items()):
        digest.update(f"{symbol}_{tf}".encode())
        digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return BarSet(data.resolve(), frames, digest.hexdigest())


#: digest -> folder the installed bar set is served under (this process).
_INSTALLED: dict[str, Path] = {}


def install(bars: BarSet, *, materialize: bool) -> Path:
    """Serve ``bars`` to this process's backtests; the folder to pass as ``--data``.

    Idempotent: a bar set already installed (same digest) returns its folder at once.
    The process's backtests then share the bars' columns and each session's ``Bar``
    objects (:func:`~vibe.trading_bot.core.bar_columns.share_columns`): a process with
    a bar set installed runs many trials on it.

    Args:
        bars: the bar set.
        materialize: write the frames to a private temporary folder (a Dask worker,
            maybe on another machine) instead of serving them under ``bars.origin``.
    """
    folder = _INSTALLED.get(bars.digest)
    if folder is not None:
        return folder
    share_columns()
    if materialize:
        folder = Path(tempfile.mkdtemp(prefix=f"vibe-optimize-bars-{bars.digest[:12]}-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        for (symbol, timeframe), frame in bars.frames.items():
            frame.to_parquet(folder / f"{symbol}_{timeframe}.parquet")
    else:
        folder = bars.origin
    preload_frames(folder, bars.frames)
    _INSTALLED[bars.digest] = folder
    return folder
