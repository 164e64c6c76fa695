"""What every market-data provider offers.

Two roles, as protocols so adapters need no common base class:

* :class:`HistoryProvider` answers ``get_history`` with a bar frame (see
  :mod:`vibe.trading_bot.data.frames`: tz-aware UTC ``DatetimeIndex`` of bar
  **start** times, float ``open, high, low, close`` in USD per share, int
  ``volume`` in shares).
* :class:`StreamingProvider` yields live closed bars through
  ``stream_bars``; it counts its reconnects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from vibe.common.models import Bar

if TYPE_CHECKING:
    import pandas as pd


@runtime_checkable
class HistoryProvider(Protocol):
    """A source of historical bars."""

    name: str

    async def connect(self) -> None:
        """Open whatever the provider needs (sessions, files); idempotent."""
        ...

    async def close(self) -> None:
        """Release connections and files; idempotent."""
        ...

    async def get_history(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """Bars of ``symbol`` with ``start <= timestamp < end`` (tz-aware datetimes).

        Returns:
            A bar frame; empty when the range holds no session (weekend, holiday).

        Raises:
            InvalidInputError: unknown timeframe, naive datetimes or ``end <= start``.
            NoDataError: the provider has nothing for this symbol/range.
            TemporaryError: a retryable failure (network, rate limit).
            DataError: the provider answered with something unusable.
        """
        ...


@runtime_checkable
class StreamingProvider(Protocol):
    """A source of live closed bars."""

    name: str
    reconnects: int

    async def connect(self) -> None:
        """Open whatever the provider needs; idempotent."""
        ...

    async def close(self) -> None:
        """Release connections; idempotent."""
        ...

    def stream_bars(self, symbols: Sequence[str]) -> AsyncIterator[Bar]:
        """Closed bars for ``symbols`` as they complete, oldest first per symbol.

        Raises:
            OperationalError: the stream cannot be (re)established; callers fall back.
        """
        ...
