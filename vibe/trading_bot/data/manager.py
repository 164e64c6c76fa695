"""The data layer's front door: fallback chains, validation, gaps, cache and health.

* History: the Parquet cache first (only when its recorded range covers the
  request), then each history provider in order (e.g. Yahoo); only the parts
  the cache is missing are fetched, and they are stored back. In offline mode
  no provider is called: the cache answers alone.
* Live: each streaming provider in order (e.g. Finnhub, then Yahoo polling).
  When one gives up (:class:`OperationalError` or :class:`TemporaryError`),
  the next takes over and health turns DEGRADED.
* Every bar is validated (:mod:`vibe.trading_bot.data.validation`); rejected
  bars are logged with the reason and counted.
* Missing history: the symbols whose warm-up history failed are remembered
  (:meth:`DataManager.report_missing_history`); the component stays DEGRADED,
  naming them, until a warm-up loads everything again.
* Gaps: when a live bar arrives later than the next bar the calendar expects
  (typically after a reconnect), the missing range is requested from the
  history chain and the recovered bars are yielded first, in order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from vibe.common.clock import Clock
from vibe.common.errors import (
    DataError,
    DataUnavailableError,
    NoDataError,
    OperationalError,
    TemporaryError,
)
from vibe.common.models import Bar
from vibe.trading_bot.core.health_reporter import HealthReporter, HealthState
from vibe.trading_bot.core.scheduler import MarketScheduler
from vibe.trading_bot.data.bar_table import BarTable
from vibe.trading_bot.data.frames import (
    TIMEFRAME_SECONDS,
    check_range,
    frame_to_bars,
    require_range,
    timeframe_seconds,
)
from vibe.trading_bot.data.gaps import expected_starts
from vibe.trading_bot.data.market_health import MarketDataHealth, describe_missing
from vibe.trading_bot.data.providers.base import HistoryProvider, StreamingProvider
from vibe.trading_bot.data.validation import BarValidator
from vibe.trading_bot.utils.logger import get_logger

if TYPE_CHECKING:  # pandas: not imported on the CSV backtest path (see get_history_table)
    import pandas as pd

    from vibe.trading_bot.data.cache import ParquetCache

_log = get_logger(__name__)
_Bars = TypeVar("_Bars", "pd.DataFrame", BarTable)
_TIMEFRAME_OF = {seconds: name for name, seconds in TIMEFRAME_SECONDS.items()}


@dataclass(frozen=True, slots=True)
class DataHealth:
    """A snapshot of the data layer's health.

    Attributes:
        connected_provider: name of the live provider in use (``None`` when not streaming).
        last_bar_time: start of the last live bar delivered, tz-aware UTC.
        last_bar_age_seconds: seconds from that bar's end to now (``None`` before any bar).
        rejected_bars: bars rejected by validation, total.
        rejections: rejected bars per reason.
        reconnects: reconnects of all live providers.
        gaps_detected: live gaps found against the calendar.
        backfilled_bars: bars recovered by backfill.
        fallbacks: times a provider failed and the next one was used.
    """

    connected_provider: str | None
    last_bar_time: datetime | None
    last_bar_age_seconds: float | None
    rejected_bars: int
    rejections: dict[str, int] = field(default_factory=dict)
    reconnects: int = 0
    gaps_detected: int = 0
    backfilled_bars: int = 0
    fallbacks: int = 0


class DataManager:
    """History and live bars for the strategy, hiding flaky feeds.

    Args:
        scheduler: market calendar (gap detection).
        clock: trading time (bar age, market hours; the cache has its own wall clock).
        health: reporter of this component's state and errors.
        history_providers: history chain, primary first (e.g. ``[YahooProvider]``).
        live_providers: live chain, primary first (e.g. ``[FinnhubProvider, YahooProvider]``).
        cache: Parquet cache in front of the history chain (``None``: no cache).
        offline: never call a provider; serve history from the cache only.
    """

    def __init__(
        self,
        scheduler: MarketScheduler,
        clock: Clock,
        health: HealthReporter,
        history_providers: Sequence[HistoryProvider] = (),
        live_providers: Sequence[StreamingProvider] = (),
        cache: ParquetCache | None = None,
        offline: bool = False,
    ) -> None:
        self._scheduler = scheduler
        self._clock = clock
        self._health = MarketDataHealth.wrap(health)
        self._history = list(history_providers)
        self._live = list(live_providers)
        self._cache = cache
        self.offline = offline
        self.validator = BarValidator()
        self._connected: str | None = None
        self._last_bar: Bar | None = None
        self.gaps_detected = 0
        self.backfilled_bars = 0
        self.fallbacks = 0
        self.provider_calls = 0

    async def connect(self) -> None:
        """Connect every provider (offline: none)."""
        if not self.offline:
            for provider in self._providers():
                await provider.connect()
        self._health.set_state(HealthState.HEALTHY, "data layer ready")

    async def close(self) -> None:
        """Close every provider."""
        for provider in self._providers():
            await provider.close()
        self._health.set_state(HealthState.STOPPED, "data layer closed")

    def _providers(self) -> list[HistoryProvider | StreamingProvider]:
        unique: dict[int, HistoryProvider | StreamingProvider] = {}
        providers: list[HistoryProvider | StreamingProvider] = [*self._history, *self._live]
        for provider in providers:
            unique.setdefault(id(provider), provider)
        return list(unique.values())

    async def get_history(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """Validated bars with ``start <= timestamp < end`` (a bar frame, see ``frames``).

        Raises:
            InvalidInputError: bad timeframe or range.
            NoDataError: nothing for this symbol/range (offline: nothing cached).
            DataError: every provider failed on unreadable data (one provider: its
                message, e.g. a bar file without a column).
            DataUnavailableError: every provider failed, some of them for a retryable
                reason (network, remote error); the message lists each.
        """
        timeframe_seconds(timeframe)
        lo, hi = check_range(start, end)
        if self._cache is None:
            if self.offline:
                raise NoDataError(f"offline without a cache: no {timeframe} bars for {symbol}")
            return await self._fetch_chain(symbol, timeframe, lo, hi)
        gaps = self._cache.missing(symbol, timeframe, lo, hi)
        if gaps and self.offline:
            frame = self._cache.load(symbol, timeframe, lo, hi)
            if frame.empty:
                raise NoDataError(
                    f"offline: the cache holds no {timeframe} bars for {symbol} in "
                    f"{lo.isoformat()}..{hi.isoformat()}"
                )
            return frame
        for gap_start, gap_end in gaps:
            frame = await self._fetch_chain(symbol, timeframe, gap_start, gap_end)
            self._cache.store(symbol, timeframe, frame, gap_start, gap_end)
        return self._cache.load(symbol, timeframe, lo, hi)

    async def get_history_table(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> BarTable:
        """:meth:`get_history` as a :class:`BarTable`: the same validated bars.

        Without a cache, a provider that reads tables itself (the replay folder's
        CSVs) answers without pandas; otherwise the frame is converted.

        Raises:
            The errors of :meth:`get_history`.
        """
        timeframe_seconds(timeframe)
        require_range(start, end)
        start, end = start.astimezone(UTC), end.astimezone(UTC)  # as get_history's messages
        if self._cache is not None or self.offline:
            return BarTable.from_frame(await self.get_history(symbol, timeframe, start, end))
        return await self._first_answer(symbol, timeframe, start, end, _fetch_table)

    async def _fetch_chain(
        self, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        return await self._first_answer(symbol, timeframe, start, end, _fetch_frame)

    async def _first_answer(
        self,
        symbol: str,
        timeframe: str,
        start: datetime,
        end: datetime,
        fetch: Callable[[HistoryProvider, str, str, datetime, datetime], Awaitable[_Bars]],
    ) -> _Bars:
        """The first history provider's validated answer (``fetch`` asks one)."""
        failures: list[tuple[str, Exception]] = []
        for provider in self._history:
            self.provider_calls += 1
            try:
                bars = await fetch(provider, symbol, timeframe, start, end)
            except (TemporaryError, DataError) as exc:
                failures.append((provider.name, exc))
                self._health.record_error(f"history from {provider.name} failed: {exc}")
                self.fallbacks += 1
                continue
            if isinstance(bars, BarTable):
                return self.validator.clean_table(symbol, bars)
            return self.validator.clean_frame(symbol, bars)
        detail = "; ".join(f"{name}: {exc}" for name, exc in failures)
        request = f"{symbol} {timeframe} {start.isoformat()}..{end.isoformat()}"
        if failures and all(isinstance(exc, NoDataError) for _, exc in failures):
            raise NoDataError(f"no provider has {request}: {detail}")
        if failures and all(isinstance(exc, DataError) for _, exc in failures):
            # unreadable data (a file without a column, an empty file): retrying cannot help
            raise DataError(str(failures[0][1]) if len(failures) == 1 else detail)
        raise DataUnavailableError(
            symbol, timeframe, [(name, str(exc)) for name, exc in failures], request
        )

    async def stream_bars(self, symbols: Sequence[str]) -> AsyncIterator[Bar]:
        """Validated closed bars from the live chain, with gaps backfilled, oldest first.

        Raises:
            OperationalError: every live provider failed.
        """
        for provider in self._live:
            self._connected = provider.name
            self._health.set_state(HealthState.HEALTHY, f"streaming from {provider.name}")
            try:
                async for bar in provider.stream_bars(symbols):
                    for accepted in await self._accept(bar):
                        yield accepted
                return
            except (OperationalError, TemporaryError) as exc:
                self.fallbacks += 1
                self._health.record_error(f"live provider {provider.name} failed: {exc}")
                self._health.set_state(
                    HealthState.DEGRADED, f"{provider.name} failed; falling back"
                )
                _log.warning("live provider failed", provider=provider.name, error=str(exc))
        self._connected = None
        self._health.set_state(HealthState.UNHEALTHY, "no live data provider left")
        raise OperationalError(
            f"every live data provider failed: {[p.name for p in self._live] or 'none configured'}"
        )

    async def _accept(self, bar: Bar) -> list[Bar]:
        out = await self._backfill(bar)
        if self.validator.check(bar):
            out.append(bar)
            self._last_bar = bar
        return out

    async def _backfill(self, bar: Bar) -> list[Bar]:
        last = self.validator.last_timestamp(bar.symbol)
        if last is None or bar.timestamp <= last:
            return []
        step = bar.interval_seconds
        missing = expected_starts(
            self._scheduler, last + timedelta(seconds=step), bar.timestamp, step
        )
        timeframe = _TIMEFRAME_OF.get(step)
        if not missing or timeframe is None:
            return []
        self.gaps_detected += 1
        _log.warning("live gap", symbol=bar.symbol, first=missing[0].isoformat(), bars=len(missing))
        try:
            frame = await self._fetch_chain(bar.symbol, timeframe, missing[0], bar.timestamp)
        except (TemporaryError, DataError) as exc:
            self._health.record_error(f"backfill of {bar.symbol} failed: {exc}")
            return []
        recovered = [b for b in frame_to_bars(bar.symbol, frame, step) if self.validator.check(b)]
        self.backfilled_bars += len(recovered)
        return recovered

    @property
    def missing_history(self) -> dict[str, str]:
        """Symbols whose warm-up history could not be loaded -> why (empty when none)."""
        return self._health.missing_history

    def report_missing_history(self, missing: Mapping[str, str]) -> None:
        """Record the symbols lacking history (empty: none); DEGRADED while any do.

        The state stays DEGRADED, whatever the stream reports, until a later call
        with an empty mapping (the next warm-up that loads everything).
        """
        if missing:
            self._health.record_error(f"warm-up: {describe_missing(missing)}")
        self._health.set_missing_history(missing)

    def reconnects_by_provider(self) -> dict[str, int]:
        """Reconnects so far per live provider name (e.g. ``{"finnhub": 2}``)."""
        counts: dict[str, int] = {}
        for provider in self._live:
            counts[provider.name] = counts.get(provider.name, 0) + provider.reconnects
        return counts

    def health_report(self) -> DataHealth:
        """The current :class:`DataHealth` snapshot."""
        last = self._last_bar
        age = (self._clock.now() - last.end).total_seconds() if last is not None else None
        return DataHealth(
            connected_provider=self._connected,
            last_bar_time=last.timestamp if last is not None else None,
            last_bar_age_seconds=age,
            rejected_bars=self.validator.rejected,
            rejections=dict(self.validator.rejections),
            reconnects=sum(p.reconnects for p in self._live),
            gaps_detected=self.gaps_detected,
            backfilled_bars=self.backfilled_bars,
            fallbacks=self.fallbacks,
        )

    def report_health(self, max_bar_age_seconds: float = 180.0) -> DataHealth:
        """Push the current state to the health reporter and return the snapshot.

        DEGRADED when the market is open, streaming has started, and the last
        bar ended more than ``max_bar_age_seconds`` ago; HEALTHY otherwise
        (UNHEALTHY and STOPPED set by the stream itself are left alone).
        The reason names the provider, bar age, rejected bars and reconnects.
        """
        report = self.health_report()
        age = report.last_bar_age_seconds
        stale = (
            age is not None
            and age > max_bar_age_seconds
            and self._scheduler.is_open(self._clock.now())
        )
        reason = (
            f"provider={report.connected_provider} last_bar_age_s="
            f"{'n/a' if age is None else f'{age:.0f}'} rejected={report.rejected_bars} "
            f"reconnects={report.reconnects} gaps={report.gaps_detected}"
        )
        self._health.set_state(HealthState.DEGRADED if stale else HealthState.HEALTHY, reason)
        return report


async def _fetch_frame(
    provider: HistoryProvider, symbol: str, timeframe: str, start: datetime, end: datetime
) -> pd.DataFrame:
    return await provider.get_history(symbol, timeframe, start, end)


async def _fetch_table(
    provider: HistoryProvider, symbol: str, timeframe: str, start: datetime, end: datetime
) -> BarTable:
    """The provider's own table when it reads tables (the replay folder), else its frame's."""
    read_table = getattr(provider, "get_history_table", None)
    if read_table is not None:
        table: BarTable = await read_table(symbol, timeframe, start, end)
        return table
    return BarTable.from_frame(await provider.get_history(symbol, timeframe, start, end))
