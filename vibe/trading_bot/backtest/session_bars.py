"""The traded sessions' bars of each symbol, read again when the run did not keep them.

The run's :class:`~vibe.trading_bot.core.historical_feed.HistoricalFeed` trades the
bars the data manager returns for the traded sessions; this asks the same data manager
(same providers, cache and validation) for the same range afterwards and keeps the
bars inside a session (``open <= start < close``), which are the bars the feed
traded. The provider's warnings about the files (malformed rows, ...) were already
given during the run, so they are not repeated.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from datetime import date, datetime

from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.data.bar_table import BarTable
from vibe.trading_bot.data.manager import DataManager
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)
_DATA_LOGGER = "vibe.trading_bot.data"


@contextlib.contextmanager
def _quiet_data_warnings() -> Iterator[None]:
    logger = logging.getLogger(_DATA_LOGGER)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def in_sessions(bars: BarTable, sessions: Sequence[tuple[date, datetime, datetime]]) -> BarTable:
    """The bars whose start lies in one of ``sessions`` (``open <= t < close``)."""
    return bars.in_windows([(opened, closed) for _, opened, closed in sessions])


async def session_bars(
    data: DataManager,
    scheduler: MarketScheduler,
    symbols: Sequence[str],
    timeframe: str,
    start: date,
    end: date,
) -> dict[str, BarTable | None]:
    """Symbol -> its bars in the sessions ``start..end`` (``None`` when not available).

    A symbol whose bars cannot be read again (a provider failing now, whatever the
    error) gets ``None`` and one warning; the benchmark then holds its share as cash
    and reports no return for it (see :mod:`.benchmark`). The run's own results are
    never lost to this second read.
    """
    sessions = scheduler.session_list(start, end)
    out: dict[str, BarTable | None] = {}
    if not sessions:
        return dict.fromkeys(symbols)
    first, last = sessions[0][1], sessions[-1][2]
    for symbol in symbols:
        try:
            with _quiet_data_warnings():
                bars = await data.get_history_table(symbol, timeframe, first, last)
        except Exception as exc:  # a benchmark never costs the run's report
            _log.warning("benchmark bars unavailable", symbol=symbol, error=str(exc))
            out[symbol] = None
            continue
        out[symbol] = in_sessions(bars, sessions)
    return out
