"""What one daemon run is: live, a replay of recorded bars, or a backtest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path

from vibe.trading_bot.storage.folder_mode import FolderMode


class RunMode(StrEnum):
    """How bars reach the daemon and what time it is."""

    LIVE = "live"  # wall clock, Finnhub/Yahoo
    REPLAY = "replay"  # simulated clock, files, same stores and probes as live
    BACKTEST = "backtest"  # simulated clock, as fast as possible, throw-away stores


#: Called after each session with (sessions done, sessions in total, bars so far).
ProgressHook = Callable[[int, int, int], None]


@dataclass(frozen=True)
class RunPlan:
    """The run's mode and its options.

    Attributes:
        mode: live, replay or backtest.
        data_dir: folder of the SQLite files (``DATA_DIR``; a results folder in backtests).
        symbols: tickers traded.
        timeframe: bar timeframe (``1m`` / ``5m``).
        replay_dir: folder of ``<SYMBOL>_<timeframe>.csv`` files (replay; backtest ``--data``).
        start: first session (ET date) of a replay or backtest; ``None``: the data's first.
        end: last session (inclusive) of a replay or backtest; ``None``: the data's last.
        speed: replay pace in market seconds per real second (60: a minute per
            second); ``None``: as fast as possible.
        serve_health: serve the probes on ``HEALTH_CHECK_PORT``.
        notify: send alerts to Discord (when a webhook is configured).
        cloud_sync: restore from and sync to the cloud (when ``ENABLE_CLOUD_SYNC``).
        record_equity: keep the equity curve at every bar close (backtests).
        resume: continue after the last processed bar found in ``data_dir``.
        progress: called after each session.
        allow_mode_change: run on a ``DATA_DIR`` made by another mode (live vs the
            replay of a folder; see :mod:`~vibe.trading_bot.storage.folder_mode`).
    """

    mode: RunMode
    data_dir: Path
    symbols: tuple[str, ...]
    timeframe: str
    replay_dir: Path | None = None
    start: date | None = None
    end: date | None = None
    speed: float | None = None
    serve_health: bool = True
    notify: bool = True
    cloud_sync: bool = True
    record_equity: bool = False
    resume: bool = True
    progress: ProgressHook | None = None
    allow_mode_change: bool = False

    @property
    def folder_mode(self) -> FolderMode | None:
        """The mode this run records in ``DATA_DIR``; ``None`` for a backtest (throw-away)."""
        if self.mode is RunMode.LIVE:
            return FolderMode.live()
        if self.mode is RunMode.REPLAY and self.replay_dir is not None:
            return FolderMode.replay(self.replay_dir)
        return None

    @property
    def source(self) -> str:
        """Key of this run's progress marks: ``live`` or ``replay:<folder>``."""
        if self.mode is RunMode.LIVE:
            return "live"
        folder = self.replay_dir.resolve() if self.replay_dir is not None else "history"
        return f"{self.mode.value}:{folder}:{self.timeframe}"
