"""History of many symbols at once: concurrent, bounded, every request time-limited.

The live warm-up needs every symbol's recent bars before the stream starts. One
request after another, a slow upstream (13-30 s per failing request on a slow
DNS) delays the open by minutes; so the requests run concurrently, at most
``concurrency`` at a time (an :class:`asyncio.Semaphore`), each one bounded by
``timeout_seconds`` of real time (``asyncio.timeout``: waiting on the outside
world, never trading time). A symbol whose request fails or times out is left
out and reported with the reason; the others are returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import pandas as pd

from vibe.common.errors import VibeError
from vibe.common.models import Bar
from vibe.trading_bot.data.frames import frame_to_bars, timeframe_seconds
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)

#: Requests in flight at once.
DEFAULT_CONCURRENCY = 4
#: Real seconds one symbol's history request may take.
DEFAULT_TIMEOUT_SECONDS = 20.0


class HistorySource(Protocol):
    """Anything with the data manager's ``get_history``."""

    async def get_history(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """Bars of ``symbol`` with ``start <= timestamp < end`` (a bar frame)."""
        ...


@dataclass(slots=True)
class HistoryBatch:
    """What :func:`fetch_history` loaded.

    Attributes:
        bars: every bar loaded, ordered by (start time, symbol).
        failures: symbol -> why its history is missing (error type and message).
    """

    bars: list[Bar] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)


async def fetch_history(
    source: HistorySource,
    symbols: Sequence[str],
    timeframe: str,
    start: datetime,
    end: datetime,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> HistoryBatch:
    """Load ``[start, end)`` of every symbol; failures are collected, never raised.

    Args:
        source: where history comes from (the data manager).
        symbols: tickers to load.
        timeframe: bar timeframe, e.g. ``5m``.
        start: first bar start included (tz-aware).
        end: bar starts before this (tz-aware).
        concurrency: requests in flight at once (>= 1).
        timeout_seconds: real seconds allowed per symbol (> 0).

    Raises:
        ValueError: ``concurrency < 1`` or ``timeout_seconds <= 0``.
    """
    if concurrency < 1 or timeout_seconds <= 0:
        raise ValueError(f"concurrency={concurrency} (>= 1), timeout={timeout_seconds} s (> 0)")
    interval = timeframe_seconds(timeframe)
    gate = asyncio.Semaphore(concurrency)
    batch = HistoryBatch()

    async def one(symbol: str) -> None:
        async with gate:
            try:
                async with asyncio.timeout(timeout_seconds):
                    frame = await source.get_history(symbol, timeframe, start, end)
            except TimeoutError:
                batch.failures[symbol] = f"timed out after {timeout_seconds:g} s"
            except VibeError as exc:
                batch.failures[symbol] = f"{type(exc).__name__}: {exc}"
            else:
                batch.bars.extend(frame_to_bars(symbol, frame, interval))

    async with asyncio.TaskGroup() as group:
        for symbol in symbols:
            group.create_task(one(symbol), name=f"history-{symbol}")
    for symbol, reason in sorted(batch.failures.items()):
        _log.warning("history unavailable", symbol=symbol, timeframe=timeframe, error=reason)
    batch.bars.sort(key=lambda bar: (bar.timestamp, bar.symbol))
    return batch
